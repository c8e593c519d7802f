#!/usr/bin/env bash
# Builds one libFuzzer target with AddressSanitizer and runs it for SECONDS (default 60)
# in one process, starting from its seed corpus (make_seeds.py, from Fixtures/).
# TARGET is one of the executables of Fuzz/Package.swift (default FuzzPacketDecoder);
# arguments after it go to libFuzzer. Findings (crash-*, leak-*, timeout-* inputs) are
# written to Fuzz/findings/TARGET/; the grown corpus is kept in Fuzz/corpus/TARGET/
# between runs. Exits non-zero when the fuzzer found something.
#
#   Fuzz/run.sh 600 FuzzInventory -jobs=1
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
target=${2:-FuzzPacketDecoder}
shift $(( $# < 2 ? $# : 2 ))
export PATH=/opt/swift/usr/bin:$PATH

# --sanitize=fuzzer makes SwiftPM link against libFuzzer's main; the compiler flag is
# given again with address added because two --sanitize options do not combine.
swift build -c release -j 2 --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address --product "$target"
binary="$(swift build -c release --show-bin-path)/$target"

# Frames are short; the other inputs are documents.
max_len=65536
[ "$target" = FuzzPacketDecoder ] && max_len=2048
mkdir -p "corpus/$target" "findings/$target"
python3 make_seeds.py "$target" "corpus/$target"
"$binary" "corpus/$target" -max_total_time="$seconds" -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="findings/$target/" -timeout=10 -rss_limit_mb=2048 "$@"

#!/usr/bin/env bash
# Builds the packet decoder's libFuzzer target with AddressSanitizer and runs it for
# SECONDS (default 60) in one process, starting from the seed corpus. Findings
# (crash-*, leak-*, timeout-* inputs) are written to Fuzz/findings/; the grown corpus
# is kept in Fuzz/corpus/ between runs. Exits non-zero when the fuzzer found something.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
export PATH=/opt/swift/usr/bin:$PATH

# --sanitize=fuzzer makes SwiftPM link against libFuzzer's main; the compiler flag is
# given again with address added because two --sanitize options do not combine.
swift build -c release -j 2 --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address \
    --product FuzzPacketDecoder
binary="$(swift build -c release --show-bin-path)/FuzzPacketDecoder"

mkdir -p corpus findings
python3 make_seeds.py corpus
"$binary" corpus -max_total_time="$seconds" -max_len=2048 -print_final_stats=1 \
    -artifact_prefix=findings/ -timeout=5 -rss_limit_mb=2048

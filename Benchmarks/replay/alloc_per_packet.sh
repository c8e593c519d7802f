#!/usr/bin/env bash
# Heap allocations per packet on the capture -> ring -> aggregator path: replays two
# captures of the same 50,000 peers, 1,000,000 and 5,000,000 packets, under an
# LD_PRELOAD malloc counter. Start-up, tables and rendering cost the same in both, so
# (allocations(5M) - allocations(1M)) / 4,000,000 is what each packet costs (target: 0).
#
# Usage: Benchmarks/replay/alloc_per_packet.sh   (build the release binary first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/Benchmarks/.build/replay
mkdir -p "$build"
cc -O2 -shared -fPIC -o "$build/malloc_count.so" "$here/malloc_count.c" -ldl
for n in 1000000 5000000; do
    [ -s "/tmp/planet-alloc-$n.pcap" ] || python3 "$here/make_bench_pcap.py" --packets $n "/tmp/planet-alloc-$n.pcap" >/dev/null
done
count() {
    LD_PRELOAD="$build/malloc_count.so" "$repo/.build/release/planet-exporter" replay "$1" --local-net 10.0.0.0/24 \
        2>&1 >/dev/null | awk '/^allocations/ {print $2}' | tail -1
}
small=$(count /tmp/planet-alloc-1000000.pcap)
large=$(count /tmp/planet-alloc-5000000.pcap)
echo "allocations: 1,000,000 packets: $small; 5,000,000 packets: $large"
python3 -c "import sys; s, l = int(sys.argv[1]), int(sys.argv[2]); print(f'per packet: {(l - s) / 4_000_000:.6f}')" "$small" "$large"

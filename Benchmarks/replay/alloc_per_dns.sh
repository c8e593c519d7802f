#!/usr/bin/env bash
# Heap allocations per DNS response on the capture -> DNS ring -> name table path:
# replays two captures of DNS queries and their responses (a CNAME chain and four A
# records each) for the same 200 names and 800 addresses, 20,000 and 100,000 responses, under the LD_PRELOAD
# malloc counter of alloc_per_packet.sh. Every name is interned by the first responses,
# so (allocations(100k) - allocations(20k)) / 80,000 is what each further response costs
# (target: 0; a new distinct name costs its String and its entry).
#
# Usage: Benchmarks/replay/alloc_per_dns.sh   (build the release binary first)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/Benchmarks/.build/replay
agent=${AGENT:-$repo/.build/release/planet-exporter}
mkdir -p "$build"
cc -O2 -shared -fPIC -o "$build/malloc_count.so" "$here/malloc_count.c" -ldl
for n in 20000 100000; do
    [ -s "/tmp/planet-alloc-dns-q-$n.pcap" ] && continue
    python3 - "$repo/scripts/fixtures" "$n" "/tmp/planet-alloc-dns-q-$n.pcap" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from make_pcaps import Capture, pcap_bytes
count, path = int(sys.argv[2]), sys.argv[3]
c = Capture("dns", "")
for i in range(count):
    name = f"host{i % 200}.example.com"
    answers = [(name, 5, 60, f"edge{i % 200}.cdn.example")]
    answers += [(f"edge{i % 200}.cdn.example", 1, 30, f"198.51.{(i % 200) // 50}.{(i % 50) * 4 + k}") for k in range(4)]
    # Each response follows its query: only answers to a query seen name addresses.
    c.dns("10.0.0.5", "203.0.113.53", 40000 + i % 20000, name, answers)
open(path, "wb").write(pcap_bytes(c))
PY
done
count() {
    LD_PRELOAD="$build/malloc_count.so" "$agent" replay "$1" --local-net 10.0.0.0/24 \
        2>&1 >/dev/null | awk '/^allocations/ {print $2}' | tail -1
}
small=$(count /tmp/planet-alloc-dns-q-20000.pcap)
large=$(count /tmp/planet-alloc-dns-q-100000.pcap)
echo "allocations: 20,000 DNS responses: $small; 100,000: $large"
python3 -c "import sys; s, l = int(sys.argv[1]), int(sys.argv[2]); print(f'per DNS response: {(l - s) / 80_000:.6f}')" "$small" "$large"

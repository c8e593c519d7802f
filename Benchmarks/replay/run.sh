#!/usr/bin/env bash
# Replay benchmark: planet-exporter replay beside a minimal C libpcap loop doing the
# same sums (pcap_sum.c) and beside tcpdump reading the same file, in one hyperfine run.
# Prints packets/s for each (packets in the file / mean wall time) and the ratio of
# the replay's time to the C reference's (target: at most 1.5).
#
# Usage: Benchmarks/replay/run.sh [CAPTURE]   (default /tmp/planet-bench.pcap; written
#        by make_bench_pcap.py when missing). RUNS=N sets hyperfine's run count (5).
# Needs: cc, libpcap-dev, tcpdump, hyperfine, python3. Build the replay first with
#        swift build -c release --product planet-exporter
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
capture=${1:-/tmp/planet-bench.pcap}
runs=${RUNS:-5}
local_net=10.0.0.0/24
build=$repo/Benchmarks/.build/replay
mkdir -p "$build"

for tool in cc hyperfine tcpdump python3; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 2; }
done

cc -O2 -Wall -o "$build/pcap_sum" "$here/pcap_sum.c" -lpcap

if [ ! -s "$capture" ]; then
    echo "== writing $capture (5,000,000 packets, 50,000 peers)"
    python3 "$here/make_bench_pcap.py" "$capture"
fi

summary=$("$build/pcap_sum" "$capture" "$local_net" | tail -1)
packets=$(awk '{print $3}' <<<"$summary")
echo "== $capture: $summary"

commands=("$build/pcap_sum $capture $local_net" "tcpdump -r $capture -w /dev/null")
names=("pcap_sum (C libpcap)" "tcpdump -r -w /dev/null")
replay=$repo/.build/release/planet-exporter
if [ -x "$replay" ]; then
    commands+=("$replay replay $capture --local-net $local_net")
    names+=("planet-exporter replay")
else
    echo "== $replay is not built: skipping it (swift build -c release --product planet-exporter)"
fi

args=()
for i in "${!commands[@]}"; do args+=(--command-name "${names[$i]}" "${commands[$i]}"); done
json=$(mktemp)
trap 'rm -f "$json"' EXIT
hyperfine --warmup 1 --runs "$runs" --export-json "$json" "${args[@]}"

python3 - "$json" "$packets" <<'EOF'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
packets = int(sys.argv[2])
reference = results[0]["mean"]
cpu_reference = results[0]["user"] + results[0]["system"]
# CPU time (user + system) is shown beside wall time: on a shared machine the wall
# time also holds the time spent waiting for a core.
print(f"\n{'command':28} {'wall s':>7} {'stddev':>7} {'packets/s':>12} {'x C ref':>7}"
      f" {'cpu s':>7} {'packets/cpu-s':>14} {'x C ref':>7}")
for r in results:
    cpu = r["user"] + r["system"]
    print(f"{r['command']:28} {r['mean']:7.3f} {r['stddev'] or 0:7.3f} {packets / r['mean']:12,.0f} "
          f"{r['mean'] / reference:7.2f} {cpu:7.3f} {packets / cpu:14,.0f} {cpu / cpu_reference:7.2f}")
EOF

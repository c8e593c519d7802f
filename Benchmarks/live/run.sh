#!/usr/bin/env bash
# Live benchmark: what the agent costs a server, idle and under a flood, beside
# `tcpdump -p -w /dev/null` on the same flood, in one run.
#
# Two network namespaces joined by a veth pair; the agent runs in one (A), the load is
# offered from the other (B). Sections:
#   idle    the agent with default flags (socket table on, capture on both veth interfaces),
#           no traffic: CPU over IDLE_SECONDS from /proc/PID/stat, per thread with its
#           wake-ups (context switches), resident memory and where it goes (smaps).
#   flood   trafgen: 64-byte UDP frames from 65,536 random peers to port 53 at top speed
#           from one CPU (TRAFGEN_CPUS), ROUNDS times; each round the same flood offered
#           five times: to the agent narrowed (one interface, socket table off: the packet
#           path alone), to the agent with default flags (socket table on, every interface
#           with an address, DNS names on: what users run), to the agent with default flags
#           while a UDP socket listens on the port, to tcpdump, and to the C loop of
#           Benchmarks/replay/pcap_sum.c capturing live (`-i`): the narrowed agent's
#           counting into series in plain C, without the DNS names. For each: CPU seconds
#           (from /proc/PID/stat, from just before the load to a second after it), the
#           ratios to tcpdump and of the narrowed agent to the C loop, the agent's
#           per-thread split, its peak resident memory under the flood (VmHWM: the
#           capture ring once cycled), drops, and the bytes counted (once the bytes held
#           for a socket-table reading are settled) against the bytes offered, and the
#           whole machine's busy CPU during each flood (it includes the kernel's receive
#           path: the socket filter).
#   flood53 the same flood sent from UDP port 53 to port 40000 (every frame takes the
#           DNS path; the payload is not DNS) against the same flood from port 5300, with
#           default flags, PORT53_ROUNDS times: what the DNS path adds, and the ratio to
#           tcpdump; then the same pair with DNS answers nobody asked for (85-byte frames).
#   flood2  the same flood split over two interfaces at once (a second veth pair), with
#           one trafgen on one CPU each, DUAL_ROUNDS times: the agent narrowed to both and
#           with default flags against one tcpdump per interface, and the narrowed agent
#           against one C loop (pcap_sum.c, as in flood) per interface. Both capture threads
#           count into one table under one lock, each its own batches while the lock is
#           free; each time one finds it taken it wakes pe-aggregator, so that thread's
#           wake-ups in the per-thread split count the contention. The frames go to port
#           53: with DNS names on (both configurations) every frame takes the DNS path too.
#   replay  tcpreplay --topspeed of a capture from Benchmarks/replay/make_bench_pcap.py:
#           packets counted and dropped (REPLAY_PACKETS=0 skips it).
#   scrape  the series table filled to -capture-max-series (200,000) by a flood of random
#           peers, then SCRAPES scrapes each plain and with Accept-Encoding: gzip: bytes on
#           the wire, wall time (curl) and the agent's CPU per scrape; then 20 clients
#           scraping without pause during another flood: scrapes done, drops, agent CPU.
#
# Usage: Benchmarks/live/run.sh   (as root)
#   AGENT=PATH        the agent binary (default .build/release/planet-exporter)
#   PACKETS=N         trafgen frames per flood (default 3,000,000)
#   ROUNDS=N          flood rounds (default 3; 0 skips)
#   PORT53_ROUNDS=N   rounds of the flood from port 53 (default 3; 0 skips)
#   DUAL_ROUNDS=N     two-interface flood rounds (default 2; 0 skips)
#   IDLE_SECONDS=N    idle measurement (default 60; 0 skips)
#   REPLAY_PACKETS=N  tcpreplay capture size (default 1,000,000; 0 skips)
#   SCRAPES=N         sequential scrapes per encoding (default 5; 0 skips the scrape section)
#   TRAFGEN_CPUS=N    CPUs trafgen sends from (default 1; "all" for every CPU). With one, the
#                     program measured has the other cores to itself, as on a server whose
#                     traffic comes from other hosts. With every CPU it shares its core with
#                     a sender, and tcpdump's CPU per frame rises about fourfold (0.14-0.17 s
#                     against 0.64-0.69 s for the same 3M frames, 2026-12-07) where the
#                     agent's rises by 20-70%, so the ratio says more about where the
#                     sender ran than about either program.
#   PERF_DIR=DIR      also record each agent flood with `perf record -g` (cpu-clock) into
#                     DIR/NN-LABEL.data, for `perf report -i`; it adds its own cost to the
#                     CPU figures of those floods
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
agent=${AGENT:-$repo/.build/release/planet-exporter}
packets=${PACKETS:-3000000}
rounds=${ROUNDS:-3}
port53_rounds=${PORT53_ROUNDS:-3}
dual_rounds=${DUAL_ROUNDS:-2}
idle_seconds=${IDLE_SECONDS:-60}
replay_packets=${REPLAY_PACKETS:-1000000}
scrapes=${SCRAPES:-5}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (namespaces, capture)"; exit 2; }
if [ -n "${PERF_DIR:-}" ]; then
    command -v perf >/dev/null || { echo "run.sh: PERF_DIR needs perf (linux-perf)"; exit 2; }
    mkdir -p "$PERF_DIR"
fi
for tool in trafgen tcpreplay tcpdump curl python3 ip cc; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed"; exit 2; }
done
[ -x "$agent" ] || { echo "run.sh: build first: swift build -c release --static-swift-stdlib --product planet-exporter"; exit 2; }

work=$(mktemp -d)
mkdir -p "$repo/Benchmarks/.build/replay"
cc -O2 -o "$repo/Benchmarks/.build/replay/pcap_sum" "$repo/Benchmarks/replay/pcap_sum.c" -lpcap
A=pe-bench-a-$$ B=pe-bench-b-$$
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.5
    ip netns delete "$A" 2>/dev/null || true
    ip netns delete "$B" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip -n "$A" link set lo up
# veth_link IF_A ADDRESS IF_B: a veth pair from IF_A (in A, with ADDRESS) to IF_B (in B), both
# up; prints IF_A's MAC address.
veth_link() {
    ip link add "$1" netns "$A" type veth peer name "$3" netns "$B"
    ip -n "$A" addr add "$2" dev "$1"
    ip -n "$A" link set "$1" up
    ip -n "$B" link set "$3" up
    ip -n "$A" -br link show "$1" | awk '{print $3}'
}
mac_a=$(veth_link veth-a 10.0.0.5/24 veth-b)
mac_c=$(veth_link veth-c 10.0.1.5/24 veth-d)  # the second interface, for flood2

source "$repo/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.0.0.5 2 > "$work/peers65536.trafgen"
udp64_trafgen "$mac_a" 10.0.0.5 3 > "$work/peersmany.trafgen"
udp64_trafgen "$mac_c" 10.0.1.5 2 > "$work/peers65536-c.trafgen"

# trafgen_run CONF N [DEVICE]: offers N frames from B (through veth-b), prints the frames sent.
trafgen_cpus=${TRAFGEN_CPUS:-1}
[ "$trafgen_cpus" = all ] && trafgen_cpus=
trafgen_run() {
    ip netns exec "$B" trafgen --dev "${3:-veth-b}" --conf "$1" -n "$2" ${trafgen_cpus:+--cpus $trafgen_cpus} -q 2>&1 \
        | tr -d "\r" | awk '/packets outgoing/ {print $1}' | tail -1
}

# cpu_ticks PID: user + system clock ticks of the whole process (threads that ended included).
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
# switches PID: voluntary and involuntary context switches of its main thread (tcpdump
# has no other).
switches() { awk '/ctxt_switches/ {n += $2} END {print n}' "/proc/$1/status"; }
# system_ticks PID: the system part of those: the kernel's work in the process's calls, and
# receive-path work the kernel did while one of its threads was on the CPU.
system_ticks() { awk '{sub(/.*\) /, ""); print $13}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)
# machine_ticks: busy CPU ticks of the whole machine (user, nice, system, irq, softirq,
# steal). Work the kernel does on the capture's behalf in the receive path (the socket
# filter, copying into the ring) runs in softirq context and never shows in the agent's
# own /proc/PID/stat; the machine's total during a flood does include it.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
seconds() { python3 -c "import sys; print(f'{int(sys.argv[1]) / int(sys.argv[2]):.2f}')" "$1" "$ticks_per_second"; }

# threads PID: one line per thread: id, name, CPU ticks, voluntary and involuntary switches.
threads() {
    local task
    for task in /proc/"$1"/task/*; do
        printf '%s\t%s\t%s\t%s\t%s\n' "${task##*/}" "$(cat "$task/comm")" "$(awk '{sub(/.*\) /, ""); print $12 + $13}' "$task/stat")" \
            "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$task/status")" \
            "$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$task/status")"
    done 2>/dev/null
}

# thread_split BEFORE AFTER SECONDS: CPU and wake-ups per thread name between two `threads`
# readings, summed over the threads alive at the second (one started in between counts
# from zero; one that ended in between is only in the process's total).
thread_split() {
    python3 - "$1" "$2" "$3" "$ticks_per_second" <<'EOF'
import collections, sys
def read(path):
    threads = {}
    for line in open(path):
        tid, name, ticks, vol, invol = line.rstrip("\n").split("\t")
        # A thread that ended while it was being read leaves empty fields.
        if not (ticks.isdigit() and vol.isdigit() and invol.isdigit()): continue
        threads[tid] = (name, int(ticks), int(vol) + int(invol))
    return threads
before, after = read(sys.argv[1]), read(sys.argv[2])
span, hz = float(sys.argv[3]), int(sys.argv[4])
totals = collections.defaultdict(lambda: [0, 0])
for tid, (name, ticks, switches) in after.items():
    _, ticks0, switches0 = before.get(tid, (name, 0, 0))
    totals[name][0] += ticks - ticks0
    totals[name][1] += switches - switches0
rows = [(ticks, switches, name) for name, (ticks, switches) in totals.items()]
for ticks, switches, name in sorted(rows, reverse=True):
    if ticks == 0 and switches == 0: continue
    print(f"    {name:18} {ticks / hz:7.2f} s CPU  {switches / span:9.1f} wake-ups/s")
EOF
}

# rss_report PID: resident memory and where it lies.
rss_report() {
    python3 - "$1" <<'EOF'
import re, sys
pid = sys.argv[1]
groups = {}
name = ""
for line in open(f"/proc/{pid}/smaps"):
    head = re.match(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$", line)
    if head:
        path = head.group(1).strip()
        if path.startswith("socket:") or "packet" in path: name = "kernel capture ring (packet mmap)"
        elif path == "[heap]": name = "heap (brk)"
        elif path.startswith("[stack"): name = "main stack"
        elif path.endswith(".so") or ".so." in path: name = "shared libraries: " + path.rsplit("/", 1)[-1]
        elif path.startswith("/"): name = "executable and other files"
        else: name = "anonymous (malloc arenas, thread stacks, rings)"
        continue
    if line.startswith("Rss:"):
        groups[name] = groups.get(name, 0) + int(line.split()[1])
status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status"))
print(f"  resident: {status['VmRSS'].strip()} (anon {status['RssAnon'].strip()}, file {status['RssFile'].strip()}, shmem {status['RssShmem'].strip()})")
libraries = sum(v for k, v in groups.items() if k.startswith("shared libraries"))
for k, v in sorted(groups.items(), key=lambda kv: -kv[1]):
    if k.startswith("shared libraries") and v < 1024: continue
    print(f"    {v / 1024:7.1f} MB  {k}")
print(f"    {libraries / 1024:7.1f} MB  (all shared libraries)")
EOF
}

metric_sum() {  # metric_sum FILE REGEX: sum of the samples whose line matches
    python3 -c '
import re, sys
total = 0
for line in open(sys.argv[1]):
    if re.match(sys.argv[2], line): total += int(float(line.rsplit(" ", 1)[1]))
print(total)' "$1" "$2"
}

# start_agent FLAGS...: the agent in A, listening on 127.0.0.1:19100; pid in agent_pid.
start_agent() {
    ip netns exec "$A" "$agent" -listen-address 127.0.0.1:19100 -log-level warn "$@" &
    agent_pid=$!
    pids+=("$agent_pid")
    for _ in $(seq 1 150); do
        ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics 2>/dev/null | grep -q 'planet_capture_packets_total{interface="veth-a"}' && return
        sleep 0.1
    done
    echo "run.sh: the agent did not start capturing on veth-a"; exit 1
}
stop_agent() { kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; }
scrape_to() { ip netns exec "$A" curl -sf --max-time 60 http://127.0.0.1:19100/metrics > "$1"; }

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); trafgen sends from ${trafgen_cpus:-every} CPU(s)"
echo "== agent: $agent ($("$agent" -version 2>&1 | head -1))"

if [ "$idle_seconds" -gt 0 ]; then
    echo "== idle: default flags (socket table on, capture on veth-a and veth-c), no traffic, ${idle_seconds}s"
    # Default flags but the listen address, which the namespace makes private anyway.
    start_agent
    sleep 5  # past start-up (first socket reading, first scrape above)
    threads "$agent_pid" > "$work/idle-before"; before=$(cpu_ticks "$agent_pid")
    sleep "$idle_seconds"
    after=$(cpu_ticks "$agent_pid"); threads "$agent_pid" > "$work/idle-after"
    python3 -c "import sys; t = (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]); print(f'  CPU: {t:.2f} s in {sys.argv[4]} s = {100 * t / int(sys.argv[4]):.3f}% of a core')" \
        "$before" "$after" "$ticks_per_second" "$idle_seconds"
    thread_split "$work/idle-before" "$work/idle-after" "$idle_seconds"
    rss_report "$agent_pid"
    stop_agent
fi

# flood_counts INTERFACE_REGEX: scrapes the agent once the bytes held for a socket-table
# reading are settled (polled every half second, at most 20 s: a flood to a closed port
# asks for no early reading, so they wait for the next regular one, within the agent's
# 7 s task interval), and sets counted, kdrop and rdrop (summed over the interfaces
# matched) and bytes (of the flood's peers, 198.18.0.0/16).
flood_counts() {
    for _ in $(seq 1 40); do
        scrape_to "$work/metrics.txt"
        [ "$(metric_sum "$work/metrics.txt" '^planet_traffic_held_bytes ')" -eq 0 ] && break
        sleep 0.5
    done
    counted=$(metric_sum "$work/metrics.txt" "^planet_capture_packets_total\\{interface=\"$1\"\\}")
    kdrop=$(metric_sum "$work/metrics.txt" "^planet_capture_dropped_packets_total\\{interface=\"$1\"\\}")
    rdrop=$(metric_sum "$work/metrics.txt" "^planet_capture_ring_dropped_packets_total\\{interface=\"$1\"\\}")
    bytes=$(metric_sum "$work/metrics.txt" '^planet_traffic_bytes_total\{.*remote_ip="198\.18\.')
}

# The two configurations measured: the one users run (no flags: socket table on, every
# interface with an address, DNS names on) and the narrowed one (one interface, socket
# table off) that isolates the packet path.
narrowed_flags=(-capture-interfaces veth-a -capture-local-net 10.0.0.0/24 -task-socketstat-enabled=false)
narrowed2_flags=(-capture-interfaces veth-a,veth-c -capture-local-net 10.0.0.0/23 -task-socketstat-enabled=false)

# perf_start LABEL, perf_stop: with PERF_DIR set, `perf record -g` of the agent between
# the two, into PERF_DIR/NN-LABEL.data.
perf_start() {
    perf_pid=
    [ -n "${PERF_DIR:-}" ] || return 0
    perf_runs=$((${perf_runs:-0} + 1))
    perf record -q -e cpu-clock -F 5000 -g -p "$agent_pid" \
        -o "$PERF_DIR/$(printf %02d "$perf_runs")-${1//[^A-Za-z0-9]/_}.data" 2>/dev/null &
    perf_pid=$!
}
perf_stop() {
    [ -n "$perf_pid" ] || return 0
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
}

# flood_agent LABEL CONF FLAGS...: the agent started with FLAGS under one flood of CONF
# into veth-a (frames of flood_ip_bytes IP bytes, 46 unless set); sets agent_cpu (clock
# ticks) and prints what it cost and counted.
flood_agent() {
    local label=$1 conf=$2 before machine_before start sent elapsed
    shift 2
    start_agent "$@"
    threads "$agent_pid" > "$work/flood-before"; before=$(cpu_ticks "$agent_pid")
    local system_before=$(system_ticks "$agent_pid")
    machine_before=$(machine_ticks)
    perf_start "$label"
    start=$(date +%s.%N)
    sent=$(trafgen_run "$conf" "$packets")
    elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
    sleep 1
    perf_stop
    agent_cpu=$(( $(cpu_ticks "$agent_pid") - before )); threads "$agent_pid" > "$work/flood-after"
    local system=$(( $(system_ticks "$agent_pid") - system_before ))
    local machine=$(( $(machine_ticks) - machine_before ))
    # The peak under the flood, before the scrapes that read the counts render the
    # flood's 65,536 series.
    local peak=$(awk '/^VmHWM/ {print $2 " " $3}' "/proc/$agent_pid/status")
    flood_counts veth-a
    stop_agent
    echo "    $label: agent $(seconds $agent_cpu) s CPU ($(seconds $system) s system); offered $sent in ${elapsed}s, counted $counted," \
         "kernel drops $kdrop, ring drops $rdrop, bytes $bytes of $((sent * ${flood_ip_bytes:-46})) offered;" \
         "peak resident $peak; machine busy $(seconds $machine) s"
    thread_split "$work/flood-before" "$work/flood-after" 1 | sed 's/^/  /'
}

# The references the agent is measured beside, KIND tcpdump (`tcpdump -p -w /dev/null`,
# which counts nothing) or cloop (Benchmarks/replay/pcap_sum.c capturing live: the same
# counting into series in a minimal C libpcap loop, without the DNS names).
# start_reference KIND INTERFACE: one of KIND on INTERFACE in A, output in
# $work/KIND-INTERFACE.txt, once it listens; its pid in reference_pid.
start_reference() {
    local output="$work/$1-$2.txt"
    if [ "$1" = tcpdump ]; then
        ip netns exec "$A" tcpdump -i "$2" -p -w /dev/null 2> "$output" &
    else
        ip netns exec "$A" "$repo/Benchmarks/.build/replay/pcap_sum" -i "$2" 10.0.0.0/23 > "$output" 2>&1 &
    fi
    reference_pid=$!; pids+=("$reference_pid")
    for _ in $(seq 1 50); do grep -q "listening on" "$output" && break; sleep 0.1; done
}
# reference_label KIND: how the output names KIND.
reference_label() { if [ "$1" = tcpdump ]; then echo tcpdump; else echo "C loop (pcap_sum -i)"; fi; }
# reference_counts KIND INTERFACE...: what the stopped references of KIND on INTERFACE...
# counted, on one line, each item ending in "; ".
reference_counts() {
    local kind=$1 interface
    shift
    for interface in "$@"; do
        if [ "$kind" = tcpdump ]; then
            grep -E 'captured|dropped by kernel' "$work/$kind-$interface.txt" | sed 's/$/; /' | tr -d '\n'
        else
            awk '/^# packets/ {printf "counted %s, bytes %s; ", $3, $7}' "$work/$kind-$interface.txt"
        fi
    done
}

# flood_reference KIND CONF: one KIND on veth-a under one flood of CONF; sets reference_cpu
# (clock ticks) and prints it.
flood_reference() {
    local before machine_before sent
    start_reference "$1" veth-a
    before=$(cpu_ticks "$reference_pid"); machine_before=$(machine_ticks)
    local system_before=$(system_ticks "$reference_pid") switches_before=$(switches "$reference_pid")
    sent=$(trafgen_run "$2" "$packets")
    sleep 1
    reference_cpu=$(( $(cpu_ticks "$reference_pid") - before ))
    local system=$(( $(system_ticks "$reference_pid") - system_before )) wakeups=$(( $(switches "$reference_pid") - switches_before ))
    local machine=$(( $(machine_ticks) - machine_before ))
    kill -INT "$reference_pid"; wait "$reference_pid" 2>/dev/null || true
    echo "    $(reference_label "$1"): $(seconds $reference_cpu) s CPU ($(seconds $system) s system, $wakeups context switches);" \
         "offered $sent; $(reference_counts "$1" veth-a)machine busy $(seconds $machine) s"
}

ratio() { python3 -c "import sys; print(f'{int(sys.argv[1]) / max(1, int(sys.argv[2])):.2f}')" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

# A UDP socket on port 53 of every address in A that never reads: the flood's frames then
# go to a port with a listener (and an owner in the socket table).
start_listener() {
    ip netns exec "$A" python3 -c 'import socket, signal, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 53)); print("ready", flush=True); signal.pause()' > "$work/listener.txt" &
    listener_pid=$!; pids+=("$listener_pid")
    for _ in $(seq 1 50); do grep -q ready "$work/listener.txt" && return; sleep 0.1; done
    echo "run.sh: the UDP listener did not start"; exit 1
}

# Both to one ephemeral port, so both count one series per peer under the source port.
udp64_trafgen "$mac_a" 10.0.0.5 2 53 40000 > "$work/from53.trafgen"
udp64_trafgen "$mac_a" 10.0.0.5 2 5300 40000 > "$work/from5300.trafgen"
dns_answer_trafgen "$mac_a" 10.0.0.5 53 > "$work/answers53.trafgen"
dns_answer_trafgen "$mac_a" 10.0.0.5 5300 > "$work/answers5300.trafgen"

if [ "$rounds" -gt 0 ]; then
    echo "== flood: trafgen, $packets 64-byte UDP frames from 65,536 peers to port 53 of veth-a, $rounds rounds"
    narrowed_ratios=(); default_ratios=(); listener_ratios=(); cloop_ratios=(); cloop_dump_ratios=()
    for round in $(seq 1 "$rounds"); do
        echo "  round $round (load $(cut -d' ' -f1 /proc/loadavg)):"
        flood_agent "narrowed (veth-a, socket table off)" "$work/peers65536.trafgen" "${narrowed_flags[@]}"; narrowed_cpu=$agent_cpu
        flood_agent "defaults, nothing listens on the port" "$work/peers65536.trafgen"; default_cpu=$agent_cpu
        start_listener
        flood_agent "defaults, a UDP socket listens on the port" "$work/peers65536.trafgen"; listener_cpu=$agent_cpu
        kill "$listener_pid"; wait "$listener_pid" 2>/dev/null || true
        flood_reference tcpdump "$work/peers65536.trafgen"; dump_cpu=$reference_cpu
        flood_reference cloop "$work/peers65536.trafgen"; cloop_cpu=$reference_cpu
        narrowed_ratios+=("$(ratio "$narrowed_cpu" "$dump_cpu")"); default_ratios+=("$(ratio "$default_cpu" "$dump_cpu")")
        listener_ratios+=("$(ratio "$listener_cpu" "$dump_cpu")")
        cloop_ratios+=("$(ratio "$narrowed_cpu" "$cloop_cpu")"); cloop_dump_ratios+=("$(ratio "$cloop_cpu" "$dump_cpu")")
        echo "    agent/tcpdump CPU: narrowed ${narrowed_ratios[-1]}x, defaults ${default_ratios[-1]}x, defaults with a listener ${listener_ratios[-1]}x;" \
             "agent narrowed/C loop ${cloop_ratios[-1]}x, C loop/tcpdump ${cloop_dump_ratios[-1]}x"
    done
    echo "  agent/tcpdump CPU ratio per round, narrowed: ${narrowed_ratios[*]} (median $(median "${narrowed_ratios[@]}"))"
    echo "  agent/tcpdump CPU ratio per round, defaults: ${default_ratios[*]} (median $(median "${default_ratios[@]}"))"
    echo "  agent/tcpdump CPU ratio per round, defaults with a listener: ${listener_ratios[*]} (median $(median "${listener_ratios[@]}"))"
    echo "  agent narrowed/C loop CPU ratio per round: ${cloop_ratios[*]} (median $(median "${cloop_ratios[@]}"));" \
         "C loop/tcpdump: ${cloop_dump_ratios[*]} (median $(median "${cloop_dump_ratios[@]}"))"
fi

if [ "$port53_rounds" -gt 0 ]; then
    echo "== flood53: the flood from UDP port 53 to port 40000 against it from port 5300, defaults, $port53_rounds rounds:" \
         "frames that are not DNS, then DNS answers (85-byte frames) nobody asked for"
    port53_ratios=(); port53_dump_ratios=(); answers_ratios=()
    for round in $(seq 1 "$port53_rounds"); do
        echo "  round $round (load $(cut -d' ' -f1 /proc/loadavg)):"
        flood_agent "defaults, not DNS, from port 5300" "$work/from5300.trafgen"; other_cpu=$agent_cpu
        flood_agent "defaults, not DNS, from port 53" "$work/from53.trafgen"; dns_cpu=$agent_cpu
        flood_reference tcpdump "$work/from53.trafgen"; dump_cpu=$reference_cpu
        flood_ip_bytes=71
        flood_agent "defaults, DNS answers, from port 5300" "$work/answers5300.trafgen"; answers_other_cpu=$agent_cpu
        flood_agent "defaults, DNS answers, from port 53" "$work/answers53.trafgen"; answers_cpu=$agent_cpu
        unset flood_ip_bytes
        port53_ratios+=("$(ratio "$dns_cpu" "$other_cpu")"); port53_dump_ratios+=("$(ratio "$dns_cpu" "$dump_cpu")")
        answers_ratios+=("$(ratio "$answers_cpu" "$answers_other_cpu")")
        echo "    agent CPU from port 53 / from port 5300: not DNS ${port53_ratios[-1]}x, DNS answers ${answers_ratios[-1]}x;" \
             "not DNS from port 53 / tcpdump: ${port53_dump_ratios[-1]}x"
    done
    echo "  agent CPU from port 53 / from port 5300 per round, not DNS: ${port53_ratios[*]} (median $(median "${port53_ratios[@]}"))"
    echo "  agent CPU from port 53 / from port 5300 per round, DNS answers: ${answers_ratios[*]} (median $(median "${answers_ratios[@]}"))"
    echo "  agent/tcpdump CPU, not DNS from port 53, per round: ${port53_dump_ratios[*]} (median $(median "${port53_dump_ratios[@]}"))"
fi

# flood_both FILE_B FILE_D: half the frames into veth-a and half into veth-c at once, one
# trafgen on one CPU each; writes the frames each sent into FILE_B and FILE_D.
flood_both() {
    trafgen_cpus=1 trafgen_run "$work/peers65536.trafgen" $((packets / 2)) veth-b > "$1" &
    local first=$!
    trafgen_cpus=1 trafgen_run "$work/peers65536-c.trafgen" $((packets / 2)) veth-d > "$2"
    wait "$first"
}
# flood2_agent LABEL FLAGS...: the agent started with FLAGS under flood_both; sets agent_cpu.
flood2_agent() {
    local label=$1 before sent
    shift
    start_agent "$@"
    threads "$agent_pid" > "$work/flood2-before"; before=$(cpu_ticks "$agent_pid")
    perf_start "$label"
    flood_both "$work/sent-b" "$work/sent-d"
    sleep 1
    perf_stop
    agent_cpu=$(( $(cpu_ticks "$agent_pid") - before )); threads "$agent_pid" > "$work/flood2-after"
    sent=$(( $(cat "$work/sent-b") + $(cat "$work/sent-d") ))
    flood_counts 'veth-[ac]'
    stop_agent
    echo "    $label: agent $(seconds $agent_cpu) s CPU; offered $sent, counted $counted, kernel drops $kdrop," \
         "ring drops $rdrop, bytes $bytes of $((sent * 46)) offered"
    thread_split "$work/flood2-before" "$work/flood2-after" 1 | sed 's/^/  /'
}
# flood2_pair KIND: one KIND per interface under flood_both; sets pair_cpu and prints it.
flood2_pair() {
    local procs=() interface before
    for interface in veth-a veth-c; do
        start_reference "$1" "$interface"
        procs+=("$reference_pid")
    done
    before=$(( $(cpu_ticks "${procs[0]}") + $(cpu_ticks "${procs[1]}") ))
    flood_both "$work/$1-sent-b" "$work/$1-sent-d"
    sleep 1
    pair_cpu=$(( $(cpu_ticks "${procs[0]}") + $(cpu_ticks "${procs[1]}") - before ))
    kill -INT "${procs[@]}"; wait "${procs[@]}" 2>/dev/null || true
    echo "    $(reference_label "$1"), one per interface: $(seconds $pair_cpu) s CPU; $(reference_counts "$1" veth-a veth-c)"
}
if [ "$dual_rounds" -gt 0 ]; then
    echo "== flood2: $packets frames split over veth-a and veth-c at once, $dual_rounds rounds"
    dual_narrowed=(); dual_defaults=(); dual_cloop=()
    for round in $(seq 1 "$dual_rounds"); do
        echo "  round $round (load $(cut -d' ' -f1 /proc/loadavg)):"
        flood2_agent "narrowed (veth-a and veth-c, socket table off)" "${narrowed2_flags[@]}"; narrowed_cpu=$agent_cpu
        flood2_agent "defaults (every interface, socket table on)"; default_cpu=$agent_cpu
        flood2_pair tcpdump; dump_cpu=$pair_cpu
        flood2_pair cloop; cloop_cpu=$pair_cpu
        dual_cloop+=("$(ratio "$narrowed_cpu" "$cloop_cpu")")
        dual_narrowed+=("$(ratio "$narrowed_cpu" "$dump_cpu")"); dual_defaults+=("$(ratio "$default_cpu" "$dump_cpu")")
        echo "    agent/two-tcpdumps CPU: narrowed ${dual_narrowed[-1]}x, defaults ${dual_defaults[-1]}x; agent narrowed/two C loops ${dual_cloop[-1]}x"
    done
    echo "  agent/two-tcpdumps CPU ratio per round, narrowed: ${dual_narrowed[*]} (median $(median "${dual_narrowed[@]}"))"
    echo "  agent/two-tcpdumps CPU ratio per round, defaults: ${dual_defaults[*]} (median $(median "${dual_defaults[@]}"))"
    echo "  agent narrowed/two C loops CPU ratio per round: ${dual_cloop[*]} (median $(median "${dual_cloop[@]}"))"
fi

if [ "$replay_packets" -gt 0 ]; then
    echo "== replay: tcpreplay --topspeed, $replay_packets packets from 50,000 peers"
    # Whole frames: tcpreplay sends what the file holds, so a file cut at the default
    # 128-byte snap length would put 128-byte frames on the wire, whose IP lengths claim
    # more than they carry (counted as carried), and the bytes would not compare.
    python3 "$repo/Benchmarks/replay/make_bench_pcap.py" --packets "$replay_packets" --peers 50000 --snaplen 1514 \
        "$work/replay.pcap" >/dev/null
    want=$("$repo/Benchmarks/.build/replay/pcap_sum" "$work/replay.pcap" 10.0.0.0/24 | awk '/^# packets/ {for (i = 1; i < NF; i++) if ($i == "bytes") print $(i+1)}')
    start_agent "${narrowed_flags[@]}"
    sent=$(ip netns exec "$B" tcpreplay --topspeed -i veth-b "$work/replay.pcap" 2>&1 | awk '/Successful packets:/ {print $3}' | tail -1)
    sleep 1
    scrape_to "$work/metrics.txt"
    echo "  offered $sent, counted $(metric_sum "$work/metrics.txt" '^planet_capture_packets_total\{interface="veth-a"\}')," \
         "kernel drops $(metric_sum "$work/metrics.txt" '^planet_capture_dropped_packets_total\{interface="veth-a"\}')," \
         "ring drops $(metric_sum "$work/metrics.txt" '^planet_capture_ring_dropped_packets_total\{interface="veth-a"\}')," \
         "bytes $(metric_sum "$work/metrics.txt" '^planet_traffic_bytes_total\{.*remote_ip="198\.1[89]\.') of $want offered"
    stop_agent
fi

if [ "$scrapes" -gt 0 ]; then
    echo "== scrape: series table filled by random peers, $scrapes scrapes per encoding"
    start_agent "${narrowed_flags[@]}"
    trafgen_run "$work/peersmany.trafgen" 1000000 > /dev/null
    sleep 1
    scrape_to "$work/metrics.txt"
    echo "  series: $(metric_sum "$work/metrics.txt" '^planet_traffic_series ')"
    for encoding in identity gzip; do
        before=$(cpu_ticks "$agent_pid")
        for _ in $(seq 1 "$scrapes"); do
            ip netns exec "$A" curl -s -o /dev/null -H "Accept-Encoding: $encoding" --max-time 60 \
                -w '%{size_download} %{time_total}\n' http://127.0.0.1:19100/metrics
        done > "$work/scrapes-$encoding"
        after=$(cpu_ticks "$agent_pid")
        python3 - "$work/scrapes-$encoding" "$encoding" "$((after - before))" "$ticks_per_second" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
size = statistics.median(int(r[0]) for r in rows)
wall = statistics.median(float(r[1]) for r in rows)
cpu = int(sys.argv[3]) / int(sys.argv[4]) / len(rows)
print(f"  {sys.argv[2]:8}: {size / 1e6:7.2f} MB on the wire, wall {wall:.3f} s (median of {len(rows)}), agent CPU {cpu:.3f} s per scrape")
EOF
    done
    echo "  20 clients scraping without pause during a flood of $packets frames:"
    scrape_to "$work/metrics.txt"
    drops_before=$(( $(metric_sum "$work/metrics.txt" '^planet_capture_dropped_packets_total\{interface="veth-a"\}') \
                   + $(metric_sum "$work/metrics.txt" '^planet_capture_ring_dropped_packets_total\{interface="veth-a"\}') ))
    counted_before=$(metric_sum "$work/metrics.txt" '^planet_capture_packets_total\{interface="veth-a"\}')
    stop_file=$work/stop-scraping
    clients=()
    for client in $(seq 1 20); do
        # Bounded: stops when told, or after 600 scrapes, or 120 s.
        (end=$((SECONDS + 120)); n=0
         while [ ! -e "$stop_file" ] && [ $n -lt 600 ] && [ $SECONDS -lt $end ]; do
             ip netns exec "$A" curl -s -o /dev/null --compressed --max-time 60 http://127.0.0.1:19100/metrics && n=$((n + 1))
         done; echo $n > "$work/client-$client") &
        clients+=($!)
    done
    sleep 2
    before=$(cpu_ticks "$agent_pid"); start=$(date +%s.%N)
    sent=$(trafgen_run "$work/peers65536.trafgen" "$packets")
    sleep 1
    after=$(cpu_ticks "$agent_pid"); span=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    touch "$stop_file"
    wait "${clients[@]}"
    scrape_to "$work/metrics.txt"
    drops_after=$(( $(metric_sum "$work/metrics.txt" '^planet_capture_dropped_packets_total\{interface="veth-a"\}') \
                  + $(metric_sum "$work/metrics.txt" '^planet_capture_ring_dropped_packets_total\{interface="veth-a"\}') ))
    counted_after=$(metric_sum "$work/metrics.txt" '^planet_capture_packets_total\{interface="veth-a"\}')
    echo "    offered $sent, counted $((counted_after - counted_before)), drops $((drops_after - drops_before));" \
         "scrapes completed $(cat "$work"/client-* | awk '{s += $1} END {print s}') (gzip), agent CPU $(seconds $((after - before))) s in ${span} s"
    stop_agent
fi

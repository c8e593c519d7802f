#!/usr/bin/env bash
# Captures on demand end to end (/api/v1/capture). A client process named pe-capclient in
# the agent's namespace talks TCP and UDP, over IPv4 and IPv6, to servers in a peer
# namespace. A 5-second capture through the API, read back with tshark, holds exactly the
# packets tcpdump (same filter, same interface) saw in the capture's window, by time stamp
# and length; every packet of the client's flows carries its process name in the comment.
# Then: 401 without credentials, 400 with libpcap's message for a bad filter, 429 for a
# third capture at once, a client that leaves after 1 s ends its capture (descriptors and
# packet sockets back), and under a trafgen flood with a capture running, counting drops
# nothing and counts every byte. The agent refuses to start with captures on and no auth.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip tcpdump tshark capinfos curl python3 htpasswd trafgen
require_agent

A=pe-cod-a-$$ B=pe-cod-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.209.0.1/24 "$B" veth-b 10.209.0.2/24 fd00:209::1/64 fd00:209::2/64

log "the agent refuses captures without authentication, in one line"
if ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -capture-interfaces veth-a -web.capture-enabled \
    -log-disable-colors > "$E2E_TMP/noauth.log" 2>&1; then
    fail "the agent started with -web.capture-enabled and no web config"
fi
matches 'captures are served only behind authentication' < "$E2E_TMP/noauth.log" \
    || { cat "$E2E_TMP/noauth.log"; fail "no line saying why captures were refused"; }

password="capture-$$"
printf 'basic_auth_users:\n  alice: %s\n' "$(htpasswd -nbBC 10 "" "$password" | tr -d ':\n')" > "$E2E_TMP/web.yml"

cat > "$E2E_TMP/peer.py" <<'PY'
import ctypes, socket, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME: the process name
role = sys.argv[2]
if role == "server":   # TCP 7301 reads and answers; UDP 7302 echoes; IPv4 and IPv6
    def tcp(family, address):
        s = socket.socket(family); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((address, 7301)); s.listen()
        def serve(c):
            while True:
                data = c.recv(65536)
                if not data: return
                c.sendall(data[:100])
        while True:
            threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
    def udp(family, address):
        s = socket.socket(family, socket.SOCK_DGRAM); s.bind((address, 7302))
        while True:
            data, peer = s.recvfrom(65536); s.sendto(data, peer)
    for f in (lambda: tcp(socket.AF_INET, "10.209.0.2"), lambda: tcp(socket.AF_INET6, "fd00:209::2"),
              lambda: udp(socket.AF_INET, "10.209.0.2"), lambda: udp(socket.AF_INET6, "fd00:209::2")):
        threading.Thread(target=f, daemon=True).start()
    while True: time.sleep(60)
else:                  # every 100 ms: a TCP write and a UDP datagram on each family, for ever
    socks = []
    for family, address in ((socket.AF_INET, "10.209.0.2"), (socket.AF_INET6, "fd00:209::2")):
        t = socket.socket(family); t.connect((address, 7301))
        u = socket.socket(family, socket.SOCK_DGRAM); u.connect((address, 7302))
        socks += [t, u]
    n = 0
    while True:
        n += 1
        for s in socks:
            s.send(b"x" * (50 + n % 200))
            s.recv(65536)
        time.sleep(0.1)
PY
in_ns_bg "$B" python3 "$E2E_TMP/peer.py" pe-capserver server
wait_for 10 bash -c "ip netns exec $B ss -lun | grep -q ':7302'" || fail "servers did not start"
in_ns_bg "$A" python3 "$E2E_TMP/peer.py" pe-capclient client

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s \
    -web.config.file "$E2E_TMP/web.yml" -web.capture-enabled -log-disable-colors \
    2> "$E2E_TMP/agent.log"
agent=${E2E_PIDS[-1]}
api="http://127.0.0.1:19100"
auth=(-u "alice:$password")
metrics() { ip netns exec "$A" curl -sf --max-time 10 "${auth[@]}" "$api/metrics"; }
sample() { metrics | awk -v name="$1" 'index($0, name" ") == 1 { print $NF }'; }
# The socket table knows the client's four sockets (the comments come from it).
wait_for 30 bash -c "[ \$(ip netns exec $A curl -sf -u alice:$password $api/metrics | grep -c '^planet_upstream{.*process_name=\"pe-capclient\"') = 4 ]" \
    || { cat "$E2E_TMP/agent.log"; fail "the socket table does not show pe-capclient's four sockets"; }

filter='(tcp port 7301 or udp port 7302)'
log "a 5-second capture through the API against tcpdump on veth-a, filter $filter"
start_tcpdump "$A" veth-a "$E2E_TMP/reference.pcap" "$filter"
ip netns exec "$A" curl -sS --fail-with-body --max-time 30 "${auth[@]}" -G "$api/api/v1/capture" --data-urlencode "filter=$filter" \
    -d seconds=5 -d snaplen=65535 -D "$E2E_TMP/headers.txt" -o "$E2E_TMP/capture.pcapng" || { cat "$E2E_TMP/capture.pcapng" "$E2E_TMP/agent.log" | tail -20; fail "the capture failed"; }
# tcpdump is handed packets a block at a time: wait until it has one stamped after the
# capture's window before stopping it, so it holds the whole window.
cat > "$E2E_TMP/window.py" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
offset, window = 0, {}
while offset + 8 <= len(data):   # isb_starttime (2) and isb_endtime (3) of the Interface Statistics Blocks
    kind, length = struct.unpack_from("<II", data, offset)
    if kind == 5:
        o = offset + 20
        while o + 4 <= offset + length - 4:
            code, size = struct.unpack_from("<HH", data, o)
            if code == 0: break
            if code in (2, 3):
                high, low = struct.unpack_from("<II", data, o + 4)
                window[code] = high << 32 | low
            o += 4 + (size + 3) // 4 * 4
    offset += length
print(window[2], window[3])
PY
read -r window_start window_end < <(python3 "$E2E_TMP/window.py" "$E2E_TMP/capture.pcapng") || fail "no statistics block with the capture's window"
reference_after_window() {
    local last
    last=$(tshark -r "$E2E_TMP/reference.pcap" -n -T fields -e frame.time_epoch 2>/dev/null | tail -1)
    [ -n "$last" ] && python3 -c "import sys; sys.exit(0 if round(float('$last') * 1e6) > $window_end else 1)"
}
wait_for 10 reference_after_window || fail "tcpdump saw nothing after the capture's window"
stop_tcpdump
matches -i '^content-type: application/x-pcapng' < "$E2E_TMP/headers.txt" || fail "not served as pcapng: $(cat "$E2E_TMP/headers.txt")"
matches -i '^content-disposition: attachment; filename=".*-[0-9]\{8\}T[0-9]\{6\}Z.pcapng"' < "$E2E_TMP/headers.txt" \
    || fail "no file name with host and time: $(cat "$E2E_TMP/headers.txt")"
capinfos -F -I "$E2E_TMP/capture.pcapng" > "$E2E_TMP/capinfos.txt" || fail "capinfos cannot read the capture"
matches 'Name = veth-a' < "$E2E_TMP/capinfos.txt" || fail "no interface veth-a in the capture: $(cat "$E2E_TMP/capinfos.txt")"
matches 'planet-exporter' < "$E2E_TMP/capinfos.txt" || fail "the section does not name the agent"

fields=(-T fields -E separator=/t -e frame.time_epoch -e frame.len -e frame.cap_len -e frame.comment -e ip.src -e ipv6.src -e tcp.port -e udp.port)
tshark -r "$E2E_TMP/capture.pcapng" -n "${fields[@]}" > "$E2E_TMP/capture.txt" || fail "tshark cannot read the capture"
tshark -r "$E2E_TMP/reference.pcap" -n "${fields[@]}" > "$E2E_TMP/reference.txt"
python3 - "$window_start" "$window_end" "$E2E_TMP/capture.txt" "$E2E_TMP/reference.txt" <<'PY' || fail "the capture does not hold what tcpdump saw"
import sys
start, end = int(sys.argv[1]), int(sys.argv[2])
def rows(path):
    return [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]
def micros(row): return round(float(row[0]) * 1e6)
captured = rows(sys.argv[3]); reference = rows(sys.argv[4])
# The kernel stamps each packet socket's copy of a sent packet on its own, microseconds
# apart: packets are paired by length, in order, within a millisecond.
slack = 1000
want = sorted((micros(r), r[1]) for r in reference if start - slack <= micros(r) <= end + slack)
got = sorted((micros(r), r[1]) for r in captured)
used, unmatched, same, apart = set(), [], 0, 0
for time, length in got:
    match = next((i for i, (t, l) in enumerate(want) if i not in used and l == length and abs(t - time) <= slack), None)
    if match is None: unmatched.append((time, length)); continue
    used.add(match)
    same += want[match][0] == time
    apart = max(apart, abs(want[match][0] - time))
missing = [w for i, w in enumerate(want) if i not in used and start + slack <= w[0] <= end - slack]
print(f"    window {(end - start) / 1e6:.2f} s: capture {len(got)} packets, tcpdump {len(want)} in the window (edges {slack} us wide);"
      f" {same} with the same time stamp, the others at most {apart} us apart")
assert len(got) >= 100, "too few packets for a meaningful comparison"
assert not unmatched and not missing, f"only in capture: {unmatched[:5]}, only in tcpdump: {missing[:5]}"
assert all(start <= t <= end for t, _ in got), "a packet outside the capture's window"
families = {("4" if r[4] else "6", "tcp" if r[6] else "udp") for r in captured}
assert families == {("4", "tcp"), ("4", "udp"), ("6", "tcp"), ("6", "udp")}, families
bad = [r for r in captured if not r[3].startswith("pe-capclient → ")]
assert not bad, f"{len(bad)} packets without the client's comment, e.g. {bad[:3]}"
print(f"    every packet says {captured[0][3]!r}")
PY

log "401 without credentials, 400 with libpcap's message for a bad filter"
code=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$api/api/v1/capture?seconds=1")
[ "$code" = 401 ] || fail "without credentials: $code, want 401"
code=$(ip netns exec "$A" curl -s -o "$E2E_TMP/bad.json" -w '%{http_code}' --max-time 10 "${auth[@]}" -G "$api/api/v1/capture" \
    --data-urlencode 'filter=tcp port and nonsense(')
[ "$code" = 400 ] || fail "bad filter: $code, want 400"
matches 'syntax error' < "$E2E_TMP/bad.json" || fail "no libpcap message: $(cat "$E2E_TMP/bad.json")"
code=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${auth[@]}" "$api/api/v1/capture?seconds=3600")
[ "$code" = 400 ] || fail "seconds past -web.capture-max-seconds: $code, want 400"
code=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${auth[@]}" "$api/api/v1/capture?interface=lo")
[ "$code" = 400 ] || fail "an interface the agent does not capture on: $code, want 400"

log "a third capture at once gets 429"
for i in 1 2; do
    # -N: curl writes what arrives at once, so the file grows as the capture runs.
    ip netns exec "$A" curl -sN --max-time 30 "${auth[@]}" -o "$E2E_TMP/parallel-$i.pcapng" "$api/api/v1/capture?seconds=4" &
    E2E_PIDS+=($!)
done
wait_for 10 bash -c "[ -s $E2E_TMP/parallel-1.pcapng ] && [ -s $E2E_TMP/parallel-2.pcapng ]" || fail "the two captures did not start"
code=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${auth[@]}" "$api/api/v1/capture?seconds=1")
[ "$code" = 429 ] || fail "third capture: $code, want 429"
wait_for 20 bash -c "[ \$(ip netns exec $A curl -sf -u alice:$password $api/metrics | awk 'index(\$0, \"planet_web_captures_total{result=\\\"completed\\\"} \") == 1 {print \$NF}') -ge 3 ]" \
    || fail "the two captures did not complete: $(metrics | grep planet_web_captures_total)"

log "a client that leaves after 1 s ends its capture: descriptors and packet sockets back"
packet_sockets() { ip netns exec "$A" tail -n +2 /proc/net/packet | wc -l; }
fds_before=$(ls "/proc/$agent/fd" | wc -l); sockets_before=$(packet_sockets)
# 60 s, the longest capture the defaults allow (-web.response-timeout is raised to fit it).
ip netns exec "$A" curl -s --max-time 1 "${auth[@]}" -o /dev/null "$api/api/v1/capture?seconds=60" || true
wait_for 10 bash -c "[ \$(ip netns exec $A curl -sf -u alice:$password $api/metrics | awk 'index(\$0, \"planet_web_captures_total{result=\\\"disconnected\\\"} \") == 1 {print \$NF}') = 1 ]" \
    || fail "the capture did not end with its client: $(metrics | grep planet_web_captures_total)"
wait_for 10 bash -c "[ \$(ip netns exec $A tail -n +2 /proc/net/packet | wc -l) -le $sockets_before ] && [ \$(ls /proc/$agent/fd | wc -l) -le $fds_before ]" \
    || fail "after the capture: $(packet_sockets) packet sockets ($sockets_before before), $(ls "/proc/$agent/fd" | wc -l) descriptors ($fds_before before)"
grep -qE 'capture by user \\?"alice\\?" on veth-a' "$E2E_TMP/agent.log" || fail "captures are not logged with who asked"

log "a trafgen flood with a capture of it running: counting drops nothing, bytes exact"
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')
source "$E2E_ROOT/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.209.0.1 2 > "$E2E_TMP/udp.trafgen"
ip_bytes_before=$(sample 'planet_capture_decoded_ip_bytes_total{interface="veth-a"}')
packets_before=$(sample 'planet_capture_packets_total{interface="veth-a"}')
ip netns exec "$A" curl -sN --max-time 30 "${auth[@]}" -o "$E2E_TMP/flood.pcapng" "$api/api/v1/capture?seconds=6&filter=udp%20port%2053" &
flood_capture=$!
E2E_PIDS+=($flood_capture)
wait_for 10 test -s "$E2E_TMP/flood.pcapng" || fail "the flood's capture did not start"
flood=200000
ip netns exec "$B" trafgen --dev veth-b --conf "$E2E_TMP/udp.trafgen" -n "$flood" -b 100000pps -q > "$E2E_TMP/trafgen.log" 2>&1 \
    || fail "trafgen failed: $(cat "$E2E_TMP/trafgen.log")"
wait "$flood_capture" || true
flood_packets=$(capinfos -c -M "$E2E_TMP/flood.pcapng" | awk '/Number of packets/ {print $NF}')
log "the capture of the flood holds $flood_packets packets; the agent says: $(grep 'filter \\\?"udp port 53' "$E2E_TMP/agent.log" | tail -1 | sed 's/.*msg=//')"
[ "$flood_packets" -gt 0 ] || fail "the flood's capture is empty"
wait_for 10 bash -c "[ \$(ip netns exec $A curl -sf -u alice:$password $api/metrics | awk 'index(\$0, \"planet_capture_packets_total{interface=\\\"veth-a\\\"} \") == 1 {print \$NF}') -ge $((packets_before + flood)) ]" \
    || fail "captured $(sample 'planet_capture_packets_total{interface="veth-a"}') packets, expected at least $((packets_before + flood))"
[ "$(sample 'planet_capture_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the kernel dropped packets of the counting handle"
[ "$(sample 'planet_capture_ring_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the ring dropped packets"
# The client's traffic goes on beside the flood: the flood's bytes are at least its 46 IP bytes a frame.
flood_bytes=$(metrics | awk '/^planet_traffic_bytes_total\{/ && /remote_ip="198\.18\./ { sum += $NF } END { printf "%d", sum }')
[ "$flood_bytes" = $((flood * 46)) ] || fail "counted $flood_bytes bytes from the flood's peers, expected $((flood * 46))"
log "flood: $flood frames, their $flood_bytes IP bytes counted exactly, nothing dropped by counting"
echo "captures on demand end to end: ok"

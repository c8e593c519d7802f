#!/usr/bin/env bash
# Unconnected UDP sockets end to end: a client that uses sendto without connect is bound
# to an ephemeral port and unconnected, like a server, but must not be taken for one.
# In the agent's namespace: pe-sendto (an unconnected client of a UDP echo server in the
# peer), pe-twopeers (a server bound to ephemeral port 40000 that two peers send to) and
# pe-onepeer (bound to ephemeral port 41000, one peer sends to it). The rule
# (docs/sockets.md): a UDP socket is a server when bound to a port outside the ephemeral
# range, or when more than one peer sends to its port. So planet_server_process shows
# pe-twopeers only, and traffic is counted under the server's port: 5300 for pe-sendto,
# 40000 for pe-twopeers, never under the client's ephemeral port.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip ss curl python3
require_agent

A=pe-udp-a-$$ B=pe-udp-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.205.0.1/24 "$B" veth-b 10.205.0.2/24
ip -n "$B" addr add 10.205.0.3/24 dev veth-b
ip netns exec "$A" sysctl -qw net.ipv4.ip_local_port_range="32768 60999"

# udp.py NAME ROLE ARGS...: a Python process whose comm (process name) is NAME.
cat > "$E2E_TMP/udp.py" <<'PY'
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
role = sys.argv[2]
if role == "echo":            # echo ADDR PORT: answers every datagram to its sender
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[3], int(sys.argv[4])))
    while True:
        data, peer = s.recvfrom(65536); s.sendto(data, peer)
elif role == "sendto":        # sendto HOST PORT: an unconnected client, 10 datagrams a second
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
    while True:
        s.sendto(b"q" * 100, (sys.argv[3], int(sys.argv[4])))
        try: s.recvfrom(65536)
        except socket.timeout: pass
        time.sleep(0.1)
elif role == "sink":          # sink PORT: a server that reads and never answers
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[3])))
    while True: s.recv(65536)
elif role == "send":          # send SOURCE HOST PORT: a connected client sending 5 datagrams a second
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[3], 0))
    s.connect((sys.argv[4], int(sys.argv[5])))
    while True:
        s.send(b"d" * 60); time.sleep(0.2)
PY
run() { local ns=$1; shift; in_ns_bg "$ns" python3 "$E2E_TMP/udp.py" "$@"; }

run "$B" pe-echo echo 10.205.0.2 5300
run "$A" pe-twopeers sink 40000
run "$A" pe-onepeer sink 41000
wait_for 10 bash -c "ip netns exec $B ss -lun | grep -q ':5300' && ip netns exec $A ss -lun | grep -q ':41000'" || fail "servers did not start"
run "$A" pe-sendto sendto 10.205.0.2 5300
run "$B" pe-client-1 send 10.205.0.2 10.205.0.1 40000
run "$B" pe-client-2 send 10.205.0.3 10.205.0.1 40000
run "$B" pe-client-3 send 10.205.0.2 10.205.0.1 41000

sendto_port() { ip netns exec "$A" ss -uanp | awk '/pe-sendto/ && !done { n = split($4, a, ":"); print a[n]; done = 1 }'; }
wait_for 10 bash -c "[ -n \"\$(ip netns exec $A ss -uanp | grep pe-sendto)\" ]" || fail "the sendto client did not start"
port=$(sendto_port)
log "pe-sendto is bound unconnected to ephemeral port $port"
[ "$port" -ge 32768 ] && [ "$port" -le 60999 ] || fail "the client's port $port is not ephemeral"
ip netns exec "$A" ss -uan | matches "10.205.0.1:$port\|0.0.0.0:$port\|\*:$port" || fail "no socket on port $port"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s
metrics() { ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics; }
has() { metrics | matches -E "$1"; }

log "pe-twopeers: two peers send to port 40000, so it is a server"
wait_for 30 has 'planet_server_process\{bind="0.0.0.0:40000",local_hostgroup="",port="40000",process_name="pe-twopeers",process_unit="[^"]*"\} 1' \
    || { metrics | grep -E 'planet_server_process|planet_traffic_bytes'; fail "pe-twopeers not shown as a server"; }
wait_for 10 has 'planet_traffic_bytes_total\{direction="ingress",[^}]*port="40000",process_name="pe-twopeers",process_unit="[^"]*",protocol="udp",[^}]*remote_ip="10.205.0.3"\}' \
    || { metrics | grep planet_traffic_bytes; fail "pe-twopeers traffic not under port 40000"; }

log "pe-sendto: traffic under the echo server's port 5300, both ways, and no server series"
wait_for 10 has 'planet_traffic_bytes_total\{direction="egress",[^}]*port="5300",process_name="pe-sendto",process_unit="[^"]*",protocol="udp",[^}]*remote_ip="10.205.0.2"\}' \
    || { metrics | grep planet_traffic_bytes; fail "pe-sendto egress not under port 5300"; }
has 'planet_traffic_bytes_total\{direction="ingress",[^}]*port="5300",process_name="pe-sendto",process_unit="[^"]*",protocol="udp",[^}]*remote_ip="10.205.0.2"\}' \
    || { metrics | grep planet_traffic_bytes; fail "pe-sendto ingress not under port 5300"; }
metrics > "$E2E_TMP/metrics.txt"
if grep -E "planet_traffic_bytes_total\{[^}]*port=\"$port\"" "$E2E_TMP/metrics.txt"; then
    fail "traffic counted under the client's ephemeral port $port"
fi
if grep -E "planet_server_process\{[^}]*(port=\"$port\"|process_name=\"pe-sendto\")" "$E2E_TMP/metrics.txt"; then
    fail "the sendto client is shown as a server"
fi

log "pe-onepeer: one peer only, ephemeral port: not a server"
if grep -E 'planet_server_process\{[^}]*port="41000"' "$E2E_TMP/metrics.txt"; then
    fail "pe-onepeer (one peer, ephemeral port) is shown as a server"
fi
grep -q 'planet_scrape_collector_success{collector="socketstat"} 1' "$E2E_TMP/metrics.txt" || fail "socketstat not successful"
echo "udp sendto end to end: ok"

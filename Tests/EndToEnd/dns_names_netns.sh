#!/usr/bin/env bash
# Peer names from DNS answers, end to end: the agent's namespace resolves names through
# the system resolver (getent) from dnsmasq in a peer namespace, then talks TCP to the
# answered addresses. Its traffic series and dependency gauges carry the name asked
# (the first name of a CNAME chain) in remote_dns_name, and so do /api/v1/peers and the
# peer view. One answer is longer than the 192-byte snap length: captured whole by the
# per-packet snap length program, it still names its address (nothing truncated). One
# name is only ever asked over TCP (as a resolver does when a UDP answer comes back
# truncated): its answer names its address too, and the segments without data of those
# connections are not counted as responses. A forged answer that no query asked for names
# nothing and is counted as refused. A flood of queries to the agent's host does not
# crowd out the host's own, nor does a flood of queries forged in the host's name (its
# address as their source, sent onto the link by another host), which is counted.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 dnsmasq getent
require_agent

A=pe-dns-a-$$ B=pe-dns-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.207.0.1/24 "$B" veth-b 10.207.0.2/24 fd00:207::1/64 fd00:207::2/64
for address in 10.207.0.10/24 10.207.0.11/24 10.207.0.12/24 10.207.0.13/24 10.207.0.14/24; do ip -n "$B" addr add "$address" dev veth-b; done
ip -n "$B" addr add fd00:207::10/64 dev veth-b nodad

# `ip netns exec` mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
mkdir -p "/etc/netns/$A"
trap 'rm -rf "/etc/netns/$A"; e2e_cleanup' EXIT
printf 'nameserver 10.207.0.2\noptions attempts:5 timeout:1\n' > "/etc/netns/$A/resolv.conf"

long=$(printf 'l%.0s' $(seq 1 60)).edge.example.test
in_ns_bg "$B" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=10.207.0.2 --bind-interfaces --user=root --group=root --log-facility=- \
    --host-record=svc.example.test,10.207.0.10,fd00:207::10 \
    --cname=www.example.test,web.example.test --cname=web.example.test,svc.example.test \
    --host-record=db.example.test,10.207.0.11 --host-record=tcp.example.test,10.207.0.14 \
    --host-record="$long",10.207.0.13 --cname=long-alias-"$(printf 'a%.0s' $(seq 1 50))".example.test,"$long"
alias=long-alias-$(printf 'a%.0s' $(seq 1 50)).example.test

# TCP servers on every answered address, and on one no name points to.
in_ns_bg "$B" python3 "$E2E_ROOT/Tests/EndToEnd/dns_peers.py" serve 10.207.0.10 fd00:207::10 10.207.0.11 10.207.0.12 10.207.0.13 10.207.0.14
wait_for 10 bash -c "ip netns exec $B ss -ltn | grep -q '10.207.0.13:8080' && ip netns exec $B ss -lun | grep -q '10.207.0.2:53'" \
    || fail "dnsmasq or the TCP servers did not start"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s
metrics() { ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics; }
has() { metrics | matches -E "$1"; }
wait_for 20 has 'planet_capture_packets_total\{interface="veth-a"\}' || fail "the agent did not start capturing"

ip netns exec "$A" getent ahosts www.example.test | matches 10.207.0.10 || fail "the resolver in $A does not answer www.example.test"
# ask.py NAME udp|tcp: asks 10.207.0.2 for NAME's A records over UDP, or over TCP (RFC
# 1035 4.2.2: the message after its 2-byte length); prints the answer's size and records.
cat > "$E2E_TMP/ask.py" <<'PY'
import socket, struct, sys
name, transport = sys.argv[1], sys.argv[2]
query = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
if transport == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(query, ("10.207.0.2", 53))
    reply = s.recv(4096)
else:
    with socket.create_connection(("10.207.0.2", 53), timeout=3) as s:
        s.sendall(struct.pack("!H", len(query)) + query)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
    reply = data[2:]
print(len(reply), struct.unpack("!H", reply[6:8])[0])
PY
asked=$(ip netns exec "$A" python3 "$E2E_TMP/ask.py" "$alias" udp) || fail "dnsmasq did not answer $alias over UDP"
read -r response _ <<<"$asked"
log "the answer for the long name is $response bytes of DNS, $((response + 42)) on the wire"
[ $((response + 42)) -gt 192 ] || fail "the long answer fits in the snap length; it proves nothing"
asked=$(ip netns exec "$A" python3 "$E2E_TMP/ask.py" tcp.example.test tcp) || fail "dnsmasq did not answer over TCP"
read -r _ answers <<<"$asked"
[ "$answers" = 1 ] || fail "dnsmasq's answer for tcp.example.test over TCP has $answers records, not 1"
# A forged answer no query asked for, from port 53 of another host of the peer's
# namespace: it names 10.207.0.12, and must name nothing.
ip netns exec "$B" python3 - <<'PY' || fail "could not send the forged answer"
import socket, struct
name = b"".join(bytes([len(l)]) + l.encode() for l in "forged.example.test".split(".")) + b"\0"
answer = struct.pack("!HHHHHH", 0x4242, 0x8180, 1, 1, 0, 0) + name + b"\0\1\0\1" + b"\xc0\x0c" \
    + struct.pack("!HHIH", 1, 1, 86400, 4) + socket.inet_aton("10.207.0.12")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.207.0.11", 53)); s.sendto(answer, ("10.207.0.1", 40123))
PY
# Queries from the peer's namespace to the agent's host, as to a DNS service of its own:
# 10,000 of them, five times the slots that remember queries, just before the host's own
# lookups below. They are not the host's lookups and must not crowd them out.
ip netns exec "$B" python3 - <<'PY' || fail "could not send the queries to the agent's host"
import socket, struct
question = b"".join(bytes([len(l)]) + l.encode() for l in "flood.example.test".split(".")) + b"\0\0\1\0\1"
sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(50)]
for n in range(10000):
    sockets[n % 50].sendto(struct.pack("!HHHHHH", n, 0x0100, 1, 0, 0, 0) + question, ("10.207.0.1", 53))
PY
# Queries forged in the host's name: the agent's address as their source, put on the link
# by the peer's namespace (whose link-layer address is not the host's), 3,000 of them,
# more than the slots that remember queries, to an address that answers nothing.
host_mac=$(ip netns exec "$A" cat /sys/class/net/veth-a/address)
ip netns exec "$B" python3 - "$host_mac" <<'PY' || fail "could not send the forged queries"
import socket, struct, sys
def checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth-b", 0))
link = bytes.fromhex(sys.argv[1].replace(":", "")) + s.getsockname()[4] + b"\x08\x00"
question = b"".join(bytes([len(l)]) + l.encode() for l in "spoofed.example.test".split(".")) + b"\0\0\1\0\1"
for n in range(3000):
    dns = struct.pack("!HHHHHH", n, 0x0100, 1, 0, 0, 0) + question
    udp = struct.pack("!HHHH", 20000 + n, 53, 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                     socket.inet_aton("10.207.0.1"), socket.inet_aton("10.207.0.99"))
    s.send(link + ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:] + udp)
PY
# 10.207.0.12: an address no name points to; 10.207.0.14 by address, so never asked over UDP.
in_ns_bg "$A" python3 "$E2E_ROOT/Tests/EndToEnd/dns_peers.py" talk www.example.test db.example.test "$alias" 10.207.0.12 10.207.0.14

series() { echo "planet_traffic_bytes_total\\{direction=\"$1\",[^}]*port=\"8080\",[^}]*remote_dns_name=\"$2\",[^}]*remote_ip=\"$3\"\\}"; }
log "traffic series carry the name asked, through the CNAME chain"
for direction in egress ingress; do
    wait_for 30 has "$(series $direction www.example.test 10.207.0.10)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "no $direction series for 10.207.0.10 named www.example.test"; }
    wait_for 10 has "$(series $direction www.example.test fd00:207::10)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "no $direction series for fd00:207::10 named www.example.test"; }
    wait_for 10 has "$(series $direction db.example.test 10.207.0.11)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "no $direction series for 10.207.0.11 named db.example.test"; }
    wait_for 10 has "$(series $direction "$alias" 10.207.0.13)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "the answer longer than the snap length did not name 10.207.0.13"; }
    wait_for 10 has "$(series $direction tcp.example.test 10.207.0.14)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "the answer over TCP did not name 10.207.0.14"; }
    wait_for 10 has "$(series $direction '' 10.207.0.12)" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "10.207.0.12 (no name) has no series with an empty name"; }
done

metrics > "$E2E_TMP/metrics.txt"
log "every traffic series has the label; one name per address, so no series is split"
if grep -E '^planet_traffic_bytes_total\{' "$E2E_TMP/metrics.txt" | grep -v 'remote_dns_name='; then
    fail "traffic series without remote_dns_name"
fi
grep -E '^planet_traffic_bytes_total\{' "$E2E_TMP/metrics.txt" | sed -E 's/remote_dns_name="[^"]*",//; s/\} .*/}/' | sort | uniq -d | grep . \
    && fail "two series differ only in remote_dns_name"
grep -qE 'planet_dns_responses_total\{interface="veth-a",result="ok"\} [1-9]' "$E2E_TMP/metrics.txt" || fail "no DNS response counted ok"
grep -qE 'planet_dns_responses_total\{interface="veth-a",result="truncated"\} 0$' "$E2E_TMP/metrics.txt" \
    || { grep planet_dns "$E2E_TMP/metrics.txt"; fail "DNS responses were cut"; }
grep -qE '^planet_dns_names [1-9]' "$E2E_TMP/metrics.txt" || fail "planet_dns_names is 0"
grep -qE 'planet_dns_answers_refused_total\{interface="veth-a",reason="unsolicited"\} [1-9]' "$E2E_TMP/metrics.txt" \
    || { grep planet_dns "$E2E_TMP/metrics.txt"; fail "the forged answer was not refused"; }
grep -q 'forged.example.test' "$E2E_TMP/metrics.txt" && fail "the forged answer named a peer"
grep -qE 'planet_dns_queries_dropped_total\{interface="veth-a"\} 0$' "$E2E_TMP/metrics.txt" \
    || { grep planet_dns "$E2E_TMP/metrics.txt"; fail "the queries to the agent's host, or those forged in its name, crowded out its own"; }
grep -qE 'planet_dns_queries_spoofed_total\{interface="veth-a"\} 3000$' "$E2E_TMP/metrics.txt" \
    || { grep planet_dns "$E2E_TMP/metrics.txt"; fail "the 3,000 queries forged in the host's name were not counted as spoofed"; }

log "the dependency gauges carry the name too"
wait_for 20 has 'planet_upstream\{[^}]*port="8080",[^}]*remote_dns_name="db.example.test",[^}]*remote_ip="10.207.0.11"\} 1' \
    || { metrics | grep -E 'planet_upstream'; fail "planet_upstream for 10.207.0.11 without its name"; }

log "the API and the page's data name the peer"
ip netns exec "$A" curl -sf 'http://127.0.0.1:19100/api/v1/peers?q=10.207.0.11' > "$E2E_TMP/peers.json"
python3 - "$E2E_TMP/peers.json" <<'PY' || fail "/api/v1/peers does not name 10.207.0.11"
import json, sys
peers = json.load(open(sys.argv[1]))["peers"]
assert [p["remote_dns_name"] for p in peers if p["ip"] == "10.207.0.11"] == ["db.example.test"], peers
PY
ip netns exec "$A" curl -sf 'http://127.0.0.1:19100/api/v1/peers/10.207.0.10' > "$E2E_TMP/peer.json"
python3 - "$E2E_TMP/peer.json" <<'PY' || fail "/api/v1/peers/10.207.0.10 does not name it"
import json, sys
peer = json.load(open(sys.argv[1]))
assert peer["remote_dns_name"] == "www.example.test", peer
assert all(d["remote_dns_name"] == "www.example.test" for d in peer["dependencies"]), peer["dependencies"]
PY
echo "dns names end to end: ok"

#!/usr/bin/env bash
# An address added to an interface the agent already captures (DHCP late, a virtual IP
# moved over by keepalived): once the agent has read it back (it logs `local addresses` at
# debug level), traffic to it counts as the host's, exactly, even when the interface was
# idle and its reading thread waited in libpcap with the addresses it had before; and an
# address removed stops counting as the host's. The same on nflog, where libpcap cannot
# wake the reading thread without losing what it reads next; and an agent waiting on an
# idle nflog group still stops at once.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 iptables
require_agent

A=pe-lad-a-$$ B=pe-lad-b-$$
new_netns "$A"; new_netns "$B"
# No IPv6 chatter: nothing wakes the idle capture.
without_ipv6 "$A" "$B"
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
ip -n "$B" addr add 10.209.0.2/24 dev veth-b
ip -n "$A" link set veth-a up
ip -n "$B" link set veth-b up
# Every datagram to port 5353 arriving on veth-a, to the host or not, to nflog group 9.
ip netns exec "$A" iptables -t raw -A PREROUTING -i veth-a -p udp --dport 5353 -j NFLOG --nflog-group 9

# One agent captures veth-a, the other nflog group 9.
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 300ms \
    -task-socketstat-enabled=false -log-level debug 2> "$E2E_TMP/agent.log"
agent=${E2E_PIDS[-1]}
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -capture-interfaces nflog:9 -task-interval 300ms \
    -task-socketstat-enabled=false -log-level debug 2> "$E2E_TMP/nflog.log"
nflog_agent=${E2E_PIDS[-1]}
# metrics [PORT], has TEXT [PORT]: the agent on 19100 unless PORT says otherwise.
metrics() { ip netns exec "$A" curl -sf --max-time 5 "http://127.0.0.1:${1:-19100}/metrics"; }
has() { metrics "${2:-19100}" | matches -F "$1"; }
send() { ip netns exec "$B" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 100, ("10.209.0.1", 5353)) for _ in range(5)]'; }
# reader_waits PID THREAD: that agent's capture thread sleeps in the kernel, waiting for packets.
reader_waits() {
    local task
    for task in /proc/"$1"/task/*; do
        [ "$(cat "$task/comm" 2>/dev/null)" = "$2" ] && [ "$(awk '{ print $3 }' "$task/stat" 2>/dev/null)" = S ] && return 0
    done
    return 1
}
counted='planet_traffic_bytes_total{direction="ingress",local_domain="",local_hostgroup="",port="5353",process_name="",process_unit="",protocol="udp",remote_dns_name="",remote_domain="",remote_hostgroup="",remote_ip="10.209.0.2"} 640'

log "veth-a and nflog:9 captured with no IPv4 address on veth-a; their reading threads wait"
wait_for 30 has 'planet_capture_packets_total{interface="veth-a"}' || { cat "$E2E_TMP/agent.log"; fail "the agent did not start capturing"; }
wait_for 30 has 'planet_capture_packets_total{interface="nflog:9"}' 19101 || { cat "$E2E_TMP/nflog.log"; fail "the nflog agent did not start capturing"; }
wait_for 10 reader_waits "$agent" pe-cap-veth-a || fail "the capture thread of veth-a is not waiting"
wait_for 10 reader_waits "$nflog_agent" pe-cap-nflog:9 || fail "the capture thread of nflog:9 is not waiting"

log "10.209.0.1 added: 5 datagrams to it count as the host's, 640 bytes, on veth-a and on nflog:9"
ip -n "$A" addr add 10.209.0.1/24 dev veth-a
wait_for 10 agent_read_address "$E2E_TMP/agent.log" 10.209.0.1 || { cat "$E2E_TMP/agent.log"; fail "the agent did not read 10.209.0.1"; }
wait_for 10 agent_read_address "$E2E_TMP/nflog.log" 10.209.0.1 || { cat "$E2E_TMP/nflog.log"; fail "the nflog agent did not read 10.209.0.1"; }
send
wait_for 10 has "$counted" || { metrics | grep planet_traffic_bytes; cat "$E2E_TMP/agent.log"; fail "traffic to the added address not counted"; }
wait_for 10 has "$counted" 19101 \
    || { metrics 19101 | grep -E 'planet_(traffic_bytes|capture_packets)'; cat "$E2E_TMP/nflog.log"; fail "traffic to the added address not counted on nflog"; }

log "10.209.0.1 removed: datagrams to it are no longer the host's (a static ARP entry still sends them)"
mac=$(ip -n "$A" -br link show dev veth-a | awk '{ print $3 }')
ip -n "$B" neigh replace 10.209.0.1 lladdr "$mac" dev veth-b nud permanent
packets_before=$(metrics | awk '$1 == "planet_capture_packets_total{interface=\"veth-a\"}" { print $2 }')
ip -n "$A" addr del 10.209.0.1/24 dev veth-a
wait_for 10 bash -c "grep 'msg=\"local addresses\"' $E2E_TMP/agent.log | tail -1 | grep -qv 10.209.0.1" \
    || { cat "$E2E_TMP/agent.log"; fail "the agent did not read the removal"; }
send
at_least_five_more() { local v; v=$(metrics | awk '$1 == "planet_capture_packets_total{interface=\"veth-a\"}" { print $2 }'); [ "$v" -ge $((packets_before + 5)) ]; }
wait_for 10 at_least_five_more || { metrics | grep planet_capture; fail "the datagrams after the removal were not captured"; }
has 'remote_ip="10.209.0.2"} 640' || { metrics | grep planet_traffic_bytes; fail "traffic to a removed address counted as the host's"; }
log "SIGTERM: the agent waiting on the idle nflog group stops its capture at once"
kill -TERM "$nflog_agent"
wait_for 5 grep -q 'msg="capture stopped"' "$E2E_TMP/nflog.log" || { cat "$E2E_TMP/nflog.log"; fail "the nflog capture did not stop within 5 s"; }
echo "local address added end to end: ok"

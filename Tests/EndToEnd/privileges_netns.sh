#!/usr/bin/env bash
# Least privilege: started as root with -run-as-user nobody, the agent opens its capture
# and then runs as nobody with exactly the capabilities it still needs (every thread),
# no_new_privs set; it still counts exact bytes, reopens an interface that was removed and
# re-created, and names the processes of other users in the socket table. Without the
# flag nothing changes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 setpriv
require_agent

A=pe-priv-a-$$ B=pe-priv-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.206.0.1/24 "$B" veth-b 10.206.0.2/24
nobody_uid=$(id -u nobody)
# CAP_DAC_READ_SEARCH (2), CAP_NET_RAW (13), CAP_SYS_PTRACE (19); CAP_NET_RAW alone.
all_caps=0000000000082004 raw_only=0000000000002000

# A server of another user (daemon) than the agent's, for the socket table to name.
# /usr/bin/python3: a python3 found on root's PATH may live where daemon cannot read.
ip netns exec "$A" setpriv --reuid=daemon --regid=daemon --clear-groups --inh-caps=-all \
    /usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.206.0.1", 8123)); s.listen(); time.sleep(600)' &
E2E_PIDS+=($!)

ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -run-as-user nobody \
    -capture-interfaces veth-a -task-interval 300ms -log-level debug 2> "$E2E_TMP/agent.log" &
agent=$!
E2E_PIDS+=($agent)
metrics() { ip netns exec "$A" curl -sf --max-time 5 http://127.0.0.1:19100/metrics; }
has() { metrics | matches -F "$1"; }
send() { ip netns exec "$B" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 100, ("10.206.0.1", 5353)) for _ in range(5)]'; }
wait_for 30 has 'planet_capture_packets_total{interface="veth-a"}' || { cat "$E2E_TMP/agent.log"; fail "the agent did not start capturing"; }

log "/proc/PID/status of every thread: Uid nobody, exactly the needed capabilities, no_new_privs;"
log "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH in effect in pe-sockets only"
field() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$2"; }
check_thread() {  # check_thread STATUS_FILE EXPECTED_CAPS [EXPECTED_EFFECTIVE]
    local uid; uid=$(field Uid "$1" | tr -s '\t ' ' ')
    [ "$uid" = "$nobody_uid $nobody_uid $nobody_uid $nobody_uid" ] || fail "$1: Uid is $uid, not nobody ($nobody_uid)"
    [ "$(field CapEff "$1")" = "${3:-$2}" ] || fail "$1 ($(field Name "$1")): CapEff is $(field CapEff "$1"), expected ${3:-$2}"
    [ "$(field CapPrm "$1")" = "$2" ] || fail "$1: CapPrm is $(field CapPrm "$1"), expected $2"
    [ "$(field CapBnd "$1")" = "$2" ] || fail "$1: CapBnd is $(field CapBnd "$1"), expected $2"
    [ "$(field CapAmb "$1")" = 0000000000000000 ] || fail "$1: ambient capabilities left"
    [ "$(field NoNewPrivs "$1")" = 1 ] || fail "$1: no_new_privs is not set"
}
# The main thread and every thread but pe-sockets: only CAP_NET_RAW in effect.
effective() { if [ "$(field Name "$1")" = pe-sockets ]; then echo "$all_caps"; else echo "$raw_only"; fi; }
check_thread "/proc/$agent/status" "$all_caps" "$raw_only"
threads=0 sockets=0
for status in /proc/"$agent"/task/*/status; do
    check_thread "$status" "$all_caps" "$(effective "$status")"
    threads=$((threads + 1))
    [ "$(field Name "$status")" != pe-sockets ] || sockets=$((sockets + 1))
done
[ "$sockets" -eq 1 ] || fail "$sockets threads named pe-sockets, expected 1"
log "$threads threads checked"
grep -qF 'msg="running as nobody" capabilities="CAP_DAC_READ_SEARCH,CAP_NET_RAW,CAP_SYS_PTRACE"' "$E2E_TMP/agent.log" \
    || { cat "$E2E_TMP/agent.log"; fail "the drop is not logged"; }

log "capture still counts exact bytes"
send
wait_for 10 has 'remote_ip="10.206.0.2"} 640' || { metrics | grep planet_traffic; fail "traffic not counted after the drop"; }

log "the socket table still names another user's process"
names_daemon() { metrics | grep '^planet_server_process{' | grep 'port="8123"' | matches 'process_name="python3"'; }
wait_for 15 names_daemon \
    || { metrics | grep planet_server_process; fail "the daemon user's listener has no process name"; }

log "an interface removed and re-created is reopened as nobody (CAP_NET_RAW kept)"
ip -n "$A" link del veth-a
wait_for 10 bash -c "grep 'level=error' $E2E_TMP/agent.log | grep -q veth-a" || { cat "$E2E_TMP/agent.log"; fail "losing veth-a was not logged"; }
veth_pair "$A" veth-a 10.206.0.1/24 "$B" veth-b 10.206.0.2/24
wait_for 20 bash -c "[ \$(grep -c 'msg=capturing.*veth-a' $E2E_TMP/agent.log) -ge 2 ]" || { cat "$E2E_TMP/agent.log"; fail "veth-a not reopened after the drop"; }
# It may have reopened veth-a before the address was added.
wait_for 10 agent_read_address "$E2E_TMP/agent.log" 10.206.0.1 || { cat "$E2E_TMP/agent.log"; fail "the agent did not read 10.206.0.1 back"; }
send
wait_for 10 has 'remote_ip="10.206.0.2"} 1280' || { metrics | grep planet_traffic_bytes; cat "$E2E_TMP/agent.log"; fail "traffic after reopening not counted"; }
check_thread "/proc/$agent/status" "$all_caps" "$raw_only"

log "socket table off: CAP_NET_RAW alone"
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -run-as-user nobody \
    -capture-interfaces veth-a -task-socketstat-enabled=false 2> "$E2E_TMP/agent2.log" &
second=$!
E2E_PIDS+=($second)
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19101/metrics | grep -q 'interface=\"veth-a\"'" || { cat "$E2E_TMP/agent2.log"; fail "second agent not serving"; }
for status in /proc/"$second"/task/*/status; do check_thread "$status" "$raw_only"; done

log "without -run-as-user nothing changes"
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19102 -capture-interfaces veth-a 2> "$E2E_TMP/agent3.log" &
third=$!
E2E_PIDS+=($third)
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19102/metrics | grep -q 'interface=\"veth-a\"'" || { cat "$E2E_TMP/agent3.log"; fail "third agent not serving"; }
[ "$(field Uid "/proc/$third/status" | tr -s '\t ' ' ')" = "0 0 0 0" ] || fail "the agent changed user without -run-as-user"
# As root too, the two socket-table capabilities are in effect in pe-sockets alone.
socket_bits=$((0x80004))
for status in /proc/"$third"/task/*/status; do
    eff=$((16#$(field CapEff "$status")))
    if [ "$(field Name "$status")" = pe-sockets ]; then
        [ $((eff & socket_bits)) -eq $socket_bits ] || fail "root's pe-sockets lacks the socket-table capabilities: $(field CapEff "$status")"
    else
        [ $((eff & socket_bits)) -eq 0 ] || fail "root's $(field Name "$status") has the socket-table capabilities in effect: $(field CapEff "$status")"
    fi
done

log "an unknown user: refused at start, one line"
set +e
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19103 -run-as-user no-such-user-pe -capture-interfaces veth-a \
    > /dev/null 2> "$E2E_TMP/bad.log"
status=$?
set -e
[ "$status" -ne 0 ] || fail "an unknown -run-as-user was accepted"
grep -q -- '-run-as-user no-such-user-pe: no such user' "$E2E_TMP/bad.log" || { cat "$E2E_TMP/bad.log"; fail "unclear error for an unknown user"; }
echo "privileges end to end: ok"

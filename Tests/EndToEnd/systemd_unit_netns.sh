#!/usr/bin/env bash
# setup/systemd/planet-exporter.service: setup/check.sh passes (exposure score, denied
# system calls), and the agent works inside the unit's sandbox as this test rebuilds it
# without systemd running: an unprivileged user with the unit's ambient capabilities and
# bounding set, no_new_privs, and the unit's SystemCallFilter lines turned into a seccomp
# filter (expanded by systemd-analyze, loaded by libseccomp) that answers EPERM as
# SystemCallErrorNumber says. Under it: capture counts exact bytes, the socket table names
# another user's process, /metrics answers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl systemd-analyze setpriv
require_agent
/usr/bin/python3 -c 'import seccomp' 2>/dev/null || skip "needs python3-seccomp"
unit=$E2E_ROOT/setup/systemd/planet-exporter.service

log "setup/check.sh"
bash "$E2E_ROOT/setup/check.sh" > "$E2E_TMP/check.log" 2>&1 || { cat "$E2E_TMP/check.log"; fail "setup/check.sh failed"; }
grep 'Overall exposure level' "$E2E_TMP/check.log" | sed 's/^/  /'

# Runs argv under the unit's syscall filter, as systemd would install it.
cat > "$E2E_TMP/sandbox.py" <<'PY'
import errno, os, subprocess, sys
import seccomp

def expand(item, seen):
    if not item.startswith("@"):
        return {item}
    if item in seen:
        return set()
    seen.add(item)
    out = subprocess.run(["systemd-analyze", "syscall-filter", item], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        line = line.strip()
        if line and not line.startswith("#"):
            names |= expand(line, seen)
    return names

unit, argv = sys.argv[1], sys.argv[2:]
# In order, as systemd reads them once the first line made an allow list: a line adds
# its calls to the list, a ~ line takes them out again.
allowed = set()
for line in open(unit):
    if line.startswith("SystemCallFilter="):
        value = line.split("=", 1)[1].strip()
        names = set().union(*(expand(item, set()) for item in value.lstrip("~").split()))
        allowed = allowed - names if value.startswith("~") else allowed | names
# SystemCallErrorNumber=EPERM: what is not allowed fails with EPERM.
rules = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in sorted(allowed):
    try:
        rules.add_rule(seccomp.ALLOW, name)
    except (ValueError, RuntimeError, OSError):
        pass  # not a system call of this architecture
for name in ("process_vm_readv", "process_vm_writev", "ptrace"):
    assert name not in allowed, name
rules.load()
os.execv(argv[0], argv)
PY

A=pe-unit-a-$$ B=pe-unit-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.208.0.1/24 "$B" veth-b 10.208.0.2/24
caps=$(awk -F= '$1 == "AmbientCapabilities" { print $2 }' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g; s/^/+/')
bounding=$(awk -F= '$1 == "CapabilityBoundingSet" { print $2 }' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g; s/^/+/')
log "as nobody with $caps (bounding set $bounding), no_new_privs, the unit's syscall filter"

# /usr/bin/python3: a python3 found on root's PATH may live where daemon cannot read.
ip netns exec "$A" setpriv --reuid=daemon --regid=daemon --clear-groups --inh-caps=-all \
    /usr/bin/python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.208.0.1", 8124)); s.listen(); time.sleep(600)' &
E2E_PIDS+=($!)
ip netns exec "$A" setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
    --bounding-set="-all,$bounding" --no-new-privs \
    /usr/bin/python3 "$E2E_TMP/sandbox.py" "$unit" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 \
    -capture-interfaces veth-a -task-interval 300ms 2> "$E2E_TMP/agent.log" &
agent=$!
E2E_PIDS+=($agent)
metrics() { ip netns exec "$A" curl -sf --max-time 5 http://127.0.0.1:19100/metrics; }
has() { metrics | matches -F "$1"; }
wait_for 30 has 'planet_capture_packets_total{interface="veth-a"}' || { cat "$E2E_TMP/agent.log"; fail "the agent does not run in the unit's sandbox"; }
grep -q '^Seccomp:[[:space:]]*2' "/proc/$agent/status" || fail "the agent runs without the seccomp filter"

ip netns exec "$B" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 100, ("10.208.0.1", 5353)) for _ in range(5)]'
wait_for 10 has 'remote_ip="10.208.0.2"} 640' || { metrics | grep planet_traffic; fail "capture does not count exact bytes in the sandbox"; }
names_daemon() { metrics | grep '^planet_server_process{' | grep 'port="8124"' | matches 'process_name="python3"'; }
wait_for 15 names_daemon || { metrics | grep planet_server_process; cat "$E2E_TMP/agent.log"; fail "the socket table does not name another user's process in the sandbox"; }
has 'planet_scrape_collector_success{collector="socketstat"} 1' || fail "socketstat fails in the sandbox"
if grep -q 'level=error' "$E2E_TMP/agent.log"; then cat "$E2E_TMP/agent.log"; fail "errors logged in the sandbox"; fi
echo "systemd unit sandbox end to end: ok"

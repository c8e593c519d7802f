# Shared helpers for the end-to-end tests. Each test sources this file, runs with
# `set -euo pipefail`, exits 0 on success, 77 to skip (with a message), anything else
# on failure. Every wait is bounded; everything started is stopped by the EXIT trap.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PLANET_EXPORTER=${PLANET_EXPORTER:-$E2E_ROOT/.build/release/planet-exporter}
E2E_TMP=$(mktemp -d /tmp/planet-e2e.XXXXXX)
E2E_PIDS=()
E2E_NETNS=()
E2E_CGROUPS=()
E2E_CONTAINERS=()

e2e_cleanup() {
    local pid ns container
    for container in "${E2E_CONTAINERS[@]}"; do podman rm -f -t 0 "$container" >/dev/null 2>&1 || true; done
    for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${E2E_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    for ns in "${E2E_NETNS[@]}"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns delete "$ns" 2>/dev/null || true
    done
    # Deepest first: a cgroup goes only once its processes and children have.
    local index
    for ((index = ${#E2E_CGROUPS[@]} - 1; index >= 0; index--)); do
        for _ in $(seq 1 50); do rmdir "${E2E_CGROUPS[index]}" 2>/dev/null && break; sleep 0.1; done
    done
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "  $*"; }

# matches GREP-ARGS...: `grep -q` for the end of a pipeline. It reads its input to the end
# before grepping, so under pipefail the writer is never killed by SIGPIPE when grep -q
# would stop at an early match (which fails the pipeline however the match went). No input
# is no line, so `matches -v` is false on it too.
matches() { local input; input=$(cat); [ -n "$input" ] && grep -q "$@" <<<"$input"; }

require_root() { [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, capture)"; }
require_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null || skip "needs $c"; done; }
require_agent() { [ -x "$PLANET_EXPORTER" ] || fail "no agent binary at $PLANET_EXPORTER (swift build -c release)"; }

# A TCP port free on this host's loopback (tests in their own namespaces have all ports).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# new_netns NAME: a namespace with loopback up, removed at exit.
new_netns() {
    ip netns add "$1"
    E2E_NETNS+=("$1")
    ip -n "$1" link set lo up
}

# without_ipv6 NS...: no IPv6 on the interfaces made in these namespaces from now on, so
# no router solicitations, MLD reports or DAD: every frame on their links is the test's.
without_ipv6() {
    local ns
    for ns in "$@"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    done
}

# veth_pair NS_A IF_A ADDR_A NS_B IF_B ADDR_B [V6_A V6_B]: joins two namespaces.
veth_pair() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3" dev "$2"
    ip -n "$4" addr add "$6" dev "$5"
    if [ $# -ge 8 ]; then
        ip -n "$1" addr add "$7" dev "$2" nodad
        ip -n "$4" addr add "$8" dev "$5" nodad
    fi
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}

# in_ns NS CMD...: runs CMD in NS in the background, registers its pid.
in_ns_bg() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" &
    E2E_PIDS+=($!)
}

# cgroup2_root: where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
# /sys/fs/cgroup/unified on a hybrid host), from the mount table; empty when it is not.
cgroup2_root() {
    awk '{ split($0, halves, " - "); split(halves[2], fields, " "); if (fields[1] == "cgroup2") { print $5; exit } }' \
        /proc/self/mountinfo
}

# new_cgroup PATH: makes the cgroup v2 group PATH (and missing parents), removed at exit.
new_cgroup() {
    local root path part
    root=$(cgroup2_root)
    [ -n "$root" ] || skip "no cgroup v2 hierarchy mounted"
    path=$root
    for part in ${1//\// }; do
        path=$path/$part
        if [ ! -d "$path" ]; then
            mkdir "$path"
            E2E_CGROUPS+=("$path")
        fi
    done
}

# in_cgroup_bg PATH NS CMD...: runs CMD in NS in the background inside the cgroup v2
# group PATH, registers its pid.
in_cgroup_bg() {
    local group=$1 ns=$2; shift 2
    bash -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$(cgroup2_root)/$group" "$ns" "$@" &
    E2E_PIDS+=($!)
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; fails after SECONDS.
wait_for() {
    local seconds=$1; shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# agent_read_address LOG ADDRESS: the last change of the host's addresses that the agent
# logging to LOG (at -log-level debug) logged lists ADDRESS. Traffic to an address counts
# as the host's only once the agent has read it (every task interval); a test that adds an
# address, or re-creates an interface, waits for this before it sends.
agent_read_address() {
    grep 'msg="local addresses"' "$1" | tail -1 | matches -E "[=,\"]${2//./\\.}([,\"]|\$)"
}

# scrape NS URL: GET URL from inside NS.
scrape() { ip netns exec "$1" curl -sf --max-time 10 "$2"; }

# start_prometheus NS SCRAPE_TARGET PORT [RULE_FILE] [SCRAPE_INTERVAL]: a real Prometheus
# in NS scraping TARGET every SCRAPE_INTERVAL (default 1s), evaluating RULE_FILE's rules
# every second when one is given (pass "" for none). TARGET may list several HOST:PORT
# separated by commas; it returns once each is scraped.
start_prometheus() {
    local ns=$1 target=$2 port=$3 rules=${4:-} interval=${5:-1s}
    local targets="'${target//,/"', '"}'" count
    count=$(tr , '\n' <<<"$target" | grep -c .)
    mkdir -p "$E2E_TMP/prometheus"
    cat > "$E2E_TMP/prometheus/prometheus.yml" <<YAML
global:
  scrape_interval: $interval
  evaluation_interval: 1s
scrape_configs:
  - job_name: planet-exporter
    static_configs:
      - targets: [$targets]
YAML
    [ -z "$rules" ] || printf "rule_files:\n  - '%s'\n" "$rules" >> "$E2E_TMP/prometheus/prometheus.yml"
    promtool check config "$E2E_TMP/prometheus/prometheus.yml" >/dev/null
    in_ns_bg "$ns" prometheus --config.file="$E2E_TMP/prometheus/prometheus.yml" \
        --storage.tsdb.path="$E2E_TMP/prometheus/data" --web.listen-address="127.0.0.1:$port" \
        --log.level=warn
    wait_for 30 scrape "$ns" "http://127.0.0.1:$port/-/ready" || fail "prometheus did not become ready"
    # Ready is not scraping yet: target discovery settles a few seconds later.
    wait_for 30 bash -c "ip netns exec $ns curl -sf http://127.0.0.1:$port/api/v1/query --data-urlencode 'query=count(up == 1) >= $count' | grep -q '\"value\"'" \
        || fail "prometheus never scraped $target"
}

# promql NS PORT QUERY: the result vector of an instant query, as JSON.
promql() {
    ip netns exec "$1" curl -sf --max-time 10 "http://127.0.0.1:$2/api/v1/query" --data-urlencode "query=$3"
}

# start_tcpdump NS IFACE FILE FILTER: a reference capture written packet by packet (-U),
# returned once tcpdump says it is listening; its pid is in TCPDUMP_PID.
start_tcpdump() {
    local ns=$1 iface=$2 file=$3 filter=$4
    in_ns_bg "$ns" tcpdump -i "$iface" -p -n -U -w "$file" "$filter" 2> "$file.log"
    TCPDUMP_PID=${E2E_PIDS[-1]}
    wait_for 10 grep -q "listening on $iface" "$file.log" || { cat "$file.log"; fail "tcpdump did not start"; }
}

# stop_tcpdump: ends the reference capture started by start_tcpdump, flushed.
stop_tcpdump() {
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" 2>/dev/null || true
}

# start_influxdb PORT [NS]: a real InfluxDB 1.x answering on 127.0.0.1:PORT, in NS when
# given (else in this namespace), data in E2E_TMP.
start_influxdb() {
    local port=$1 ns=${2:-} dir="$E2E_TMP/influxdb-$1"
    local -a run=()
    [ -z "$ns" ] || run=(ip netns exec "$ns")
    mkdir -p "$dir"
    cat > "$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
CONF
    "${run[@]}" influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
    E2E_PIDS+=($!)
    wait_for 30 "${run[@]}" curl -fsS --max-time 5 "http://127.0.0.1:$port/ping" \
        || { tail -20 "$dir/influxd.log" >&2; fail "influxd did not start"; }
}

# influxql NS PORT DATABASE QUERY: the JSON answer of an InfluxQL query (POST, so CREATE works too).
influxql() {
    ip netns exec "$1" curl -sf --max-time 20 -XPOST "http://127.0.0.1:$2/query" \
        --data-urlencode "db=$3" --data-urlencode "q=$4"
}

# start_bqemulator NS PORT: the BigQuery emulator (installed by scripts/test, see
# scripts/lib/install.sh) in NS, REST API on 127.0.0.1:PORT, project "test-project".
# It runs in a namespace of its own because it tries to download an optional DuckDB
# extension at start: there the attempt cannot leave the machine.
start_bqemulator() {
    local ns=$1 port=$2
    source "$E2E_ROOT/scripts/lib/install.sh"
    [ -x "$BQEMULATOR_VENV/bin/bqemulator" ] \
        || skip "no BigQuery emulator in $BQEMULATOR_VENV (scripts/test installs it: install_bqemulator in scripts/lib/install.sh)"
    in_ns_bg "$ns" "$BQEMULATOR_VENV/bin/bqemulator" start --rest-host 127.0.0.1 --rest-port "$port" \
        --grpc-host 127.0.0.1 --grpc-port "$((port + 1))" --project test-project --log-level warning \
        >"$E2E_TMP/bqemulator.log" 2>&1
    wait_for 60 scrape "$ns" "http://127.0.0.1:$port/bigquery/v2/projects/test-project/datasets" \
        || { tail -20 "$E2E_TMP/bqemulator.log" >&2; fail "the BigQuery emulator did not start"; }
}

# bq_sql NS PORT SQL: rows of a GoogleSQL query through the emulator's REST API, as JSON
# lists of cell values (null for NULL).
bq_sql() {
    local body
    body=$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "useLegacySql": False}))' "$3")
    ip netns exec "$1" curl -sf --max-time 30 -XPOST -H 'Content-Type: application/json' \
        "http://127.0.0.1:$2/bigquery/v2/projects/test-project/queries" -d "$body" \
        | python3 -c 'import json, sys; print(json.dumps([[c["v"] for c in r["f"]] for r in json.load(sys.stdin).get("rows", [])]))'
}

# debian_root_tar: makes $E2E_DEBIAN_ROOT, the tar of the Debian root below, unless made already.
debian_root_tar() {
    require_cmd mmdebstrap
    [ -s "$E2E_DEBIAN_ROOT.done" ] || bash "$E2E_ROOT/scripts/lib/debian-root.sh" "$E2E_DEBIAN_ROOT" \
        || fail "could not build a Debian root with mmdebstrap (see $E2E_DEBIAN_ROOT.log)"
}

# A clean Debian 12 root from Debian's archive (mmdebstrap), with systemd so a test can
# boot it, made once per run of scripts/test: the first caller builds the tarball at
# E2E_DEBIAN_ROOT (scripts/test starts it early in the background), the others wait for
# it. debian_root DIR unpacks a fresh copy into DIR, its package lists kept for apt.
E2E_DEBIAN_ROOT=${E2E_DEBIAN_ROOT:-/var/tmp/planet-e2e-bookworm.tar}
debian_root() {
    local dir=$1
    require_cmd systemd-nspawn
    debian_root_tar
    mkdir -p "$dir"
    tar -C "$dir" -xf "$E2E_DEBIAN_ROOT"
}

# release_packages: scripts/package once per run of scripts/test and source tree (its log
# beside the Debian root); the packages and the tarball are then in $E2E_ROOT/dist.
release_packages() {
    local tree
    tree=$(git -C "$E2E_ROOT" rev-parse HEAD)-$(git -C "$E2E_ROOT" diff HEAD | sha1sum | cut -c1-12)
    exec 8> "$E2E_DEBIAN_ROOT.packages.lock"
    flock 8
    if [ "$(cat "$E2E_DEBIAN_ROOT.packages" 2>/dev/null)" != "$tree" ] || [ ! -d "$E2E_ROOT/dist" ]; then
        "$E2E_ROOT/scripts/package" > "$E2E_DEBIAN_ROOT.packages.log" 2>&1 \
            || { tail -40 "$E2E_DEBIAN_ROOT.packages.log"; fail "scripts/package failed"; }
        echo "$tree" > "$E2E_DEBIAN_ROOT.packages"
    fi
    exec 8>&-
    PACKAGE_VERSION=$(tr -d ' \n' < "$E2E_ROOT/VERSION")
}

# in_root DIR CMD...: CMD inside the root DIR (not booted), this host's network.
in_root() {
    local dir=$1; shift
    # nspawn's note on leaving a root that is a plain directory is not the command's output.
    systemd-nspawn -q -D "$dir" --register=no --keep-unit --pipe -E DEBIAN_FRONTEND=noninteractive "$@" \
        2> >(grep -v '^Attempted to remove disk file system under' >&2)
}

# boot_root DIR NS: boots systemd in DIR inside network namespace NS, in the background;
# returns once its systemd answers. ROOT_INIT holds the container's PID 1 (as seen here),
# for in_booted.
boot_root() {
    local dir=$1 ns=$2
    systemd-nspawn -q -D "$dir" --register=no --keep-unit --network-namespace-path="/run/netns/$ns" \
        -b > "$E2E_TMP/boot-$(basename "$dir").log" 2>&1 &
    E2E_PIDS+=($!)
    local nspawn=$! deadline=$((SECONDS + 90)) state
    ROOT_INIT=
    while :; do
        ROOT_INIT=$(pgrep -P "$nspawn" | head -1 || true)
        if [ -n "$ROOT_INIT" ]; then
            state=$(timeout 10 nsenter -t "$ROOT_INIT" -a systemctl is-system-running 2>/dev/null || true)
            case $state in running|degraded) return 0 ;; esac
        fi
        [ $SECONDS -lt $deadline ] || { tail -30 "$E2E_TMP/boot-$(basename "$dir").log" >&2; fail "systemd in $dir did not boot (state: ${state:-none})"; }
        sleep 0.5
    done
}

# in_booted CMD...: CMD inside the root booted by boot_root (all its namespaces).
in_booted() { nsenter -t "$ROOT_INIT" -a "$@"; }

# unit_active UNIT: whether UNIT is active in the booted root (for wait_for).
unit_active() { in_booted systemctl is-active --quiet "$1"; }

#!/usr/bin/env bash
# The release artifacts as an operator installs them: scripts/package builds the two Debian
# packages and the tarball (lintian clean); in a clean Debian 12 root from Debian's archive
# apt installs both packages, pulling their libraries through Depends; every binary finds
# every library and prints the version and revision it was built with; the units pass
# systemd-analyze verify and keep their exposure scores; the root boots with systemd in a
# network namespace, where the agent runs under its unit, captures traffic sent to it from
# another namespace and serves /metrics, the federator runs under its unit with its state
# directory and its InfluxDB token from a credential (in neither /proc/PID/cmdline nor its
# log), the BigQuery tool starts under its own; purge leaves none of their files behind.
# The tarball holds the three binaries at its root, as the Go original's role unpacks it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl mmdebstrap systemd-nspawn nsenter tar

log "scripts/package"
release_packages
version=$PACKAGE_VERSION
dist=$E2E_ROOT/dist
for f in "planet-exporter_${version}_amd64.deb" "planet-federator_${version}_amd64.deb" \
    "planet-exporter_v${version}_linux_amd64.tar.gz" "planet-exporter_v${version}_checksums.txt"; do
    [ -s "$dist/$f" ] || fail "dist/$f is missing"
done
(cd "$dist" && sha256sum --quiet -c "planet-exporter_v${version}_checksums.txt") || fail "checksums do not match"
listing=$(tar -tzf "$dist/planet-exporter_v${version}_linux_amd64.tar.gz" | sort | tr '\n' ' ')
[ "$listing" = "LICENSE README.md planet-exporter planet-federator planet-federator-influxdb-to-bq " ] \
    || fail "tarball holds: $listing"
revision=$(sed -n 's/^== building [^ ]* (\(.*\))$/\1/p' "$E2E_DEBIAN_ROOT.packages.log")
[ -n "$revision" ] || fail "scripts/package did not say which revision it built"

log "a clean Debian 12 root; apt installs both packages"
root=$E2E_TMP/root
debian_root "$root"
# Not /tmp: systemd-nspawn mounts a fresh one.
mkdir -p "$root/var/cache/pe-debs"
cp "$dist"/*.deb "$root/var/cache/pe-debs/"
in_root "$root" apt-get install -y -q --no-install-recommends "/var/cache/pe-debs/planet-exporter_${version}_amd64.deb" \
    "/var/cache/pe-debs/planet-federator_${version}_amd64.deb" > "$E2E_TMP/apt.log" 2>&1 || { tail -30 "$E2E_TMP/apt.log"; fail "apt could not install the packages"; }
for lib in libpcap0.8 libsnappy1v5; do
    in_root "$root" dpkg-query -W -f='${Status}\n' "$lib" | matches "install ok installed" || fail "apt did not install $lib through Depends"
done
in_root "$root" dpkg -L planet-exporter planet-federator | sort -u > "$E2E_TMP/files"
for b in planet-exporter planet-federator planet-federator-influxdb-to-bq; do
    in_root "$root" ldd "/usr/bin/$b" > "$E2E_TMP/ldd" 2>&1 || { cat "$E2E_TMP/ldd"; fail "ldd /usr/bin/$b failed"; }
    if matches 'not found' < "$E2E_TMP/ldd"; then cat "$E2E_TMP/ldd"; fail "$b misses a library in a clean root"; fi
    out=$(in_root "$root" "/usr/bin/$b" -version 2>&1 | head -1)
    [[ $out == *"$version"*"$revision"* ]] || fail "$b -version: '$out', expected $version and $revision"
    in_root "$root" "/usr/bin/$b" -h > "$E2E_TMP/help" 2>&1 || fail "$b -h failed"
    matches -- '-log-level' < "$E2E_TMP/help" || fail "$b -h does not list -log-level"
    [ -s "$root/usr/share/man/man1/$b.1.gz" ] || fail "no man page for $b"
    log "$b: $out"
done
for f in /etc/default/planet-exporter /etc/default/planet-federator /etc/default/planet-federator-influxdb-to-bq; do
    in_root "$root" dpkg-query --showformat='${Conffiles}\n' -W planet-exporter planet-federator | matches " $f " \
        || fail "$f is not a conffile"
done

log "systemd-analyze verify and security on the installed units"
units=(planet-exporter.service planet-federator.service planet-federator-influxdb-to-bq.service)
in_root "$root" systemd-analyze verify --man=no "${units[@]/#//lib/systemd/system/}" > "$E2E_TMP/verify" 2>&1 \
    || { cat "$E2E_TMP/verify"; fail "systemd-analyze verify refused an installed unit"; }
# The exposure scores of the units in setup/systemd: 2.4 for the agent (the two socket-table
# capabilities, and capset to keep them to one thread), 1.6 for the federator and the
# BigQuery tool.
for pair in planet-exporter.service:24 planet-federator.service:16 planet-federator-influxdb-to-bq.service:16; do
    unit=${pair%%:*} threshold=${pair##*:}
    in_root "$root" systemd-analyze security --offline=true --threshold="$threshold" "/lib/systemd/system/$unit" \
        > "$E2E_TMP/security" 2>&1 || { tail -3 "$E2E_TMP/security"; fail "$unit: exposure above ${threshold:0:1}.${threshold:1}"; }
    log "$unit: $(tail -1 "$E2E_TMP/security" | sed 's/^→ //')"
done

log "the federator's token as a credential, and settings for a run in the namespace"
# give_credential ROOT UNIT ID VALUE: VALUE in a root-only file /etc/planet-federator/ID of
# the root, handed to UNIT as the systemd credential ID (LoadCredential= in a drop-in).
give_credential() {
    local root=$1 unit=$2 id=$3 value=$4
    mkdir -p "$root/etc/planet-federator" "$root/etc/systemd/system/$unit.d"
    printf '%s\n' "$value" > "$root/etc/planet-federator/$id"
    chmod 0600 "$root/etc/planet-federator/$id"
    printf '[Service]\nLoadCredential=%s:/etc/planet-federator/%s\n' "$id" "$id" > "$root/etc/systemd/system/$unit.d/$id.conf"
}
token=pe-token-$$-$RANDOM
give_credential "$root" planet-federator.service influxdb-token "$token"
cat > "$root/etc/default/planet-federator" <<'EOF'
PLANET_FEDERATOR_FLAGS="-prometheus-addr=http://pe:secret-pass@127.0.0.1:9/ -influxdb-addr=http://127.0.0.1:9 -influxdb-bucket=mothership -influxdb-api=v2 -influxdb-token-file=/run/credentials/planet-federator.service/influxdb-token -listen-address=127.0.0.1:19101"
EOF
echo 'PLANET_EXPORTER_FLAGS="-task-interval=1s"' > "$root/etc/default/planet-exporter"
# The BigQuery tool: its InfluxDB password as a credential too; no BigQuery to reach here.
password=pe-password-$$-$RANDOM
give_credential "$root" planet-federator-influxdb-to-bq.service influxdb-password "$password"
cat > "$root/etc/default/planet-federator-influxdb-to-bq" <<'EOF'
PLANET_FEDERATOR_INFLUXDB_TO_BQ_FLAGS="-influxdb-addr=http://127.0.0.1:9 -influxdb-database=mothership -influxdb-username=pe -influxdb-password-file=/run/credentials/planet-federator-influxdb-to-bq.service/influxdb-password -bq-project-id=pe-test -bq-dataset-id=planet -bq-traffic-table-id=traffic -bq-dependency-table-id=dependency -bq-auth=none"
EOF

A=pe-pkg-a-$$ B=pe-pkg-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.201.0.1/24 "$B" veth-b 10.201.0.2/24
log "booting the root in $A"
boot_root "$root" "$A"
stop_root() { in_booted systemctl poweroff >/dev/null 2>&1 || true; wait_for 30 bash -c "! kill -0 $ROOT_INIT" || true; }

wait_for 30 unit_active planet-exporter.service \
    || { in_booted systemctl status planet-exporter.service --no-pager | tail -20; fail "the agent is not active under its unit after install and boot"; }
# Active comes as systemd forks; the answer, once the agent itself runs.
wait_for 30 scrape "$B" "http://10.201.0.1:19100/-/healthy" || fail "the agent does not answer on 0.0.0.0:19100"
agent_pid=$(in_booted systemctl show -p MainPID --value planet-exporter.service)
[ "$(in_booted awk '/^Uid:/ { print $2 }' "/proc/$agent_pid/status")" != 0 ] || { in_booted cat "/proc/$agent_pid/status" | head -12; fail "the agent (pid $agent_pid) runs as root under its unit"; }
for _ in $(seq 1 20); do scrape "$B" "http://10.201.0.1:19100/-/healthy" >/dev/null; done
wait_for 30 bash -c "ip netns exec $B curl -sf http://10.201.0.1:19100/metrics | grep -q 'planet_traffic_bytes_total{.*remote_ip=\"10.201.0.2\"'" \
    || fail "the agent under its unit does not count the traffic from $B"
scrape "$B" "http://10.201.0.1:19100/metrics" | matches "planet_exporter_build_info{.*version=\"$version\".*revision=\"$revision\"\\|planet_exporter_build_info{.*revision=\"$revision\".*version=\"$version\"" \
    || fail "planet_exporter_build_info does not carry $version and $revision"
# Its state goes to the unit's StateDirectory, saved once at start and then every minute.
wait_for 30 test -s "$root/var/lib/private/planet-exporter/planet-exporter.state" \
    || { ls -la "$root/var/lib/private/" "$root/var/lib/private/planet-exporter" 2>&1; fail "the agent saved no state in its StateDirectory"; }
scrape "$B" "http://10.201.0.1:19100/metrics" | matches '^planet_state_saves_total{result="success"} [1-9]' \
    || fail "planet_state_saves_total does not count the agent's saves under its unit"
log "agent: active as uid $(in_booted awk '/^Uid:/ { print $2 }' "/proc/$agent_pid/status"), counting traffic from $B, state in /var/lib/planet-exporter"

in_booted systemctl restart planet-federator.service
# The root shares namespace A: its loopback is A's.
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19101/metrics | grep -q planet_federator" \
    || { in_booted journalctl -u planet-federator --no-pager | tail -20; fail "the federator does not run under its unit"; }
fed_pid=$(in_booted systemctl show -p MainPID --value planet-federator.service)
in_booted cat "/proc/$fed_pid/cmdline" | tr '\0' ' ' > "$E2E_TMP/cmdline"
in_booted systemctl show planet-federator.service > "$E2E_TMP/show"
in_booted journalctl -u planet-federator.service --no-pager > "$E2E_TMP/journal"
for f in cmdline show journal; do
    if matches -e "$token" < "$E2E_TMP/$f"; then fail "the federator's token shows in its $f"; fi
done
# A password in an address the operator wrote on the command line is theirs to move; the
# log shows it redacted.
if matches -e "secret-pass" < "$E2E_TMP/journal"; then fail "the federator logs a URL's password"; fi
matches -F 'pe:xxxxx@127.0.0.1' < "$E2E_TMP/journal" || fail "the federator's log does not show the redacted address"
matches 'influxdb-token-file' < "$E2E_TMP/cmdline" || fail "the federator's command line lacks the token file: $(cat "$E2E_TMP/cmdline")"
[ -d "$root/var/lib/private/planet-federator" ] || fail "the federator's StateDirectory was not made"
log "federator: active, token from a credential, none of it in cmdline, unit properties or log"

in_booted systemctl start planet-federator-influxdb-to-bq.service
wait_for 20 bash -c "nsenter -t $ROOT_INIT -a journalctl -u planet-federator-influxdb-to-bq --no-pager | grep -q 'msg=\"planet-federator-influxdb-to-bq started\"'" \
    || { in_booted journalctl -u planet-federator-influxdb-to-bq --no-pager | tail; fail "the BigQuery tool did not start under its unit"; }
unit_active planet-federator-influxdb-to-bq.service || fail "the BigQuery tool is not active"
bq_pid=$(in_booted systemctl show -p MainPID --value planet-federator-influxdb-to-bq.service)
in_booted cat "/proc/$bq_pid/cmdline" | tr '\0' ' ' | matches -v -e "$password" || fail "the BigQuery tool's password is on its command line"
log "BigQuery tool: active under its unit, its InfluxDB password from a credential"

log "purge"
in_booted apt-get purge -y -q planet-exporter planet-federator > "$E2E_TMP/purge.log" 2>&1 || { tail "$E2E_TMP/purge.log"; fail "purge failed"; }
stop_root
left=()
# Every file the packages held (directories are shared with other packages).
while read -r f; do
    [ -e "$root$f" ] && [ ! -d "$root$f" ] && left+=("$f")
done < "$E2E_TMP/files"
for d in /usr/share/doc/planet-exporter /usr/share/doc/planet-federator; do
    [ -e "$root$d" ] && left+=("$d")
done
for f in /var/lib/private/planet-federator /var/lib/planet-federator /var/lib/private/planet-exporter \
    /etc/systemd/system/multi-user.target.wants/planet-exporter.service; do
    [ -e "$root$f" ] && left+=("$f")
done
[ ${#left[@]} -eq 0 ] || fail "purge left: ${left[*]}"
log "purge removed every file of both packages"

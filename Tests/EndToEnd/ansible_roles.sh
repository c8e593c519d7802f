#!/usr/bin/env bash
# Upgrading a host from the Go original with its playbook unchanged. A clean Debian 12 root
# gets the Go original's install as its roles leave it: the release tarball unpacked in
# /opt/planet-exporter and /opt/planet-federator with /usr/bin links, the units they render
# (Fixtures/go-original) enabled, and an upstart job; the tarball is this project's, so
# first the Go unit's ExecStart line, verbatim, must start the new binary and serve the
# metrics its flags ask for (stand-ins for darkstat and the inventory). Then ansible-playbook
# runs this project's roles with the Go original's variables inside the booted root (the
# local connection: ansible-core has no chroot or nspawn connection, and inside the root the
# roles meet the root's own systemd and apt as on a server): the agent listens on
# 0.0.0.0:11910 with the darkstat and inventory flags the variables asked for, the
# federator and the BigQuery tool run under the packaged units, the Go files are gone. A
# second run changes nothing; `state: absent` removes everything.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl mmdebstrap systemd-nspawn nsenter tar

release_packages
version=$PACKAGE_VERSION
root=$E2E_TMP/root
debian_root "$root"

log "the Go original's layout, with this release's tarball in it"
for dir in /opt/planet-exporter /opt/planet-federator; do
    mkdir -p "$root$dir"
    cp "$E2E_ROOT/dist/planet-exporter_v${version}_linux_amd64.tar.gz" "$root$dir/"
    tar -C "$root$dir" -xzf "$E2E_ROOT/dist/planet-exporter_v${version}_linux_amd64.tar.gz"
done
ln -s /opt/planet-exporter/planet-exporter "$root/usr/bin/planet-exporter"
ln -s /opt/planet-federator/planet-federator "$root/usr/bin/planet-federator"
ln -s /opt/planet-federator/planet-federator-influxdb-to-bq "$root/usr/bin/planet-federator-influxdb-to-bq"
sed 's|INVENTORY_ADDR|http://127.0.0.1:11580/inventory_hosts.json|' "$E2E_ROOT/Fixtures/go-original/planet-exporter.service" \
    > "$root/etc/systemd/system/planet-exporter.service"
cp "$E2E_ROOT/Fixtures/go-original/planet-federator.service" "$root/etc/systemd/system/"
mkdir -p "$root/etc/init" "$root/etc/systemd/system/multi-user.target.wants"
cp "$E2E_ROOT/Fixtures/go-original/planet-exporter.conf" "$root/etc/init/"
for unit in planet-exporter planet-federator; do
    ln -s "/etc/systemd/system/$unit.service" "$root/etc/systemd/system/multi-user.target.wants/$unit.service"
done
# The tarball's binaries need the libraries a package would have pulled in.
in_root "$root" apt-get install -y -q --no-install-recommends libpcap0.8 libsnappy1v5 > "$E2E_TMP/apt.log" 2>&1 \
    || { tail "$E2E_TMP/apt.log"; fail "could not install the tarball's libraries"; }

log "the playbook: this project's roles, the Go original's variables"
mkdir -p "$root/srv/playbook/files"
cp -r "$E2E_ROOT/setup/ansible-roles" "$root/srv/playbook/roles"
cp "$E2E_ROOT/dist"/*.deb "$root/srv/playbook/files/"
playbook() {
    cat > "$root/srv/playbook/site.yml" <<EOF
- hosts: localhost
  connection: local
  gather_facts: true
  vars:
    planet_exporter_state: $1
    planet_federator_state: $1
    planet_exporter_version: v$version
    planet_exporter_task:
      darkstat:
        enabled: true
        darkstat_addr: 'http://127.0.0.1:11560/metrics'
      inventory:
        enabled: true
        inventory_addr: 'http://127.0.0.1:11580/inventory_hosts.json'
    planet_federator_version: v$version
    planet_federator_config:
      prometheus:
        prometheus_addr: 'http://127.0.0.1:9090'
    planet_federator_influxdbv1_addr: 'http://127.0.0.1:8086'
    planet_federator_influxdbv1_database: 'mothership'
    planet_federator_influxdbv1_username: 'planet-federator'
    planet_federator_influxdbv1_password: 'pe-pass-$$'
    planet_federator_influxdb_to_bq_enabled: true
    planet_federator_bq_project_id: 'test-project'
    planet_federator_bq_dataset_id: 'planet'
    planet_federator_bq_traffic_table_id: 'traffic'
    planet_federator_bq_dependency_table_id: 'dependency'
  roles:
    - planet_exporter
    - planet_federator
EOF
    in_booted env ANSIBLE_ROLES_PATH=/srv/playbook/roles ANSIBLE_NOCOLOR=1 \
        ansible-playbook -i localhost, /srv/playbook/site.yml > "$E2E_TMP/ansible-$1-$2.log" 2>&1 \
        || { tail -40 "$E2E_TMP/ansible-$1-$2.log"; fail "ansible-playbook ($1, run $2) failed"; }
    sed -n 's/^localhost *: //p' "$E2E_TMP/ansible-$1-$2.log"
}

A=pe-ans-a-$$ B=pe-ans-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.202.0.1/24 "$B" veth-b 10.202.0.2/24
log "stand-ins in $A: darkstat on 11560, the inventory on 11580"
mkdir -p "$E2E_TMP/darkstat" "$E2E_TMP/inventory"
cp "$E2E_ROOT/Fixtures/migration/darkstat-metrics.prom" "$E2E_TMP/darkstat/metrics"
echo '[{"ip_address": "10.202.0.2", "domain": "client.example", "hostgroup": "pe-clients"}]' > "$E2E_TMP/inventory/inventory_hosts.json"
in_ns_bg "$A" python3 -m http.server 11560 --bind 127.0.0.1 --directory "$E2E_TMP/darkstat" >/dev/null 2>&1
in_ns_bg "$A" python3 -m http.server 11580 --bind 127.0.0.1 --directory "$E2E_TMP/inventory" >/dev/null 2>&1

log "booting the root in $A: the Go unit runs the new binary"
boot_root "$root" "$A"
agent_metrics() { scrape "$B" "http://10.202.0.1:11910/metrics"; }
# With capture on (its default) the agent counts bytes itself and says once that darkstat,
# which the Go flags enable, is not scraped (docs/upgrading.md).
darkstat_noted() { in_booted journalctl -u planet-exporter.service --no-pager | matches 'darkstat is not scraped'; }
wait_for 40 bash -c "ip netns exec $B curl -sf http://10.202.0.1:11910/metrics | grep -q 'remote_hostgroup=\"pe-clients\"'" \
    || { in_booted systemctl status planet-exporter --no-pager | tail; fail "the Go unit's command line does not run the new agent with inventory labels"; }
wait_for 10 darkstat_noted || fail "the agent does not say what it does with the Go unit's darkstat flags"
agent_metrics | matches 'planet_scrape_collector_success{collector="inventory"} 1' || fail "inventory collector not successful under the Go unit"
in_booted systemctl show -p ExecStart --value planet-exporter.service | matches -- '-task-darkstat-enabled=True' \
    || fail "the Go unit is not the one running"

log "first run: replaces the Go install"
playbook present 1
[ ! -e "$root/opt/planet-exporter" ] && [ ! -e "$root/opt/planet-federator" ] || fail "/opt of the Go original is still there"
[ ! -e "$root/etc/init/planet-exporter.conf" ] || fail "the upstart job is still there"
for f in planet-exporter.service planet-federator.service; do
    [ ! -e "$root/etc/systemd/system/$f" ] || fail "the Go original's $f still shadows the package's"
done
for b in planet-exporter planet-federator planet-federator-influxdb-to-bq; do
    [ -f "$root/usr/bin/$b" ] && [ ! -L "$root/usr/bin/$b" ] || fail "/usr/bin/$b is not the package's file"
done
wait_for 30 unit_active planet-exporter.service || fail "the agent is not active"
# Active comes as systemd forks; the answer, once the agent itself runs.
wait_for 30 scrape "$B" "http://10.202.0.1:11910/-/healthy" || fail "the upgraded agent does not answer on 0.0.0.0:11910"
pid=$(in_booted systemctl show -p MainPID --value planet-exporter.service)
cmdline=$(in_booted cat "/proc/$pid/cmdline" | tr '\0' ' ')
for flag in -listen-address=0.0.0.0:11910 -task-darkstat-enabled=true -task-darkstat-addr=http://127.0.0.1:11560/metrics \
    -task-inventory-enabled=true -task-inventory-addr=http://127.0.0.1:11580/inventory_hosts.json; do
    [[ " $cmdline " == *" $flag "* ]] || fail "the agent runs without $flag: $cmdline"
done
[ "$(in_booted awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" != 0 ] || fail "the agent runs as root"
wait_for 30 bash -c "ip netns exec $B curl -sf http://10.202.0.1:11910/metrics | grep -q 'remote_hostgroup=\"pe-clients\"'" \
    || fail "the upgraded agent does not answer on 0.0.0.0:11910 with inventory labels"
agent_metrics | matches 'planet_capture_packets_total{interface="veth-a"}' || fail "the upgraded agent does not capture"
for unit in planet-federator planet-federator-influxdb-to-bq; do
    wait_for 30 unit_active "$unit.service" \
        || { in_booted journalctl -u "$unit" --no-pager | tail; fail "$unit is not active under its unit"; }
    running() { local pid; pid=$(in_booted systemctl show -p MainPID --value "$unit.service"); in_booted cat "/proc/$pid/cmdline" 2>/dev/null | tr '\0' ' ' | matches "^/usr/bin/$unit "; }
    wait_for 20 running || fail "$unit did not exec its binary"
    pid=$(in_booted systemctl show -p MainPID --value "$unit.service")
    in_booted cat "/proc/$pid/cmdline" | tr '\0' ' ' | matches -v "pe-pass-$$" || fail "$unit has the password on its command line"
done
log "agent on 0.0.0.0:11910 with the Go variables' flags; federator and BigQuery tool active; Go files gone"

log "second run: nothing changes"
recap=$(playbook present 2)
[[ $recap == *"changed=0 "* ]] || fail "the second run changed something: $recap"

log "state: absent"
playbook absent 3 > /dev/null
for pkg in planet-exporter planet-federator; do
    in_booted dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | matches 'install ok installed' && fail "$pkg still installed"
done
for f in /usr/bin/planet-exporter /usr/bin/planet-federator /etc/default/planet-exporter /etc/planet-federator \
    /etc/systemd/system/planet-exporter.service.d /etc/systemd/system/planet-federator.service.d \
    /var/lib/private/planet-federator /var/cache/planet-exporter; do
    [ ! -e "$root$f" ] || fail "state: absent left $f"
done
scrape "$B" "http://10.202.0.1:11910/-/healthy" >/dev/null 2>&1 && fail "the agent still answers after state: absent"
in_booted systemctl poweroff >/dev/null 2>&1 || true
log "state: absent removed the packages, their settings, secrets and state"

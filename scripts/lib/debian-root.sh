#!/usr/bin/env bash
# debian-root.sh OUT.tar: a clean Debian 12 root from Debian's archive, for the tests that
# install the packages or run the Ansible roles in one: minbase, systemd (to boot it with
# systemd-nspawn), ansible-core and python3-apt (to run the roles inside it), its apt lists kept. OUT.tar.done marks it complete;
# OUT.tar.log keeps mmdebstrap's output. Concurrent callers wait for the first one.
set -euo pipefail
out=$1
exec 9> "$out.lock"
flock 9
[ -s "$out.done" ] && exit 0
rm -f "$out" "$out.done"
mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,procps,ansible-core,python3-apt \
    --skip=cleanup/apt/lists bookworm "$out.tmp.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" > "$out.log" 2>&1
mv "$out.tmp.tar" "$out"
date -u +%FT%TZ > "$out.done"

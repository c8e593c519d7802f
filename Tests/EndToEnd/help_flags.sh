#!/usr/bin/env bash
# -h of the three executables in Go's layout: "Usage of NAME:", then "  -flag type" lines
# with no argument-parser forms (--x, --no-x); -h, -help and --help all print it and exit
# 0; every flag of the README's table (the agent) and of docs/federator.md's tables (the
# federator, the BigQuery tool) is listed. -version names the version and revision
# compiled in (PLANET_EXPORTER_VERSION/REVISION when this test is given them).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$E2E_ROOT"

# documented_flags FILE FIRST_LINE LAST_LINE: the flags named in the first column of the
# tables between those lines.
documented_flags() {
    sed -n "$2,$3p" "$1" | grep -E '^\| `-' | cut -d'|' -f2 | grep -oE '`-[a-z0-9.-]+`' | tr -d '`' | sort -u
}

federator_end=$(grep -n '^## planet-federator-influxdb-to-bq' docs/federator.md | cut -d: -f1)
[ -n "$federator_end" ] || fail "docs/federator.md has no planet-federator-influxdb-to-bq section"

checked=0
for name in planet-exporter planet-federator planet-federator-influxdb-to-bq; do
    binary=.build/release/$name
    [ -x "$binary" ] || { log "no $binary: not checked"; continue; }
    for form in -h -help --help; do
        "$binary" "$form" > "$E2E_TMP/$name$form.txt" || fail "$name $form exited $?"
    done
    cmp -s "$E2E_TMP/$name-h.txt" "$E2E_TMP/$name--help.txt" && cmp -s "$E2E_TMP/$name-h.txt" "$E2E_TMP/$name-help.txt" \
        || fail "$name: -h, -help and --help differ"
    help=$E2E_TMP/$name-h.txt
    [ "$(head -1 "$help")" = "Usage of $name:" ] || { head -3 "$help" >&2; fail "$name -h does not start with 'Usage of $name:'"; }
    if grep -E -- '(^| )--[a-z]|--no-' "$help"; then fail "$name -h shows argument-parser forms"; fi
    # Every line is a flag ("  -name [type]") or its help line (four spaces and a tab).
    if grep -vE $'^(Usage of |  -[a-z0-9.-]+( [a-z]+)?$|    \t)' "$help"; then fail "$name -h has lines outside Go's layout"; fi
    case $name in
        planet-exporter) documented=$(documented_flags README.md 1 '$') ;;
        planet-federator) documented=$(documented_flags docs/federator.md 1 "$federator_end") ;;
        *) documented=$(documented_flags docs/federator.md "$federator_end" '$') ;;
    esac
    [ "$(wc -w <<<"$documented")" -ge 10 ] || fail "found only $(wc -w <<<"$documented") documented flags of $name"
    for flag in $documented; do
        grep -qE -- "^  $flag( [a-z]+)?\$" "$help" || fail "$name -h does not list $flag, which the docs name"
    done
    "$binary" -version > "$E2E_TMP/$name.version"
    grep -qE "^$name [^ ]+ \(revision [^ ]+\)\$" "$E2E_TMP/$name.version" || fail "$name -version: $(cat "$E2E_TMP/$name.version")"
    if [ -n "${PLANET_EXPORTER_VERSION:-}" ]; then
        grep -qF "$name $PLANET_EXPORTER_VERSION (revision ${PLANET_EXPORTER_REVISION:-unknown})" "$E2E_TMP/$name.version" \
            || fail "$name -version: $(cat "$E2E_TMP/$name.version"), want $PLANET_EXPORTER_VERSION"
    fi
    log "$name: $(grep -c '^  -' "$help") flags listed, $(wc -w <<<"$documented") documented ones among them; $(cat "$E2E_TMP/$name.version")"
    checked=$((checked + 1))
done
[ "$checked" -gt 0 ] || fail "no binary under .build/release (swift build -c release --static-swift-stdlib)"
echo PASS

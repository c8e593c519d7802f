# Installs Debian packages that are missing; shared by scripts/run-agent and scripts/test.
install_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The BigQuery emulator the end-to-end tests write to (PyPI bqemulator), in its own
# virtualenv. These pins run offline: DuckDB's spatial extension, which the emulator
# loads at start, comes from its wheel instead of DuckDB's download site.
BQEMULATOR_VENV=${BQEMULATOR_VENV:-${XDG_CACHE_HOME:-${HOME:-/var/tmp}/.cache}/planet-exporter/bqemulator-1.4.0}
export BQEMULATOR_VENV
install_bqemulator() {
    local python="$BQEMULATOR_VENV/bin/python"
    local spatial_installed="import duckdb, sys; r = duckdb.sql(\"SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'\").fetchone(); sys.exit(0 if r and r[0] else 1)"
    if [ -x "$BQEMULATOR_VENV/bin/bqemulator" ] && "$python" -c "$spatial_installed" 2>/dev/null; then
        return 0
    fi
    echo "installing: bqemulator 1.4.0 in $BQEMULATOR_VENV"
    python3 -m venv "$BQEMULATOR_VENV"
    "$python" -m pip install -q "bqemulator==1.4.0" "duckdb==1.5.5" "duckdb-extension-spatial==1.5.5" numpy
    "$python" - <<'PY'
import os, duckdb, duckdb_extension_spatial
path = os.path.join(os.path.dirname(duckdb_extension_spatial.__file__), "extensions", "v1.5.5", "spatial.duckdb_extension")
duckdb.sql(f"INSTALL '{path}'")
PY
    "$python" -c "$spatial_installed"
}

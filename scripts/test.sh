#!/usr/bin/env bash
# Runs Limen's whole test suite on this machine, installing what the tests
# need from Debian's packages when it is missing, and starting a throw-away
# PostgreSQL on loopback for the storage tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cargo >/dev/null || { echo "cargo (Rust) is required" >&2; exit 1; }
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
# Debian's Chromium and Node.js for the webcam test in a real browser.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# Real camera servers for the agent: GStreamer's RTSP server (driven from
# Debian's Python) and lighttpd with TLS and Digest authentication.
/usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0')" 2>/dev/null ||
    need_apt+=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good)
[ -e /usr/lib/lighttpd/mod_openssl.so ] || need_apt+=(lighttpd lighttpd-mod-openssl)
# The deployment files' checks: systemd-analyze for the units, and the
# Compose file against its schema with Debian's Python.
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
/usr/bin/python3 -c "import yaml, jsonschema" 2>/dev/null ||
    need_apt+=(python3-yaml python3-jsonschema)
# The Python webhook example runs in a virtual environment.
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# playwright-core drives the system Chromium; it downloads no browser of its
# own. axe-core checks the pages' accessibility inside that browser.
browser_tests=crates/limen/tests/browser
[ -d "$browser_tests/node_modules/playwright-core" ] && [ -d "$browser_tests/node_modules/axe-core" ] ||
    (cd "$browser_tests" && npm ci --no-audit --no-fund --loglevel=error)

# The access-system examples verify with the published Standard Webhooks
# libraries, pinned by lock file and hashes.
[ -d examples/webhook-node/node_modules/standardwebhooks ] ||
    (cd examples/webhook-node && npm ci --no-audit --no-fund --loglevel=error)
examples/webhook-python/.venv/bin/python -c "import standardwebhooks" 2>/dev/null || {
    python3 -m venv examples/webhook-python/.venv
    examples/webhook-python/.venv/bin/pip install --quiet --require-hashes \
        -r examples/webhook-python/requirements.txt
}

# A private PostgreSQL cluster that lives only as long as this script.
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
pg_dir=$(mktemp -d /tmp/limen-pg.XXXXXX)
pg_port=${LIMEN_TEST_PG_PORT:-55432}
chown postgres "$pg_dir"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=200 -c fsync=off" start >/dev/null
trap 'as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pg_dir"' EXIT
export LIMEN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"

cargo test --workspace --locked --no-fail-fast

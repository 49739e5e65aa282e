#!/usr/bin/env bash
# Install what Tongban needs, start the services it talks to, then do one job:
#
#   bash deploy/bootstrap.sh up [tongban up options]   start the sample district network
#   bash deploy/bootstrap.sh test [pytest options]     run the test suite on SQLite and,
#                                                       side by side, on PostgreSQL
#
# Works unattended on a clean clone (CI=true, no input): creates .venv with Python >= 3.11,
# installs the package with its test extras, installs RabbitMQ and PostgreSQL from the
# distribution's packages when they are missing, starts them when they are not running,
# and enables RabbitMQ's management and shovel plugins. Run it as root, or as a user who
# may use sudo without a password.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { printf '[bootstrap] %s\n' "$*" >&2; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: bash deploy/bootstrap.sh up [tongban up options]
       bash deploy/bootstrap.sh test [pytest options]
EOF
  exit 2
}

MODE="${1:-}"
case "$MODE" in
  up|test) shift ;;
  *) usage ;;
esac

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "'$*' needs root (and sudo is not available)"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "cannot install $* (no apt-get): install it by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  say "installing $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# -- Python ---------------------------------------------------------------------------
python_ok() {
  "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

setup_python() {
  if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python \
      || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
    local python
    if ! python="$(find_python)"; then
      apt_install python3 python3-venv python3-pip
      python="$(find_python)" || die "no Python >= 3.11 with venv found"
    fi
    say "creating .venv with $python ($("$python" --version 2>&1))"
    rm -rf .venv
    "$python" -m venv .venv || {
      apt_install python3-venv
      "$python" -m venv .venv
    }
  fi
  # reinstall only when the package's declared requirements changed
  local stamp=.venv/.tongban-install-stamp wanted
  wanted="$(cat setup.cfg pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1) $ROOT"
  if [ ! -x .venv/bin/tongban ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "installing the tongban package and its test extras into .venv"
    .venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
    printf '%s\n' "$wanted" > "$stamp"
  fi
}

# -- RabbitMQ ---------------------------------------------------------------------------
rabbitmq_running() {
  as_root rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1
}

RABBITMQ_FILES=65536
RABBITMQ_MIN_FILES=4000

rabbitmq_file_limit() {
  # "Total: 807, limit: 927" under "File Descriptors" in `rabbitmqctl status`
  as_root rabbitmqctl -q status 2>/dev/null \
    | sed -n 's/.*Total: [0-9]*, limit: \([0-9]*\).*/\1/p' | head -n 1
}

start_rabbitmq() {
  say "starting RabbitMQ"
  local server
  server="$(command -v rabbitmq-server)"
  if [ "$(id -u)" -eq 0 ] && id rabbitmq >/dev/null 2>&1; then
    # Debian's wrapper switches to the rabbitmq user with `su`, which sets the soft file
    # limit back to 1,024: switch ourselves and raise it up to the hard limit first
    su rabbitmq -s /bin/sh -c "ulimit -n $RABBITMQ_FILES 2>/dev/null || ulimit -n \$(ulimit -Hn);
      cd /var/lib/rabbitmq && exec $server -detached" || true  # harmless if already starting
  else
    (ulimit -n "$RABBITMQ_FILES" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
     as_root "$server" -detached) || true
  fi
  local deadline=$((SECONDS + 120))
  until rabbitmq_running; do
    [ "$SECONDS" -lt "$deadline" ] || die "RabbitMQ did not start within 120 s"
    sleep 2
  done
}

setup_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install rabbitmq-server
  fi
  if ! rabbitmq_running; then
    start_rabbitmq
  fi
  # The whole sample district keeps about 800 connections open, and RabbitMQ started
  # with the usual 1,024-file limit gives up near 900 (it raises an alarm, then its
  # queues crash). A broker started with a low limit is restarted with a higher one.
  local limit
  limit="$(rabbitmq_file_limit)"
  if [ -n "$limit" ] && [ "$limit" -lt "$RABBITMQ_MIN_FILES" ]; then
    say "RabbitMQ may open only $limit files; restarting it with a limit of $RABBITMQ_FILES"
    as_root rabbitmqctl -q stop >/dev/null 2>&1 || true
    start_rabbitmq
  fi
  local enabled plugin missing=()
  enabled="$(as_root rabbitmq-plugins -q list -e -m 2>/dev/null || true)"
  for plugin in rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management; do
    grep -qx "$plugin" <<<"$enabled" || missing+=("$plugin")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "enabling RabbitMQ plugins: ${missing[*]}"
    as_root rabbitmq-plugins enable "${missing[@]}" >/dev/null
  fi
}

# -- PostgreSQL --------------------------------------------------------------------------
postgres_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

setup_postgres() {
  if postgres_ready; then
    return 0
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  say "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_postgres
}

wait_postgres() {
  local deadline=$((SECONDS + 60))
  until postgres_ready; do
    [ "$SECONDS" -lt "$deadline" ] || die "PostgreSQL did not start within 60 s"
    sleep 1
  done
}

# Tongban's default PostgreSQL URLs (tests, `tongban up --database-url ...`) connect as
# postgres to 127.0.0.1 without a password and create one database per station.
postgres_sql() {
  PGCONNECT_TIMEOUT=10 psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -X -Atq -c "$1"
}

configure_postgres() {
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  if ! postgres_sql 'SELECT 1' >/dev/null 2>&1; then
    local hba
    hba="$(as_root su postgres -s /bin/sh -c "psql -X -Atq -c 'SHOW hba_file'")" \
      || die "cannot ask PostgreSQL where its pg_hba.conf is"
    say "letting local TCP connections in as postgres without a password ($hba)"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
    as_root su postgres -s /bin/sh -c "psql -X -Atq -c 'SELECT pg_reload_conf()'" >/dev/null
    postgres_sql 'SELECT 1' >/dev/null || die "cannot connect to PostgreSQL at 127.0.0.1:5432 as postgres"
  fi
  # the sample district alone is 128 station databases, each holding up to two idle
  # connections per process that uses it
  local connections
  connections="$(postgres_sql 'SHOW max_connections')"
  if [ "$connections" -lt 1000 ]; then
    say "raising PostgreSQL's max_connections from $connections to 1000 (restarts it)"
    postgres_sql 'ALTER SYSTEM SET max_connections = 1000' >/dev/null
    if command -v pg_ctlcluster >/dev/null 2>&1; then
      local data  # /var/lib/postgresql/<version>/<cluster>
      data="$(postgres_sql 'SHOW data_directory')"
      as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$data")")" \
        "$(basename "$data")" restart || die "could not restart PostgreSQL"
      wait_postgres
    else
      say "warning: restart PostgreSQL yourself for max_connections to take effect"
    fi
  fi
}

setup_python
setup_rabbitmq
setup_postgres
configure_postgres

# -- the browser for the web desk's tests ----------------------------------------------------
# Debian's Chromium, driven by Playwright (its own browser download is not used), and a
# font with Chinese glyphs so the screenshots show the pages as the counters see them
setup_browser() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    missing+=(fonts-wqy-microhei)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

# -- front-end files the desk serves itself (axe-core, ECharts; no CDN) ----------------
setup_frontend() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -f services/web_desk/static/vendor/node_modules/axe-core/axe.min.js ] ||
     [ ! -f services/web_desk/static/vendor/node_modules/echarts/dist/echarts.min.js ]; then
    say "installing the web desk's front-end files (npm ci)"
    (cd services/web_desk/static/vendor && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
setup_frontend

case "$MODE" in
  up)
    exec .venv/bin/tongban up "$@"
    ;;
  test)
    setup_browser
    # the whole suite once per station database, SQLite files and PostgreSQL
    # (TONGBAN_TEST_DATABASES="sqlite" or "postgresql" runs one of them). Both at once, the
    # PostgreSQL pass on a RabbitMQ node of its own (deploy/drills/own_broker.py: the two
    # passes start stations of the same codes, whose queues and broker users must not
    # meet), since one pass leaves much of the machine's two cores idle while it waits for
    # stations; TONGBAN_TEST_SIDE_BY_SIDE=0 runs them one after the other.
    # A hard limit per pass, so that a hung test cannot hold CI for its whole time budget.
    limit="${TONGBAN_TEST_TIMEOUT:-4800}"  # CI gives up at 90 minutes
    run_pass() {  # database, then the command; answers the command's status
      local database=$1; shift
      TONGBAN_TEST_DATABASE="$database" timeout --signal=TERM --kill-after=60 "$limit" "$@"
    }
    judge_pass() {  # database, status, seconds: says how it went; 1 if it failed
      case "$2" in
        0) say "the tests on $1 passed in $3 s"; return 0 ;;
        5) say "pytest collected no tests on $1" ;;
        124) say "the tests on $1 did not finish within $limit s" ;;
        *) say "the tests on $1 FAILED (status $2) after $3 s" ;;
      esac
      return 1
    }
    overall=0
    databases="${TONGBAN_TEST_DATABASES:-sqlite postgresql}"
    if [ "$databases" = "sqlite postgresql" ] && [ "${TONGBAN_TEST_SIDE_BY_SIDE:-1}" != 0 ]; then
      mkdir -p test-output/postgresql
      pg_log=test-output/postgresql-pass.log
      say "running the tests on sqlite, and side by side on postgresql with a broker of its own" \
          "(its output goes to $pg_log and is printed when it ends)"
      started=$SECONDS
      set +e
      TONGBAN_TEST_OUTPUT="$PWD/test-output/postgresql" TONGBAN_SIM_BASE_PORT=19300 \
        run_pass postgresql .venv/bin/python -m deploy.drills.own_broker -- \
        .venv/bin/python -m pytest "$@" > "$pg_log" 2>&1 &
      pg_pid=$!
      run_pass sqlite .venv/bin/python -m pytest "$@"
      sqlite_status=$?
      sqlite_seconds=$((SECONDS - started))
      wait "$pg_pid"
      pg_status=$?
      pg_seconds=$((SECONDS - started))
      set -e
      say "the tests on postgresql, as they ran beside those on sqlite:"
      cat "$pg_log"
      judge_pass sqlite "$sqlite_status" "$sqlite_seconds" || overall=1
      judge_pass postgresql "$pg_status" "$pg_seconds" || overall=1
      exit "$overall"
    fi
    for database in $databases; do
      say "running the tests on $database"
      started=$SECONDS
      set +e
      run_pass "$database" .venv/bin/python -m pytest "$@"
      status=$?
      set -e
      judge_pass "$database" "$status" "$((SECONDS - started))" || overall=1
    done
    exit "$overall"
    ;;
esac

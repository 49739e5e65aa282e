#!/usr/bin/env bash
# A remote village on its own RabbitMQ node, on this machine, linked to the district's node
# with RabbitMQ's own shovel and federation plugins (see deploy/REMOTE_VILLAGE.md).
#
#   deploy/remote-village.sh start VILLAGE_CODE   start the village's node and link it
#   deploy/remote-village.sh stop [--purge]       unlink and stop it (--purge: delete its data)
#   deploy/remote-village.sh cut                  the WAN link goes down
#   deploy/remote-village.sh restore              the WAN link comes back
#   deploy/remote-village.sh status               node, link, shovels, federation, queues
#   deploy/remote-village.sh env                  the settings the village's services need
#
# Then run the village's services against its own node:
#   eval "$(deploy/remote-village.sh env)"; tongban station run VILLAGE_CODE
#
# Settings (environment; `start` remembers them in $RV_BASE/<node>/settings.env):
#   RV_VILLAGE        the village's station code (or the argument of `start`)
#   RV_NODENAME       the village node's name              (tongban_village@localhost)
#   RV_PORT           its AMQP port                        (5673)
#   RV_DIST_PORT      its Erlang distribution port          (25673)
#   RV_LINK_PORT      where the WAN link stand-in listens   (5674)
#   RV_RECONNECT      seconds between a link's attempts to reconnect (5)
#   RV_LINK           proxy: the links go through deploy/wan_link.py, which `cut` stops;
#                     direct: they go straight to the district and `cut` removes them
#   RV_DISTRICT_LINK_URI  the district's node as the links reach it, with any options
#                     (TLS); implies RV_LINK=direct
#   RV_BASE           data, logs and settings               (/var/lib/tongban-remote)
#   TONGBAN_NETWORK   the district's YAML                    (district/data/jiedong.yaml)
#   TONGBAN_AMQP_URI  the district's node                    (amqp://guest:guest@127.0.0.1:5672/)
#   RV_BROKER_SECRETS the broker secrets file with the village's password (see `tongban network
#                     declare`): the village's user st-<code> is made on its own node with it, and
#                     the links log in to the district's node as that user, so the sender the
#                     district's broker validates (AMQP user_id) is the village itself
#
# The district's node is only ever used as a client would: nothing here stops, restarts,
# reconfigures or purges it. The node started here has no management plugin; run it as
# root (the node itself runs as the `rabbitmq` user).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"

RV_NODENAME="${RV_NODENAME:-tongban_village@localhost}"
NODE_SHORT="${RV_NODENAME%@*}"
RV_BASE="${RV_BASE:-/var/lib/tongban-remote}"
STATE="$RV_BASE/$NODE_SHORT"
SETTINGS="$STATE/settings.env"
LINK_PID="$STATE/wan_link.pid"
CUT_MARK="$STATE/link-cut"

die() { echo "remote-village: $*" >&2; exit 1; }
say() { echo "remote-village: $*"; }

# the CLI finds the plugins' commands (shovel_status, federation_status) in the node's own
# plugins file, never in the district node's
ctl() { RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins" rabbitmqctl -q -n "$RV_NODENAME" "$@"; }

load_settings() {
  # remembered settings first, then what the environment says now wins
  local saved_village="" saved_network="" saved_amqp="" saved_port="" saved_dist="" saved_link_port="" saved_link="" saved_link_uri="" saved_secrets=""
  if [ -f "$SETTINGS" ]; then
    # shellcheck disable=SC1090
    saved_village="$(. "$SETTINGS"; echo "${VILLAGE:-}")"
    saved_network="$(. "$SETTINGS"; echo "${NETWORK:-}")"
    saved_amqp="$(. "$SETTINGS"; echo "${DISTRICT_URI:-}")"
    saved_port="$(. "$SETTINGS"; echo "${PORT:-}")"
    saved_dist="$(. "$SETTINGS"; echo "${DIST_PORT:-}")"
    saved_link_port="$(. "$SETTINGS"; echo "${LINK_PORT:-}")"
    saved_link="$(. "$SETTINGS"; echo "${LINK:-}")"
    saved_link_uri="$(. "$SETTINGS"; echo "${OWN_LINK_URI:-}")"
    saved_secrets="$(. "$SETTINGS"; echo "${SECRETS:-}")"
  fi
  SECRETS="${RV_BROKER_SECRETS:-$saved_secrets}"
  VILLAGE="${RV_VILLAGE:-$saved_village}"
  NETWORK="${TONGBAN_NETWORK:-${saved_network:-$ROOT/district/data/jiedong.yaml}}"
  NETWORK="$(cd "$(dirname "$NETWORK")" && pwd)/$(basename "$NETWORK")"
  DISTRICT_URI="${TONGBAN_AMQP_URI:-${saved_amqp:-amqp://guest:guest@127.0.0.1:5672/}}"
  PORT="${RV_PORT:-${saved_port:-5673}}"
  DIST_PORT="${RV_DIST_PORT:-${saved_dist:-25673}}"
  LINK_PORT="${RV_LINK_PORT:-${saved_link_port:-5674}}"
  LINK="${RV_LINK:-${saved_link:-proxy}}"
  RECONNECT="${RV_RECONNECT:-5}"
  VILLAGE_URI="amqp://guest:guest@127.0.0.1:$PORT/"
  # the district's node: host and port out of the URI (amqp://user:pass@host:port/vhost)
  local rest="${DISTRICT_URI#*://}"
  local creds="" hostport="$rest"
  if [[ "$rest" == *@* ]]; then creds="${rest%%@*}@"; hostport="${rest#*@}"; fi
  VILLAGE_USER="" VILLAGE_PASSWORD=""
  if [ -n "$SECRETS" ] && [ -n "$VILLAGE" ]; then
    VILLAGE_USER="st-$VILLAGE"
    VILLAGE_PASSWORD="$(cd "$ROOT" && "$PYTHON" -c 'import sys; from deploy.broker_users import StationSecrets
p = StationSecrets(sys.argv[1]).password_of(sys.argv[2]); print(p or ""); sys.exit(0 if p else 1)' "$SECRETS" "$VILLAGE")" \
      || die "no broker password for $VILLAGE in $SECRETS (run tongban network declare)"
    # the links log in to the district as the village (its passwords are URL-safe)
    creds="$VILLAGE_USER:$VILLAGE_PASSWORD@"
  fi
  local vhost="${hostport#*/}"; [ "$vhost" = "$hostport" ] && vhost=""
  hostport="${hostport%%/*}"
  DISTRICT_HOST="${hostport%:*}"; DISTRICT_PORT="${hostport##*:}"
  [ "$DISTRICT_PORT" = "$hostport" ] && DISTRICT_PORT=5672
  vhost="${vhost%%\?*}"
  # in RabbitMQ's URIs "amqp://host" is the default vhost and "amqp://host/" the empty one
  case "$vhost" in ""|/|%2F|%2f) vhost="" ;; *) vhost="/$vhost" ;; esac
  if [ "$LINK" = proxy ]; then
    LINK_URI="amqp://${creds}127.0.0.1:$LINK_PORT$vhost"
  else
    LINK_URI="amqp://${creds}$DISTRICT_HOST:$DISTRICT_PORT$vhost"
  fi
  # heartbeats let the shovels notice a link that goes silent instead of closing
  LINK_URI="$LINK_URI?heartbeat=10"
  # a link of your own (TLS: amqps://...:5671?cacertfile=...&verify=verify_peer)
  OWN_LINK_URI="${RV_DISTRICT_LINK_URI:-$saved_link_uri}"
  if [ -n "$OWN_LINK_URI" ]; then LINK="direct"; LINK_URI="$OWN_LINK_URI"; fi
}

save_settings() {
  mkdir -p "$STATE"
  cat > "$SETTINGS" <<EOF
VILLAGE='$VILLAGE'
NETWORK='$NETWORK'
DISTRICT_URI='$DISTRICT_URI'
PORT='$PORT'
DIST_PORT='$DIST_PORT'
LINK_PORT='$LINK_PORT'
LINK='$LINK'
OWN_LINK_URI='$OWN_LINK_URI'
SECRETS='$SECRETS'
EOF
}

node_running() { ctl ping >/dev/null 2>&1; }

start_node() {
  if node_running; then
    say "node $RV_NODENAME is running already"
    return
  fi
  [ "$(id -u)" = 0 ] || die "run as root (the node runs as the rabbitmq user)"
  mkdir -p "$STATE/mnesia" "$STATE/log"
  echo '[rabbitmq_shovel,rabbitmq_federation].' > "$STATE/enabled_plugins"
  cat > "$STATE/rabbitmq.conf" <<EOF
# the remote village's own node (deploy/remote-village.sh)
listeners.tcp.local = 127.0.0.1:$PORT
EOF
  cat > "$STATE/rabbitmq-env.conf" <<EOF
ERL_EPMD_ADDRESS=127.0.0.1
export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
  chmod 755 "$RV_BASE"
  chown -R rabbitmq:rabbitmq "$STATE"
  say "starting node $RV_NODENAME (AMQP 127.0.0.1:$PORT, data $STATE)"
  (cd /var/lib/rabbitmq && exec setsid runuser -u rabbitmq -- env \
      HOME=/var/lib/rabbitmq \
      RABBITMQ_NODENAME="$RV_NODENAME" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$PORT" \
      RABBITMQ_DIST_PORT="$DIST_PORT" \
      RABBITMQ_MNESIA_BASE="$STATE/mnesia" \
      RABBITMQ_LOG_BASE="$STATE/log" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins" \
      RABBITMQ_FEATURE_FLAGS_FILE="$STATE/feature_flags" \
      RABBITMQ_CONFIG_FILE="$STATE/rabbitmq.conf" \
      RABBITMQ_CONF_ENV_FILE="$STATE/rabbitmq-env.conf" \
      /usr/lib/rabbitmq/bin/rabbitmq-server) >"$STATE/log/console.log" 2>&1 </dev/null &
  local waited=0
  until node_running; do
    sleep 1; waited=$((waited + 1))
    [ "$waited" -lt 90 ] || die "node $RV_NODENAME did not start; see $STATE/log/"
  done
  ctl await_startup --timeout 90 >/dev/null
  say "node $RV_NODENAME up after ${waited} s"
}

village_user() {
  # the village's own user on its own node, with the password it has at the district
  [ -n "$VILLAGE_USER" ] || return 0
  if ctl list_users --formatter json 2>/dev/null | grep -q "\"$VILLAGE_USER\""; then
    ctl change_password "$VILLAGE_USER" "$VILLAGE_PASSWORD" >/dev/null
  else
    ctl add_user "$VILLAGE_USER" "$VILLAGE_PASSWORD" >/dev/null
  fi
  ctl set_permissions -p / "$VILLAGE_USER" '.*' '.*' '.*' >/dev/null
}

link_pid() {
  # the pid of our WAN link stand-in, if it runs (checked by its command line)
  [ -f "$LINK_PID" ] || return 1
  local pid; pid="$(cat "$LINK_PID")"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "deploy.wan_link --listen 127.0.0.1:$LINK_PORT " || return 1
  echo "$pid"
}

start_link() {
  if [ "$LINK" != proxy ]; then
    apply_links
    rm -f "$CUT_MARK"
    return
  fi
  if link_pid >/dev/null; then
    rm -f "$CUT_MARK"
    return
  fi
  mkdir -p "$STATE/log"
  rm -f "$LINK_PID"
  (cd "$ROOT" && exec setsid "$PYTHON" -m deploy.wan_link --listen "127.0.0.1:$LINK_PORT" \
      --target "$DISTRICT_HOST:$DISTRICT_PORT" --pidfile "$LINK_PID" \
      >>"$STATE/log/wan_link.log" 2>&1 </dev/null) &
  local waited=0
  until link_pid >/dev/null && ss -ltnH "sport = :$LINK_PORT" | grep -q LISTEN; do
    sleep 0.2; waited=$((waited + 1))
    [ "$waited" -lt 50 ] || die "the WAN link stand-in did not start; see $STATE/log/wan_link.log"
  done
  rm -f "$CUT_MARK"
}

stop_link() {
  if [ "$LINK" != proxy ]; then
    clear_links
    touch "$CUT_MARK"
    return
  fi
  local pid
  if pid="$(link_pid)"; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$LINK_PID"
  touch "$CUT_MARK"
}

declare_queues() {
  (cd "$ROOT" && "$PYTHON" -m deploy.remote_village declare --network "$NETWORK" \
      --village "$VILLAGE" --village-uri "$VILLAGE_URI" --district-uri "$DISTRICT_URI")
}

link_definitions() {
  (cd "$ROOT" && "$PYTHON" -m deploy.remote_village links --network "$NETWORK" \
      --village "$VILLAGE" --district-link-uri "$LINK_URI" --reconnect-delay "$RECONNECT")
}

apply_links() {
  local component name definition
  while IFS=$'\t' read -r -u 3 component name definition; do
    case "$component" in
      policy)
        local pattern apply_to priority def
        pattern="$(printf '%s' "$definition" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["pattern"])')"
        apply_to="$(printf '%s' "$definition" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["apply-to"])')"
        priority="$(printf '%s' "$definition" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["priority"])')"
        def="$(printf '%s' "$definition" | "$PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["definition"]))')"
        ctl set_policy --apply-to "$apply_to" --priority "$priority" "$name" "$pattern" "$def" >/dev/null
        ;;
      *) ctl set_parameter "$component" "$name" "$definition" >/dev/null ;;
    esac
  done 3< <(link_definitions)
}

clear_links() {
  # the policy first, so the federation link removes its queue on the district's node
  local component name definition
  while IFS=$'\t' read -r -u 3 component name definition; do
    case "$component" in
      policy) ctl clear_policy "$name" >/dev/null 2>&1 || true ;;
      *) ctl clear_parameter "$component" "$name" >/dev/null 2>&1 || true ;;
    esac
  done 3< <(link_definitions | sort -r -k1,1)  # shovels, the policy, then the upstream it names
}

cmd_start() {
  RV_VILLAGE="${1:-${RV_VILLAGE:-}}"
  load_settings
  [ -n "$VILLAGE" ] || die "which village? deploy/remote-village.sh start VILLAGE_CODE"
  save_settings
  start_node
  village_user
  declare_queues
  start_link
  apply_links
  say "village $VILLAGE linked to the district's node at $DISTRICT_HOST:$DISTRICT_PORT ($LINK link)"
  say "run its services with TONGBAN_AMQP_URI=$VILLAGE_URI"
}

cmd_stop() {
  load_settings
  if node_running; then
    [ -n "$VILLAGE" ] && clear_links
    say "stopping node $RV_NODENAME"
    ctl stop >/dev/null
  fi
  if pid="$(link_pid)"; then kill "$pid" || true; fi
  rm -f "$LINK_PID" "$CUT_MARK"
  if [ "${1:-}" = "--purge" ]; then
    case "$STATE" in /*/*) rm -rf "$STATE" ;; *) die "refusing to delete $STATE" ;; esac
    say "deleted $STATE"
  fi
}

cmd_cut() {
  load_settings
  [ -n "$VILLAGE" ] || die "not started"
  stop_link
  say "link cut ($LINK): the village node keeps its messages until restore"
}

cmd_restore() {
  load_settings
  [ -n "$VILLAGE" ] || die "not started"
  start_link
  say "link restored; the shovels and the federation link reconnect within $RECONNECT s"
}

cmd_status() {
  load_settings
  echo "node      $RV_NODENAME: $(node_running && echo running || echo stopped)  (AMQP $VILLAGE_URI)"
  echo "village   ${VILLAGE:-?}  network $NETWORK"
  if [ -f "$CUT_MARK" ]; then echo "link      CUT ($LINK)"
  elif [ "$LINK" = proxy ]; then
    if pid="$(link_pid)"; then echo "link      up (wan_link pid $pid, 127.0.0.1:$LINK_PORT -> $DISTRICT_HOST:$DISTRICT_PORT)"
    else echo "link      DOWN (wan_link not running)"; fi
  else echo "link      direct to $DISTRICT_HOST:$DISTRICT_PORT"; fi
  if node_running; then
    echo "--- links"
    { ctl shovel_status --formatter json 2>/dev/null || echo '[]'; } \
      | (cd "$ROOT" && "$PYTHON" -m deploy.remote_village describe-links) || true
    { ctl federation_status --formatter json 2>/dev/null || echo '[]'; } \
      | (cd "$ROOT" && "$PYTHON" -m deploy.remote_village describe-links) || true
  fi
  if [ -n "$VILLAGE" ]; then
    echo "--- queues"
    (cd "$ROOT" && "$PYTHON" -m deploy.remote_village depths --network "$NETWORK" \
        --village "$VILLAGE" --village-uri "$VILLAGE_URI" --district-uri "$DISTRICT_URI") || true
  fi
}

cmd_env() {
  load_settings
  echo "export TONGBAN_AMQP_URI='$VILLAGE_URI'"
  echo "export TONGBAN_NETWORK='$NETWORK'"
}

command="${1:-}"; shift || true
case "$command" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  cut) cmd_cut ;;
  restore) cmd_restore ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac

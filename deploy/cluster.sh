#!/usr/bin/env bash
# The service past one machine, on one machine: a PostgreSQL primary and a streaming replica
# (a second cluster made with pg_basebackup), PgBouncer in transaction pooling in front of the
# primary, N app servers (gunicorn), and HAProxy in front of them routing on /readyz. Every
# part listens on a loopback port and runs from Debian's packages (installed when missing).
#
#   deploy/cluster.sh up [N]        start it all (N app servers, default 3); prints the HAProxy
#                                   URL and a MasterApp token
#   deploy/cluster.sh status        each part's state and the replica's lag
#   deploy/cluster.sh down          stop what `up` started (by PID) and remove its data
#   deploy/cluster.sh app stop|start I    stop (gracefully) or start app server I
#
# Settings (environment): CLUSTER_DIR (/tmp/loyalty-cluster), CLUSTER_PGBOUNCER (1; 0 connects
# the app servers to the primary directly), CLUSTER_WORKERS (gunicorn workers per app server,
# 2), and the ports CLUSTER_PRIMARY_PORT (55432), CLUSTER_REPLICA_PORT (55433),
# CLUSTER_PGBOUNCER_PORT (56432), CLUSTER_APP_PORT_BASE (58000: app I on 58000+I),
# CLUSTER_HAPROXY_PORT (58080).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${CLUSTER_DIR:-/tmp/loyalty-cluster}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PRIMARY_PORT=${CLUSTER_PRIMARY_PORT:-55432}
REPLICA_PORT=${CLUSTER_REPLICA_PORT:-55433}
BOUNCER_PORT=${CLUSTER_PGBOUNCER_PORT:-56432}
APP_PORT_BASE=${CLUSTER_APP_PORT_BASE:-58000}
HAPROXY_PORT=${CLUSTER_HAPROXY_PORT:-58080}
USE_PGBOUNCER=${CLUSTER_PGBOUNCER:-1}
WORKERS=${CLUSTER_WORKERS:-2}
DB=loyalty
PY=$ROOT/.venv/bin/python
PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/$DB"
REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/$DB"
BOUNCER_URL="postgres://postgres@127.0.0.1:$BOUNCER_PORT/$DB"
# The database's own bounds on every session: behind PgBouncer's transaction pooling the app
# cannot set them per connection (the same numbers as the app's defaults).
SESSION_BOUNDS="statement_timeout=5000 lock_timeout=100 idle_in_transaction_session_timeout=10000"

# PostgreSQL and PgBouncer refuse to run as root: as root, run them as the postgres user.
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
give_postgres() { if [ "$(id -u)" = 0 ]; then chown postgres "$@"; fi; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
psql_at() { psql -h 127.0.0.1 -p "$1" -U postgres -d "${3:-$DB}" -Atqc "$2"; }

install_missing() {
    local missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v pgbouncer >/dev/null || missing+=(pgbouncer)
    [ -x "$PG_BIN/pg_ctl" ] || missing+=(postgresql-15)
    command -v psql >/dev/null || missing+=(postgresql-client-15)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing ${missing[*]}"
        apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
    fi
    make -s venv-runtime
}

app_env() {  # the environment of every app server and management command
    export SECRET_KEY=${SECRET_KEY:-cluster-secret-key-for-loopback-testing-only-0123456789}
    export LEDGER_SIGNING_KEY=${LEDGER_SIGNING_KEY:-c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1}  # loopback testing only
    export DEBUG=0 ALLOWED_HOSTS=* STATIC_ROOT=$DIR/static CONN_MAX_AGE=600 GUNICORN_ACCESS_LOG=
    export REQUEST_LOG_LEVEL=${REQUEST_LOG_LEVEL:-WARNING} THROTTLE_APPLICATION_RATE= THROTTLE_CUSTOMER_RATE=
    export DATABASE_REPLICA_URL=$REPLICA_URL
    if [ "$USE_PGBOUNCER" = 1 ]; then
        export DATABASE_URL=$BOUNCER_URL DB_TRANSACTION_POOLING=1
    else
        export DATABASE_URL=$PRIMARY_URL DB_TRANSACTION_POOLING=0
    fi
}

wait_http() {  # url what [log file]
    for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "$2 did not answer at $1 within 30 s; logs in $DIR/log"
    [ -n "${3:-}" ] && [ -f "$3" ] && { echo "last lines of $3:"; tail -n 30 "$3"; }
    return 1
}

# A part that cannot bind its port fails in the background (or, worse, a stale server of an
# earlier run answers in its place): refuse to start unless every port is free.
ports_free() {
    local port busy=()
    for port in "$@"; do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && busy+=("$port"); done
    [ ${#busy[@]} -eq 0 ] && return 0
    echo "ports in use: ${busy[*]}; stop what holds them or choose other ports (CLUSTER_*_PORT)"
    command -v ss >/dev/null && for port in "${busy[@]}"; do ss -Hltnp "sport = :$port"; done
    return 1
}

start_postgres() {  # name port
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/$1" -l "$DIR/log/$1.log" -w -o "-p $2" start >/dev/null
}

app_start() {
    local i=$1 port=$((APP_PORT_BASE + $1))
    app_env
    (
        cd "$ROOT"
        GUNICORN_BIND=127.0.0.1:$port GUNICORN_WORKERS=$WORKERS exec .venv/bin/gunicorn -c gunicorn.conf.py \
            --pid "$DIR/run/app$i.pid" rewards_project.wsgi:application
    ) >>"$DIR/log/app$i.log" 2>&1 &
    wait_http "http://127.0.0.1:$port/readyz" "app server $i" "$DIR/log/app$i.log"
}

app_stop() {  # graceful: gunicorn stops taking connections and finishes what it has
    local pidfile=$DIR/run/app$1.pid
    alive "$pidfile" || return 0
    local pid
    pid=$(cat "$pidfile")
    kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

up() {
    local apps=${1:-3}
    [ -e "$DIR/state" ] && { echo "Already up ($DIR/state); run: deploy/cluster.sh down"; exit 1; }
    local app_ports=()
    for i in $(seq 1 "$apps"); do app_ports+=($((APP_PORT_BASE + i))); done
    ports_free "$PRIMARY_PORT" "$REPLICA_PORT" "$HAPROXY_PORT" "${app_ports[@]}" \
        $([ "$USE_PGBOUNCER" = 1 ] && echo "$BOUNCER_PORT")
    install_missing
    mkdir -p "$DIR"/{run,log,static}
    chmod 755 "$DIR"
    give_postgres "$DIR/run" "$DIR/log"
    echo "apps=$apps pgbouncer=$USE_PGBOUNCER" >"$DIR/state"

    echo "primary PostgreSQL on :$PRIMARY_PORT"
    mkdir -p "$DIR/primary" "$DIR/replica"
    chmod 700 "$DIR/primary" "$DIR/replica"
    give_postgres "$DIR/primary" "$DIR/replica"
    as_postgres "$PG_BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust -E UTF8 >"$DIR/log/initdb.log"
    cat >>"$DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/run'
max_connections = 200
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby = on
CONF
    start_postgres primary "$PRIMARY_PORT"
    psql_at "$PRIMARY_PORT" "CREATE DATABASE $DB" postgres
    for bound in $SESSION_BOUNDS; do psql_at "$PRIMARY_PORT" "ALTER DATABASE $DB SET ${bound%%=*} = ${bound#*=}" postgres; done
    # Django would SET it per connection otherwise; PgBouncer would then replay it per transaction.
    psql_at "$PRIMARY_PORT" "ALTER DATABASE $DB SET timezone = 'UTC'" postgres

    app_env
    DATABASE_URL=$PRIMARY_URL DB_TRANSACTION_POOLING=0 "$PY" manage.py migrate --no-input -v 0
    "$PY" manage.py collectstatic --no-input -v 0

    echo "streaming replica on :$REPLICA_PORT (pg_basebackup)"
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/replica" -R -X stream \
        -c fast >"$DIR/log/basebackup.log" 2>&1
    start_postgres replica "$REPLICA_PORT"

    if [ "$USE_PGBOUNCER" = 1 ]; then
        echo "PgBouncer (transaction pooling) on :$BOUNCER_PORT"
        cat >"$DIR/pgbouncer.ini" <<INI
[databases]
$DB = host=127.0.0.1 port=$PRIMARY_PORT dbname=$DB
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $DIR/run
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
server_reset_query =
pidfile = $DIR/run/pgbouncer.pid
logfile = $DIR/log/pgbouncer.log
INI
        echo '"postgres" ""' >"$DIR/userlist.txt"
        give_postgres "$DIR/pgbouncer.ini" "$DIR/userlist.txt"
        as_postgres pgbouncer -d "$DIR/pgbouncer.ini"
        for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p "$BOUNCER_PORT" -d "$DB" && break; sleep 0.1; done
        pg_isready -q -h 127.0.0.1 -p "$BOUNCER_PORT" -d "$DB" \
            || { echo "PgBouncer did not start; last lines of its log:"; tail -n 30 "$DIR/log/pgbouncer.log"; exit 1; }
    fi

    echo "$apps app servers on :$((APP_PORT_BASE + 1))-:$((APP_PORT_BASE + apps)) ($WORKERS workers each)"
    for i in $(seq 1 "$apps"); do app_start "$i"; done

    echo "HAProxy on :$HAPROXY_PORT"
    {
        # Timeouts, buffering and JSON errors: the edge shared with make serve and compose.
        cat <<CFG
frontend api
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend apps
backend apps
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server check inter 1s fall 2 rise 2
CFG
        for i in $(seq 1 "$apps"); do echo "    server app$i 127.0.0.1:$((APP_PORT_BASE + i))"; done
    } >"$DIR/haproxy.cfg"
    HAPROXY_ERRORS="$ROOT/deploy/haproxy/errors" \
        haproxy -f "$ROOT/deploy/haproxy/edge.cfg" -f "$DIR/haproxy.cfg" -D -p "$DIR/run/haproxy.pid"
    wait_http "http://127.0.0.1:$HAPROXY_PORT/readyz" HAProxy

    local token
    token=$(DATABASE_URL=$PRIMARY_URL DB_TRANSACTION_POOLING=0 "$PY" manage.py create_master_app --name ClusterMaster \
        | grep -Eo '[A-Za-z0-9_-]{40,}' | head -1 || true)
    echo
    echo "HAProxy:         http://127.0.0.1:$HAPROXY_PORT"
    echo "MasterApp token: ${token:-"(already created earlier)"}"
    echo "Primary:         $PRIMARY_URL  (migrations, check_ledger: DATABASE_URL=this)"
}

status() {
    [ -e "$DIR/state" ] || { echo "not up"; return 1; }
    local state=0
    part() {  # name ok?
        if [ "$2" = 0 ]; then echo "  $1: up"; else echo "  $1: DOWN"; state=1; fi
    }
    pg_isready -q -h 127.0.0.1 -p "$PRIMARY_PORT"; part "primary :$PRIMARY_PORT" $?
    pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; part "replica :$REPLICA_PORT" $?
    if grep -q "pgbouncer=1" "$DIR/state"; then alive "$DIR/run/pgbouncer.pid"; part "pgbouncer :$BOUNCER_PORT" $?; fi
    local apps
    apps=$(sed -E 's/.*apps=([0-9]+).*/\1/' "$DIR/state")
    for i in $(seq 1 "$apps"); do
        curl -sf -o /dev/null "http://127.0.0.1:$((APP_PORT_BASE + i))/readyz"; part "app$i :$((APP_PORT_BASE + i))" $?
    done
    alive "$DIR/run/haproxy.pid"; part "haproxy :$HAPROXY_PORT" $?
    echo "  replication (on the primary): $(psql_at "$PRIMARY_PORT" \
        "SELECT string_agg(state || ', ' || pg_wal_lsn_diff(sent_lsn, replay_lsn) || ' bytes behind, replay lag '
                || COALESCE(replay_lag::text, '0'), '; ') FROM pg_stat_replication" 2>/dev/null || echo unknown)"
    echo "  replica lag (on the replica): $(psql_at "$REPLICA_PORT" \
        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END || ' s'" 2>/dev/null || echo unknown)"
    return $state
}

down() {
    [ -d "$DIR" ] || { echo "nothing to stop"; return 0; }
    alive "$DIR/run/haproxy.pid" && kill "$(cat "$DIR/run/haproxy.pid")"
    for pidfile in "$DIR"/run/app*.pid; do
        [ -e "$pidfile" ] && app_stop "$(basename "$pidfile" .pid | sed 's/app//')"
    done
    alive "$DIR/run/pgbouncer.pid" && kill "$(cat "$DIR/run/pgbouncer.pid")"
    for name in replica primary; do
        [ -f "$DIR/$name/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$DIR/$name" -m fast -w stop >/dev/null
    done
    rm -rf "$DIR"
    echo "down; $DIR removed"
}

case "${1:-}" in
    up) up "${2:-3}" ;;
    status) status ;;
    down) down ;;
    app)
        case "${2:-}" in
            stop) app_stop "$3" ;;
            start) app_start "$3" ;;
            *) echo "usage: $0 app stop|start I"; exit 2 ;;
        esac
        ;;
    *) echo "usage: $0 up [N] | status | down | app stop|start I"; exit 2 ;;
esac

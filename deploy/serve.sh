#!/usr/bin/env bash
# `make serve`: gunicorn (gunicorn.conf.py) on a Unix socket, behind HAProxy on HOST:PORT
# (deploy/haproxy/edge.cfg), so no client ever talks to a sync worker directly: a slow or
# stalled client costs HAProxy a connection, never a worker. Runs in the foreground; Ctrl-C
# or SIGTERM stops both. HAProxy comes from Debian's package (installed when missing, as root).
#
#   HOST (127.0.0.1), PORT (8000): where HAProxy listens; HOST=0.0.0.0 for every interface.
#   SERVE_RUN_DIR (.run/serve-PORT): the folder of gunicorn's socket and its control socket
#   (gunicornc -s SERVE_RUN_DIR/gunicorn.ctl).  PYTHON (.venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
PY=${PYTHON:-$ROOT/.venv/bin/python}
RUN_DIR=${SERVE_RUN_DIR:-$ROOT/.run/serve-$PORT}

if ! command -v haproxy >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing haproxy (Debian's package)"
        apt-get install -y -qq haproxy >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }
    else
        echo "make serve needs HAProxy in front of gunicorn: sudo apt-get install haproxy" >&2
        exit 1
    fi
fi

mkdir -p "$RUN_DIR"
socket="$RUN_DIR/gunicorn.sock"
rm -f "$socket"

pids=()
stop() {
    trap - EXIT INT TERM
    [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
    wait || true
}
trap stop EXIT
trap 'exit 143' INT TERM

GUNICORN_BIND="unix:$socket" GUNICORN_CONTROL_SOCKET="$RUN_DIR/gunicorn.ctl" "$PY" -m gunicorn -c gunicorn.conf.py rewards_project.wsgi:application &
pids+=($!)
for _ in $(seq 1 300); do
    [ -S "$socket" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || { echo "gunicorn did not start" >&2; exit 1; }
    sleep 0.1
done
[ -S "$socket" ] || { echo "gunicorn did not open $socket within 30 s" >&2; exit 1; }

EDGE_BIND="$HOST:$PORT" APP_SERVER="unix@$socket" HAPROXY_ERRORS="$ROOT/deploy/haproxy/errors" \
    haproxy -db -f deploy/haproxy/edge.cfg -f deploy/haproxy/serve.cfg &
pids+=($!)
echo "Serving on http://$HOST:$PORT (HAProxy in front of gunicorn on $socket)"
if [ "${SESSION_COOKIE_SECURE:-1}" != 0 ] && [ "${SESSION_COOKIE_SECURE:-1}" != false ]; then
    echo "Admin's cookies are HTTPS-only: put TLS in front, or for a plain-http trial set SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0"
fi
# Whichever stops first (a crash, a signal) stops the other.
wait -n

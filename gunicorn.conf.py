"""gunicorn settings shared by the container and the benchmark; each can be overridden by env."""

import gc
import json
import multiprocessing
import os

from gunicorn import util

bind = os.environ.get("GUNICORN_BIND") or "0.0.0.0:8000"
# 2 x CPU + 1, capped at 8: each worker keeps one PostgreSQL connection (CONN_MAX_AGE), and
# workers x app servers must stay below PostgreSQL's max_connections (100 by default)
# unless PgBouncer sits in between.
workers = int(os.environ.get("GUNICORN_WORKERS") or min(multiprocessing.cpu_count() * 2 + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak can never take a worker down. The app is
# loaded once, in the master, before the workers fork: a recycled worker is a fork of a
# loaded process (milliseconds), not a second of importing Django while the others carry
# its load. Nothing opens a database connection at import, so no worker inherits one.
preload_app = True
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 10000)
max_requests_jitter = 1000


def pre_fork(server, worker) -> None:
    """Before each fork, the loaded app's objects (about 130,000) leave the garbage collector's
    reach (``gc.freeze``): a worker's full collection then walks only what it made itself
    (0.5 ms instead of 50-80 ms, a stall of every request queued behind it), and never writes
    to the pages it shares with the master, so they stay shared."""
    gc.freeze()


# The application logs every request once, with its request id and app id
# (core/logging.py); gunicorn's access log is off unless asked for.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# No query string in the access log line: it is where careless clients put secrets.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (for gunicornc) defaults to one path per user, ~/.gunicorn/ or
# $XDG_RUNTIME_DIR, shared by every gunicorn that user runs: it is opened only where asked
# (GUNICORN_CONTROL_SOCKET; `make serve` puts it in its run folder), else not at all.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# The longest request line gunicorn allows (default 4094): a long query string is the
# application's to refuse, with its JSON 400.
limit_request_line = 8190


def _json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own refusals (a request it cannot parse, a request line over the limit)
    in the API's JSON error shape instead of its HTML page."""
    body = json.dumps(
        {
            "success": False,
            "error": {"code": reason.lower().replace(" ", "_").replace("-", "_"), "message": reason, "fields": {}},
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


util.write_error = _json_error

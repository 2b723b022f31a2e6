"""Request logging: one line per request, with a request id, and never a secret.

The line carries the method, the path (no query string), the status, the duration,
the request id and the calling application's id. Headers and bodies are never
logged, so no token can reach a log through this line.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("rewards.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only if it is short and plain, so it cannot smuggle text into logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_from(request: HttpRequest) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = request_id_from(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        duration_ms = (time.perf_counter() - started) * 1000
        logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra={
                "request_id": request.request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration_ms, 2),
                # Set by AppTokenAuthentication on the Django request DRF wraps.
                "app_id": _app_id(request),
            },
        )
        return response


def _app_id(request: HttpRequest) -> str | None:
    app = getattr(request, "api_app", None)
    return str(app.pk) if app is not None else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for log shippers."""

    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "app_id")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in self.FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# What could end a line, draw or move the cursor, or be read back as an escape: the C0 and C1
# controls, DEL, the Unicode line and paragraph separators, and the backslash itself.
_UNSAFE_IN_A_LINE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    char = match[0]
    return "\\\\" if char == "\\" else char.encode("unicode_escape").decode("ascii")


def log_safe(text: str) -> str:
    """``text`` fit for one log line: a client's ``%0A`` in a path cannot start a forged line
    and its ``%1B[31m`` cannot colour a terminal; they read ``\\n`` and ``\\x1b[31m``, and a
    backslash the client sent reads ``\\\\``, so an escape is never ambiguous."""
    return _UNSAFE_IN_A_LINE.sub(_escaped, text) if _UNSAFE_IN_A_LINE.search(text) else text


class PlainFormatter(logging.Formatter):
    """Human lines, one per record: its message escaped (``log_safe``: a path, a code, any text
    a client sent cannot break the line); a traceback after it keeps its lines. Request lines
    get their id and app appended."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        safe = log_safe(message)
        if safe is not message:
            # A copy: another handler of the same record formats the original.
            record = logging.makeLogRecord({**record.__dict__, "msg": safe, "args": None})
        line = super().format(record)
        if hasattr(record, "request_id"):
            line += f" request_id={record.request_id} app_id={record.app_id or '-'}"
        return line

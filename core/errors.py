"""One error shape for the whole API (docs/API.md, Errors).

Every failure on an API path answers
``{"success": false, "error": {"code": ..., "message": ..., "fields": {...}}}``.
Services raise :class:`DomainError` subclasses; DRF's own exceptions and Django's
``Http404``/``PermissionDenied``/``ValidationError`` are translated here too.
"""

import logging
import posixpath
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from core.exceptions import DomainError
from core.validation import plain_errors

logger = logging.getLogger(__name__)


INTERNAL_ERROR_MESSAGE = "An unexpected error occurred. It has been logged."


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(status_code: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    """A plain-Django JSON error, for paths that never reach a DRF view."""
    return JsonResponse(error_body(code, message, fields), status=status_code)


RETRY_AFTER_SECONDS = "5"
QUERY_CANCELED = "57014"  # statement_timeout
LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout: another transaction holds the row

# DRF exception class -> our machine code. Anything else keeps DRF's own code.
_DRF_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: every error becomes the API's error body (docs/API.md, Errors)."""
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))

    if isinstance(exc, OperationalError | InterfaceError):
        # The database is down, unreachable, or cancelled a statement that waited too
        # long: the transaction was rolled back, nothing was written, a retry is safe.
        set_rollback()
        view = context.get("view").__class__.__name__
        pgcode = getattr(exc.__cause__, "pgcode", None)
        if pgcode == LOCK_NOT_AVAILABLE:
            logger.warning("Row busy in %s: %s", view, exc)
            body = error_body(
                "resource_busy", "Another operation is changing these points; nothing was written. Retry shortly."
            )
            return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})
        if pgcode == QUERY_CANCELED:
            logger.warning("Database timeout in %s: %s", view, exc)
            body = error_body("database_timeout", "The database took too long; nothing was written. Retry.")
        else:
            logger.error("Database unavailable in %s: %s", view, exc)
            body = error_body(
                "database_unavailable", "The service cannot reach its database; nothing was written. Retry."
            )
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS})

    if not isinstance(exc, exceptions.APIException):
        # A bug, not a client error: log it whole, tell the client nothing of it.
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        set_rollback()
        return Response(
            error_body("internal_error", INTERNAL_ERROR_MESSAGE),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    set_rollback()
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    code = _DRF_CODES.get(type(exc)) or next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body(code, "Invalid input.", plain_errors(detail)),
            status=exc.status_code,
            headers=headers,
        )
    return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)


def is_api_request(request: HttpRequest) -> bool:
    """A request to the API (``/rewards-api/…``, ``/loyalty-api/…``), not to the site.

    A path with doubled slashes or dot segments (``//rewards-api/…``, ``/./rewards-api/…``)
    is judged as a browser would read it, so its 404 is JSON too."""
    try:
        return request.is_api_request
    except AttributeError:
        pass  # the first ask of this request: every layer of the middleware asks again
    path = request.path
    if "//" in path or "/." in path:
        path = posixpath.normpath(re.sub(r"/{2,}", "/", path)) + ("/" if path.endswith("/") else "")
    prefixes = settings.API_PATH_PREFIXES
    request.is_api_request = path.startswith(prefixes) or f"{path}/" in prefixes
    return request.is_api_request


# Django's handlers for errors raised outside DRF views: JSON on API paths, the
# usual HTML pages elsewhere (admin).
def json_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return error_response(404, "not_found", f"No endpoint at {request.path}.")
    return defaults.page_not_found(request, exception)


@csrf_exempt
def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The catch-all route under the API prefixes: a JSON 404 for any method.

    Exempt from CSRF like the API views themselves, or a POST to a mistyped path
    would meet Django's HTML CSRF page instead.
    """
    return json_not_found(request, exception)


PLAIN_HTTP_ADMIN_HINT = (
    "This site's cookies are sent over HTTPS only, and this page came over plain HTTP. Serve it over "
    "HTTPS (behind a TLS proxy: SECURE_PROXY_SSL_HEADER=true), or for a trial on this machine set "
    "SESSION_COOKIE_SECURE=0 and CSRF_COOKIE_SECURE=0."
)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: JSON on API paths (which never use cookies), Django's page elsewhere.

    The usual first failure of admin in production mode is plain HTTP with secure cookies: the
    browser never sends the CSRF cookie back. That one is said in one line, with the settings."""
    if is_api_request(request):
        return error_response(403, "csrf_failed", "CSRF verification failed.")
    if not request.is_secure() and settings.CSRF_COOKIE_SECURE:
        logger.warning("Admin login over plain HTTP with secure cookies: %s", PLAIN_HTTP_ADMIN_HINT)
        return HttpResponse(f"<h1>Forbidden (403)</h1><p>{PLAIN_HTTP_ADMIN_HINT}</p>", status=403)
    return csrf.csrf_failure(request, reason)


def json_server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return error_response(500, "internal_error", INTERNAL_ERROR_MESSAGE)
    return defaults.server_error(request)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return error_response(400, "bad_request", "Bad request.")
    return defaults.bad_request(request, exception)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return error_response(403, "permission_denied", "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)

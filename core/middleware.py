"""The request's edge: what is refused or answered before any view runs.

- ``charset_guard`` (WSGI) and ``RequestGuardMiddleware`` turn a Content-Type charset
  this service does not read into a JSON 415. Django would otherwise fail while
  building the request (``charset=base64`` decodes the query string with a bytes
  codec) and the server would answer its own HTML 500.
- API bodies: over the size limit is 413 before anything reads them; a chunked body
  (no Content-Length) is read here, within the same limit, so the view sees it.
- ``HealthCheckMiddleware`` answers ``/healthz`` and ``/readyz`` first, whatever the
  Host header (load balancers and container health checks call by IP).
- An API request whose Host is not in ``ALLOWED_HOSTS`` is a JSON 400 here, in DEBUG too
  (where Django would answer its HTML debug page).
- Sessions, CSRF, the auth user and messages serve the site (admin, the docs); API
  requests authenticate with tokens, never cookies, and skip them (``SiteOnly``).
- CORS headers are django-cors-headers', added without building ``request.headers`` for a
  request that names no Origin (``OriginCorsMiddleware``).
"""

import codecs
import io
import json
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

from corsheaders.middleware import CorsMiddleware
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_header_parameters

from core import health
from core.errors import INTERNAL_ERROR_MESSAGE, error_body, error_response, is_api_request

logger = logging.getLogger(__name__)

UNSUPPORTED_CHARSET = "rewards.unsupported_charset"
HEALTH_PATHS = ("/healthz", "/readyz")


# JSON is UTF-8; these ASCII-compatible charsets are read too. Anything else (a bytes codec
# such as base64, a text codec that fails on ordinary input such as "undefined", "idna" or
# "punycode", or UTF-16, under which the query string would not read) is a 415.
SUPPORTED_CHARSETS = frozenset({"utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252"})


def is_supported_charset(name: str) -> bool:
    try:
        return codecs.lookup(name).name in SUPPORTED_CHARSETS
    except (LookupError, ValueError):
        return False


def charset_guard(app: Callable) -> Callable:
    """WSGI middleware: drop a charset this service does not read, and remember it.

    Django's request object is built before any Django middleware runs, so this has to
    happen in front of it; :class:`RequestGuardMiddleware` then answers 415.
    """

    def guarded(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        if "charset" in content_type.lower():
            media_type, params = parse_header_parameters(content_type)
            charset = params.get("charset")
            if charset is not None and not is_supported_charset(charset):
                environ[UNSUPPORTED_CHARSET] = charset
                environ["CONTENT_TYPE"] = media_type
        return app(environ, start_response)

    return guarded


def last_resort(app: Callable) -> Callable:
    """WSGI middleware, outermost: an exception that escapes Django (which answers its own
    views' errors) is logged by method and path, never with the query string, where careless
    clients put tokens, and answered with the JSON 500 instead of the server's own page."""

    def guarded(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except Exception:
            logger.exception("Unhandled error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            body = json.dumps(error_body("internal_error", INTERNAL_ERROR_MESSAGE)).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("500 Internal Server Error", headers, sys.exc_info())
            return [body]

    return guarded


def _too_large() -> HttpResponse:
    return error_response(
        413, "payload_too_large", f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes."
    )


class RequestGuardMiddleware:
    """Refuse what no view should see: a Host not allowed (API paths), an odd charset, an
    oversized or unreadable body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            try:
                request.get_host()
            except DisallowedHost:
                # Django's handler400 answers this only with DEBUG off; in DEBUG it shows its
                # HTML page. API callers get the API's error in every mode.
                return error_response(400, "bad_request", "The Host header names a host this service does not serve.")
        charset = request.META.get(UNSUPPORTED_CHARSET)
        if charset is None:
            # The test client and other WSGI servers build requests without charset_guard.
            charset = request.content_params.get("charset") if request.content_params else None
            if charset is not None and is_supported_charset(charset):
                charset = None
        if charset is not None:
            return error_response(
                415, "unsupported_charset", f"The charset {charset[:40]!r} is not supported; send UTF-8 JSON."
            )
        if is_api_request(request):
            refused = self._check_body(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _check_body(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.API_MAX_BODY_BYTES
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return self._read_chunked(request, limit)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "bad_request", "Content-Length is not a number.")
        return _too_large() if length > limit else None

    @staticmethod
    def _read_chunked(request: HttpRequest, limit: int) -> HttpResponse | None:
        """Read a chunked body now, so the view parses what was sent rather than nothing.

        Only a server that de-chunks the input for us says so (``wsgi.input_terminated``,
        as gunicorn does); elsewhere the body cannot be read safely and is refused.
        """
        if not request.META.get("wsgi.input_terminated"):
            return error_response(
                411, "length_required", "This server cannot read a chunked body; send a Content-Length."
            )
        try:
            body = request.META["wsgi.input"].read(limit + 1)
        except Exception:  # noqa: BLE001 - each server raises its own errors for a malformed chunk
            return error_response(400, "malformed_body", "The chunked request body is malformed.")
        if len(body) > limit:
            return _too_large()
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None


class HealthCheckMiddleware:
    """``/healthz`` and ``/readyz`` for load balancers and orchestrators, before host validation."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in HEALTH_PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = error_response(405, "method_not_allowed", f'Method "{request.method}" not allowed.')
            response["Allow"] = "GET, HEAD"
            return response
        return health.healthz() if request.path_info == "/healthz" else health.readyz()


class SiteOnly:
    """Mixin for a Django middleware that serves the site only: API requests pass by it.

    API callers send a token, never a cookie, so a session, a CSRF check, ``request.user``
    or messages would be work for nothing on every API call (DRF's views are CSRF-exempt
    and authenticate on their own). Each middleware stays a subclass of Django's, so the
    admin's checks for them still hold.
    """

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api_request(request):
            return self.get_response(request)
        return super().__call__(request)


class SiteSessionMiddleware(SiteOnly, SessionMiddleware):
    pass


class SiteCsrfViewMiddleware(SiteOnly, CsrfViewMiddleware):
    def process_view(
        self, request: HttpRequest, callback: Callable, callback_args: tuple, callback_kwargs: dict
    ) -> HttpResponse | None:
        if is_api_request(request):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)


class SiteAuthenticationMiddleware(SiteOnly, AuthenticationMiddleware):
    pass


class SiteMessageMiddleware(SiteOnly, MessageMiddleware):
    pass


class OriginCorsMiddleware(CorsMiddleware):
    """django-cors-headers, without its cost on a request that names no origin.

    Its answer reads the Origin header through ``request.headers``, which builds a dict of
    every header of the request (about 60 calls) for that one: on an API request without an
    Origin (a server calling, not a browser), this answers as it would, with only the
    ``Vary: origin`` that every CORS-enabled answer carries.
    """

    def add_response_headers(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.META.get("HTTP_ORIGIN"):
            return super().add_response_headers(request, response)
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            enabled = self.is_enabled(request)
        if enabled:
            patch_vary_headers(response, ("origin",))
        return response

"""Token authentication for client applications (docs/API.md, Access).

The token arrives as ``Authorization: Bearer <token>`` or, as in the CLP contract,
``Token: <token>``. Only its SHA-256 is stored, so the lookup is by hash and the
final comparison is constant-time.
"""

from django.http import HttpRequest
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.audit import audit_actor
from loyalty.customers import (
    CustomerPrincipal,
    CustomerTokenInvalid,
    customer_principal_from_token,
    is_customer_token,
)
from loyalty.models import Application
from loyalty.selectors import application_by_token
from loyalty.services import application_touch

_SCHEMES = ("bearer", "token")


def token_from_request(request: Request | HttpRequest) -> str | None:
    """The raw token from the request headers, or None when none was sent."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() not in _SCHEMES or not token.strip():
            raise exceptions.AuthenticationFailed("Malformed Authorization header; use 'Bearer <token>'.")
        return token.strip()
    token = request.META.get("HTTP_TOKEN", "").strip()
    return token or None


class AppTokenAuthentication(authentication.BaseAuthentication):
    """``request.user`` is the caller (an application or a customer session);
    ``request.auth`` is the application the caller acts through, which ledger rows name."""

    def authenticate(self, request: Request) -> tuple[Application | CustomerPrincipal, Application] | None:
        token = token_from_request(request)
        if token is None:
            return None
        if is_customer_token(token):
            try:
                principal = customer_principal_from_token(token)
            except CustomerTokenInvalid as exc:
                raise exceptions.AuthenticationFailed(str(exc)) from exc
            app_remember(request._request, principal.app)
            return principal, principal.app
        app = application_by_token(token=token)
        if app is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        application_touch(app=app)
        app_remember(request._request, app)
        return app, app

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials were sent.
        return 'Bearer realm="api"'


def app_remember(request: HttpRequest, app: Application) -> None:
    """What an authenticated request records of its application, on the Django request (it
    outlives DRF's wrapper): the request log line names it, and every change this request
    makes is recorded as the application's (core/audit.py)."""
    request.api_app = app
    audit_actor(actor="application", app_id=str(app.app_id), app_name=app.name)

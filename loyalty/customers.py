"""Customer sessions: a short-lived token a browser uses for one customer (docs/API.md, Access).

The token can read that customer's points and history and the catalog, and redeem
catalog items for that customer, nothing else. It is signed, never stored.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing

from loyalty.models import Application
from loyalty.tokens import CUSTOMER_TOKEN_PREFIX, customer_token_sign, customer_token_unsign


class CustomerTokenInvalid(Exception):
    pass


@dataclass(frozen=True)
class CustomerPrincipal:
    """The authenticated caller when a customer token is used."""

    customer_user_id: int
    app: Application
    expires_at: datetime

    is_authenticated = True

    def grants(self, required: str) -> bool:
        """Never worth more than the issuing application is worth now (loaded on every request)."""
        return self.app.grants(required)


@dataclass(frozen=True)
class CustomerSession:
    token: str
    user_id: int
    expires_at: datetime


def is_customer_token(token: str) -> bool:
    return token.startswith(CUSTOMER_TOKEN_PREFIX)


def customer_session_issue(*, user_id: int, app: Application, ttl_seconds: int | None = None) -> CustomerSession:
    ttl = ttl_seconds or settings.CUSTOMER_SESSION_TTL_SECONDS
    expires = int(time.time()) + ttl
    token = customer_token_sign(user_id=user_id, app_id=str(app.pk), expires_at=expires)
    return CustomerSession(token=token, user_id=user_id, expires_at=datetime.fromtimestamp(expires, tz=UTC))


def customer_principal_from_token(token: str) -> CustomerPrincipal:
    """Check signature, expiry and the issuing application; raise CustomerTokenInvalid."""
    try:
        payload = customer_token_unsign(token)
        user_id, app_id, expires = int(payload["u"]), str(payload["a"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise CustomerTokenInvalid("Invalid customer token.") from exc
    if expires <= time.time():
        raise CustomerTokenInvalid("This customer session has expired; open the rewards page again.")
    # A session dies with the application that issued it.
    app = Application.objects.active().filter(pk=app_id).first()
    if app is None:
        raise CustomerTokenInvalid("Invalid customer token.")
    return CustomerPrincipal(customer_user_id=user_id, app=app, expires_at=datetime.fromtimestamp(expires, tz=UTC))

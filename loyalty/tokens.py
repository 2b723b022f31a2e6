"""Application tokens: random secrets of which only the SHA-256 is ever stored."""

import hashlib
import secrets

from django.core import signing

TOKEN_BYTES = 32


def token_generate() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- customer session tokens ----------------------------------------------------
# A customer token is signed, not stored: HMAC-SHA256 over (user_id, issuing app,
# expiry) with SECRET_KEY. The "cs_" prefix tells it apart from an app token.

CUSTOMER_TOKEN_PREFIX = "cs_"
_CUSTOMER_SALT = "loyalty.customer-session"


def customer_token_sign(*, user_id: int, app_id: str, expires_at: int) -> str:
    payload = {"u": user_id, "a": app_id, "e": expires_at}
    return CUSTOMER_TOKEN_PREFIX + signing.dumps(payload, salt=_CUSTOMER_SALT, compress=True)


def customer_token_unsign(token: str) -> dict:
    """The signed payload; raises django.core.signing.BadSignature when tampered with."""
    return signing.loads(token.removeprefix(CUSTOMER_TOKEN_PREFIX), salt=_CUSTOMER_SALT)

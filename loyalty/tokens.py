"""Application tokens: random secrets of which only the SHA-256 is ever stored."""

import hashlib
import secrets

TOKEN_BYTES = 32


def token_generate() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

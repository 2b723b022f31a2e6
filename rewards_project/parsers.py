"""A JSON parser fit for money: decimals stay exact and oversized bodies are refused."""

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from rewards_project.exceptions import DomainError


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """JSON with floats parsed as ``Decimal`` and NaN/Infinity refused.

    Reading at most one byte more than the limit also covers chunked bodies
    that carry no Content-Length for the middleware to check.
    """

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        if not raw.strip():
            return {}
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except LookupError as exc:  # a bytes codec such as base64; the middleware normally stops it first
            raise UnsupportedMediaType(f"charset={encoding}") from exc
        except UnicodeDecodeError as exc:
            raise ParseError(f"The request body is not valid {encoding}: {exc}") from exc
        try:
            return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from exc

"""A JSON parser fit for money: decimals stay exact and oversized bodies are refused."""

import json
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

from core.exceptions import DomainError


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
            data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
            # "\ud800" alone is valid JSON but no character: nothing that speaks UTF-8 could
            # store it, echo it in an error message or render it.
            unicode_text = not _SURROGATE_ESCAPE.search(text) or _is_unicode_text(data)
        except ValueError as exc:
            raise ParseError(f"The request body is not valid JSON: {exc}") from exc
        except RecursionError:
            raise ParseError("The request body is nested too deeply.") from None
        if not unicode_text:
            raise ParseError("The request body has a lone surrogate (\\ud800-\\udfff) in a string.")
        return data


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _is_unicode_text(value: Any) -> bool:
    """True when every string in a parsed body (keys included) is valid Unicode text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_unicode_text(key) and _is_unicode_text(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_is_unicode_text(item) for item in value)
    return True

"""A JSON parser fit for money: decimals stay exact and oversized bodies are refused."""

import json
import re
import sys
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import BaseParser

from core.exceptions import DomainError

# Lists and objects inside one another, the body itself the first: far more than any input of
# the API needs (a rule's conditions are 4 deep), and few enough that everything walking a body
# or what is stored of it (the NUL check, the JSON encoder, the ledger's verifier) stays far
# from Python's recursion limit, which a 400-deep list once reached: a 500.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The request body is nested too deeply: at most {MAX_JSON_DEPTH} levels of lists and objects."


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"

    def __init__(self) -> None:
        super().__init__(f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _NumberTooLong(ValueError):
    pass


def _integer(digits: str) -> int:
    """A JSON integer; one longer than Python converts (4300 digits by default) is refused in
    the service's words, not Python's advice to raise its limit."""
    limit = sys.get_int_max_str_digits()
    if limit and len(digits.lstrip("-")) > limit:
        raise _NumberTooLong(f"The request body has a number longer than {limit} digits.")
    return int(digits)


class StrictJSONParser(BaseParser):
    """JSON with floats parsed as ``Decimal`` and NaN/Infinity refused.

    Reading at most one byte more than the limit also covers chunked bodies
    that carry no Content-Length for the middleware to check. (Not a subclass of DRF's
    JSONParser, which DRF would hand a copy of the whole body: this one reads the request.)
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge()
        if not raw.strip():
            return {}
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = raw.decode(encoding)
        except LookupError as exc:  # a bytes codec such as base64; the middleware normally stops it first
            raise UnsupportedMediaType(f"charset={encoding}") from exc
        except UnicodeDecodeError as exc:
            raise ParseError(f"The request body is not valid {encoding}: {exc}") from exc
        try:
            # Integers by Python's own int: one over its digit limit fails the parse, and
            # _refusal then says why in the service's words.
            data = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
            # "\ud800" alone is valid JSON but no character: nothing that speaks UTF-8 could
            # store it, echo it in an error message or render it.
            unicode_text = not _SURROGATE_ESCAPE.search(text) or _is_unicode_text(data)
        except (ValueError, RecursionError):
            raise _refusal(text) from None
        if not unicode_text:
            raise ParseError("The request body has a lone surrogate (\\ud800-\\udfff) in a string.")
        # No body nests deeper than it has brackets: the walk is for the few that could.
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nested_deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


def _refusal(text: str) -> ParseError:
    """Why ``text`` is no JSON body, parsed again (only a refused body is) with a callback for
    each integer, so the first fault in the text is the one named, as it is found."""
    try:
        json.loads(text, parse_float=Decimal, parse_int=_integer, parse_constant=_reject_constant)
    except _NumberTooLong as exc:
        return ParseError(str(exc))
    except ValueError as exc:
        return ParseError(f"The request body is not valid JSON: {exc}")
    except RecursionError:
        return ParseError(TOO_DEEP)
    raise AssertionError("a body json.loads refused parsed the second time")  # pragma: no cover


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects sit more than ``limit`` deep in a parsed body (walked with a
    stack of its own, so no depth can exhaust Python's)."""
    pending = [(value, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            items = value.values() if isinstance(value, dict) else value
            pending.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _is_unicode_text(value: Any) -> bool:
    """True when every string in a parsed body (keys included) is valid Unicode text."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return True

"""CSV, the one way this service writes it: admin's list exports, the reports in admin and the
API's ``?format=csv``.

Every download is UTF-8 and says so twice: ``text/csv; charset=utf-8`` for programs, and a
byte-order mark first for spreadsheets, which otherwise read a file in the machine's own
encoding and garble every non-ASCII character. It is an attachment named after what it holds
and its dates. A text cell a spreadsheet would run as a formula is written as text.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"

# A cell a spreadsheet would read as a formula is exported as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """csv.writer's file: hands each line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The file's lines, the byte-order mark first: rows are read as they are needed, so a
    generator of a million rows never sits in memory."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield BOM
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_filename(name: str, *days: date) -> str:
    """``liability-2026-12-06.csv``; a period ``rollforward-2026-12-01-to-2026-12-06.csv``."""
    return f"{name}-{'-to-'.join(day.isoformat() for day in days)}.csv"


def attachment(filename: str) -> str:
    """A Content-Disposition that saves the download under this name (ASCII: every name here is)."""
    return f'attachment; filename="{filename}"'


def csv_download(rows: Iterable[Iterable[object]], filename: str) -> StreamingHttpResponse:
    """A CSV file for a browser to save, streamed as it is written."""
    response = StreamingHttpResponse((line.encode() for line in csv_lines(rows)), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = attachment(filename)
    return response


class CSVRenderer(BaseRenderer):
    """The reports as CSV (``?format=csv``): a view puts its table under ``csv``, a list of
    rows whose first is the header, and its file name under ``filename``. Anything else (an
    error) is answered as JSON, as every error is."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        response = (renderer_context or {}).get("response")
        if isinstance(data, dict) and "csv" in data:
            if response is not None and "filename" in data:
                response["Content-Disposition"] = attachment(data["filename"])
            return "".join(csv_lines(data["csv"])).encode()
        if response is not None:  # DRF set the header before rendering: this one wins
            response["Content-Type"] = "application/json"
        return json.dumps(data, default=str).encode()

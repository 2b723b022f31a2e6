"""The request log keeps one line per request whatever the path holds: a client's newline cannot
forge a line, its escape sequence cannot reach a terminal, and the JSON format stays JSON."""

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from core.logging import JsonFormatter, PlainFormatter, log_safe
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

FORGED = "2026-12-08 00:00:00,000 INFO rewards.requests FORGED"
FORGING_PATH = "/loyalty-api/challenges/x%0A2026-12-08%2000:00:00,000%20INFO%20rewards.requests%20FORGED"
COLOURING_PATH = "/loyalty-api/challenges/%1b[31mred"


@pytest.fixture
def request_log() -> Iterator[dict[str, io.StringIO]]:
    """What the request logger writes, in the plain format and in the JSON one."""
    logger = logging.getLogger("rewards.requests")
    written = {"plain": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for name, formatter in (
        ("plain", PlainFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")),
        ("json", JsonFormatter()),
    ):
        handler = logging.StreamHandler(written[name])
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        handlers.append(handler)
    try:
        yield written
    finally:
        for handler in handlers:
            logger.removeHandler(handler)


def test_a_newline_in_a_path_cannot_forge_a_log_line(request_log):
    program = client_for(ApplicationFactory(access_level="Can_Manage_Program", name="program"))

    assert program.get(FORGING_PATH).status_code == 404

    plain = request_log["plain"].getvalue()
    assert plain.count("\n") == 1
    assert not any(line.startswith(FORGED) for line in plain.splitlines())
    assert "GET /loyalty-api/challenges/x\\n2026-12-08 00:00:00,000 INFO rewards.requests FORGED 404" in plain
    [entry] = [json.loads(line) for line in request_log["json"].getvalue().splitlines()]
    assert entry["path"] == "/loyalty-api/challenges/x\n" + FORGED  # the path as it came, in JSON
    assert entry["status"] == 404


def test_an_escape_sequence_in_a_path_is_written_escaped(request_log):
    program = client_for(ApplicationFactory(access_level="Can_Manage_Program", name="program"))

    assert program.get(COLOURING_PATH).status_code == 404

    plain = request_log["plain"].getvalue()
    assert "\x1b" not in plain
    assert "GET /loyalty-api/challenges/\\x1b[31mred 404" in plain
    [entry] = [json.loads(line) for line in request_log["json"].getvalue().splitlines()]
    assert entry["path"] == "/loyalty-api/challenges/\x1b[31mred"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("/rewards-api/get-points/", "/rewards-api/get-points/"),
        ("/café/日本", "/café/日本"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x00\x7f\x85\x9f", "\\x00\\x7f\\x85\\x9f"),
        ("line\u2028break\u2029", "line\\u2028break\\u2029"),
        # A backslash the client sent is doubled, so it never reads as one of the escapes above.
        ("a\\nb", "a\\\\nb"),
    ],
)
def test_log_safe_escapes_what_could_break_a_line_and_nothing_else(text, written):
    assert log_safe(text) == written


def test_a_traceback_keeps_its_lines_and_the_record_is_left_as_it_was():
    formatter = PlainFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.makeLogRecord(
            {
                "msg": "Unhandled error on %s %s",
                "args": ("GET", "/x\nFORGED"),
                "exc_info": sys.exc_info(),
                "levelname": "ERROR",
            }
        )

    line = formatter.format(record)

    assert line.startswith("ERROR Unhandled error on GET /x\\nFORGED\nTraceback (most recent call last):")
    assert "RuntimeError: boom" in line
    assert record.getMessage() == "Unhandled error on GET /x\nFORGED"

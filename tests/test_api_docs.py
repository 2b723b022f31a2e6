"""docs/API.md says what the service does: its Errors table lists every error code the service
can answer, with its status, and no other; the codes answered in front of the service are
named there too; the ledger paragraph names every kind of ledger row.

The codes are found in the code, not listed here: every domain error class, the exception
handler's codes for DRF's exceptions, every literal code the handlers and middlewares answer
with, gunicorn's own refusals and HAProxy's error pages."""

import ast
import importlib
import json
import pkgutil
import re
import runpy
import socket
from pathlib import Path

import gunicorn.util
import gunicorn.workers.base
import pytest

from core.errors import _DRF_CODES
from core.exceptions import DomainError
from rewards.models import RewardKind
from rewards.serializers import RewardRowOutput

ROOT = Path(__file__).resolve().parent.parent
API_MD = (ROOT / "docs" / "API.md").read_text()
PACKAGES = ("core", "rewards", "loyalty", "rewards_project")

# Codes of classes no API path ever answers, and why. Each must still exist: a code that
# reaches the API again has to come off this list and into the table.
NOT_ON_THE_API = {
    "error": "DomainError itself is raised only by staff forms in admin (a 0-point adjustment, a floor without reason)",
    "conflict": "the base of the 409s: every one raised has a code of its own",
    "adjustment_already_posted": "the admin adjustment form posted twice",
    "unknown_tier": "a staff floor in admin naming a tier the ladder does not have",
    "badge_already_held": "staff in admin giving a badge the customer holds (a race past the form's check)",
    "badge_not_held": "staff in admin taking back a badge another staff user just took back",
}


def _every_module() -> None:
    """Import every module of the project, so every error class is defined."""
    for package in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            if ".migrations" not in info.name:
                importlib.import_module(info.name)


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]


def domain_codes() -> dict[str, set[int]]:
    """Every domain error class's code and status (a class that only inherits one adds nothing)."""
    _every_module()
    codes: dict[str, set[int]] = {}
    for cls in _subclasses(DomainError):
        if "code" in vars(cls) and cls.__module__.split(".")[0] in PACKAGES:
            codes.setdefault(cls.code, set()).add(cls.status_code)
    return codes


def literal_codes() -> dict[str, set[int]]:
    """The codes written as literals into ``error_response(status, code, …)`` and
    ``error_body(code, …)`` anywhere in the project (the exception handler, the middlewares,
    the health checks): with their status where the call names it."""
    codes: dict[str, set[int]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                args = [arg.value if isinstance(arg, ast.Constant) else None for arg in node.args]
                if name == "error_response" and isinstance(args[1], str):
                    codes.setdefault(args[1], set()).add(args[0])
                elif name == "error_body" and isinstance(args[0], str):
                    codes.setdefault(args[0], set())
    return codes


def drf_codes() -> dict[str, set[int]]:
    return {code: {exception.status_code} for exception, code in _DRF_CODES.items()}


def service_codes() -> dict[str, set[int]]:
    """Every code the service (Django and DRF) can answer on an API path, with its statuses."""
    codes: dict[str, set[int]] = {}
    for found in (domain_codes(), literal_codes(), drf_codes()):
        for code, statuses in found.items():
            codes.setdefault(code, set()).update(statuses)
    for code in NOT_ON_THE_API:
        codes.pop(code)
    return codes


def gunicorn_codes() -> set[str]:
    """What gunicorn answers a request it cannot take (gunicorn.conf.py turns its refusals into
    the API's JSON): the reasons its worker gives, through that same function."""
    source = Path(gunicorn.workers.base.__file__).read_text()
    reasons = {
        node.value.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and any(getattr(target, "id", None) == "reason" for target in node.targets)
        and isinstance(node.value, ast.Constant)
    }
    original = gunicorn.util.write_error
    try:
        json_error = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["_json_error"]
    finally:
        gunicorn.util.write_error = original
    codes = set()
    for reason in reasons:
        ours, theirs = socket.socketpair()
        with ours, theirs:
            json_error(ours, 400, reason, "")
            answer = theirs.recv(65536).decode()
        codes.add(json.loads(answer.split("\r\n\r\n", 1)[1])["error"]["code"])
    return codes


def haproxy_codes() -> dict[str, int]:
    """HAProxy's own error pages, in the API's JSON: code and status."""
    codes = {}
    for page in (ROOT / "deploy" / "haproxy" / "errors").glob("*.http"):
        body = json.loads(page.read_bytes().decode().split("\r\n\r\n", 1)[1])
        codes[body["error"]["code"]] = int(page.stem)
    return codes


def errors_section() -> str:
    return API_MD.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]


def documented() -> dict[str, set[int]]:
    """The Errors table: each code with the statuses of the rows that name it."""
    table: dict[str, set[int]] = {}
    for status, codes in re.findall(r"^\| (\d{3}) \| ([^|]+) \|", errors_section(), flags=re.MULTILINE):
        for code in re.findall(r"`([a-z0-9_]+)`", codes):
            table.setdefault(code, set()).add(int(status))
    return table


def test_the_errors_table_lists_every_code_the_service_answers_and_no_other():
    answered, table = service_codes(), documented()

    assert sorted(set(answered) - set(table)) == [], "answered by the service, missing from docs/API.md"
    assert sorted(set(table) - set(answered)) == [], "in docs/API.md, answered by nothing"
    wrong = {code: (statuses, table[code]) for code, statuses in answered.items() if statuses - table[code]}
    assert wrong == {}, "the status the service answers with is not the table's"


def test_the_codes_answered_in_front_of_the_service_are_documented_too():
    prose = " ".join(errors_section().split("\n| status | code | when |", 1)[1].split("\n\n", 1)[1].split())
    named = set(re.findall(r"`([a-z0-9_]+)`", prose))

    assert sorted(gunicorn_codes() - named) == []
    assert sorted(set(haproxy_codes()) - named) == []
    assert {code: status for code, status in haproxy_codes().items() if f"{status} `{code}`" not in prose} == {}


def test_what_the_test_finds_is_what_the_service_has():
    """The introspection itself: it finds the codes of each kind of source, and each code left
    off the API still exists."""
    assert {"insufficient_points", "rule_not_found", "activity_conflict", "payload_too_large"} <= set(domain_codes())
    assert domain_codes()["customer_not_found"] == {404} and domain_codes()["not_voidable"] == {409}
    assert literal_codes()["unsupported_charset"] == {415} and "resource_busy" in literal_codes()
    assert drf_codes()["not_acceptable"] == {406}
    assert {"uri_too_long", "request_header_fields_too_large"} <= gunicorn_codes()
    assert haproxy_codes()["request_timeout"] == 408
    assert set(NOT_ON_THE_API) <= set(domain_codes())


def test_the_ledger_paragraph_names_every_kind_of_row():
    kinds = API_MD.split("- **The ledger** is append-only", 1)[1].split("says what made it:", 1)[1]
    named = re.findall(r"`([a-z_]+)`", kinds.split("A row changes", 1)[0])

    assert sorted(named) == sorted(RewardKind.values)


@pytest.mark.django_db
def test_the_void_answer_is_what_the_reference_says(shop):
    from decimal import Decimal

    from rewards import services

    services.points_earn(user_id=31, points=80, description="seed", app=None)
    coupon = services.coupon_redeem(user_id=31, points=50, amount=Decimal("5"), description="c", app=None)
    row = next(line for line in API_MD.splitlines() if line.startswith("| `POST void-coupon/` |"))
    documented = re.findall(r"`([a-z_]+)`", row.split("| 200: ", 1)[1].split("; 409", 1)[0])

    answer = shop.post(
        "/rewards-api/void-coupon/", {"item_code": coupon.redeemed_item.item_code, "reason": "x"}, format="json"
    )

    assert answer.status_code == 200
    body = answer.json()
    assert sorted(body) == sorted(set(documented) - {"voided"})
    assert (body["state"], body["points_refunded"], body["total_points"]) == ("voided", 50, 80)
    assert sorted(body["reward"]) == sorted(RewardRowOutput().fields)

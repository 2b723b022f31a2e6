"""A customer's export carries their hash chain and the signed digests that hold its heads, and
`python -m rewards.verify` checks it offline: the standard library and cryptography only (run
here in the runtime venv, without Django's settings), failing once any field of a row changes;
an erased customer's chain still verifies."""

import copy
import json
import os
import subprocess
from pathlib import Path

import pytest

from loyalty.models import AccessLevel
from rewards import services
from rewards.services.digests import ledger_digest_cut, public_key
from rewards.verify import ROW_FIELDS, export_problems
from tests.conftest import client_for
from tests.factories import ApplicationFactory
from tests.live import ROOT

pytestmark = pytest.mark.django_db

USER, OTHERS = 501, (502, 503, 504, 505)
RUNTIME_PYTHON = ROOT / ".venv-runtime" / "bin" / "python"


@pytest.fixture
def program():
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def history(shop_app):
    """The customer's rows in three digests beside four other customers' (an odd count of
    heads, so the proofs climb unbalanced trees), and one row after the last digest."""
    services.points_earn(user_id=USER, points=100, description="Welcome — bienvenue", app=shop_app)
    for other in OTHERS:
        services.points_earn(user_id=other, points=5, description="x", app=shop_app)
    ledger_digest_cut()
    services.coupon_redeem(user_id=USER, points=50, amount=5, description="$5 off", app=shop_app)
    services.points_adjust(user_id=USER, points=3, reason="sorry", staff="ann")
    services.points_earn(user_id=OTHERS[0], points=5, description="y", app=shop_app)
    ledger_digest_cut()
    ledger_digest_cut()  # nothing of theirs moved: not in their export
    services.points_earn(user_id=USER, points=7, description="after the digests", app=shop_app)


def exported(program, user_id: int = USER) -> dict:
    answer = program.get(f"/loyalty-api/customers/{user_id}/export")
    assert answer.status_code == 200
    return answer.json()


def run_offline(path: Path, key: str) -> subprocess.CompletedProcess:
    """The verifier as a customer runs it: the runtime venv, no Django settings, no database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    return subprocess.run(
        [str(RUNTIME_PYTHON), "-m", "rewards.verify", str(path), "--public-key", key],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_export_carries_the_chain_and_the_digests_that_hold_its_heads(program, history):
    export = exported(program)

    chain = export["chain"]
    assert [row["seq"] for row in chain["rows"]] == [1, 2, 3, 4]
    assert [row["kind"] for row in chain["rows"]] == ["earn", "coupon", "adjustment", "earn"]
    assert chain["head"]["seq"] == 4 and chain["head"]["hash"] == chain["rows"][-1]["hash"]
    assert [(d["head"]["seq"], d["heads_count"]) for d in export["digests"]] == [(1, 5), (3, 2)]
    assert export_problems(export, public_key()) == []


def test_the_export_verifies_offline_without_django(program, history, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(exported(program)), encoding="utf-8")

    result = run_offline(path, public_key().hex())

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == (
        f"Verified: user {USER}'s chain of 4 row(s); 2 signed digest(s) hold it up to seq 3 "
        "(rows after seq 3 are in no digest yet)."
    )
    # No Django: the module imports nothing of it.
    probe = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", "import sys, rewards.verify; print('django' in sys.modules)"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == "False", probe.stderr


def changed(value):
    """Another value of a field's kind."""
    if value is None:
        return "00"
    if isinstance(value, int):
        return value + 1
    if not value:
        return "csv"
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("field", [*ROW_FIELDS, "description", "description_salt", "hash"])
def test_a_change_to_any_field_of_any_row_fails(program, history, field):
    export = exported(program)
    for index in range(len(export["chain"]["rows"])):
        tampered = copy.deepcopy(export)
        row = tampered["chain"]["rows"][index]
        row[field] = changed(row[field])
        assert export_problems(tampered, public_key()) != [], (index, field)


def test_a_byte_changed_in_the_file_fails_offline(program, history, tmp_path):
    export = exported(program)
    export["chain"]["rows"][1]["points_redeemed"] = 49
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")

    result = run_offline(path, public_key().hex())

    assert result.returncode == 1
    assert f"user {USER}, seq 2: its hash does not match its contents" in result.stdout
    assert "NOT VERIFIED" in result.stdout


def test_a_digest_or_proof_changed_or_another_key_fails(program, history):
    export = exported(program)
    for path, value in [
        (("heads_count",), 6),
        (("cut_at",), "2020-01-01T00:00:00.000000Z"),
        (("signature",), "00" * 64),
        (("proof", 0, "hash"), "00" * 32),
        (("head", "seq"), 2),
    ]:
        tampered = copy.deepcopy(export)
        target = tampered["digests"][0]
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        assert export_problems(tampered, public_key()) != [], path
    assert export_problems(export, bytes(32)) != []


def test_a_removed_or_reordered_row_fails(program, history):
    export = exported(program)
    without = copy.deepcopy(export)
    del without["chain"]["rows"][1]
    swapped = copy.deepcopy(export)
    rows = swapped["chain"]["rows"]
    rows[1], rows[2] = rows[2], rows[1]

    assert export_problems(without, public_key())[0].startswith(f"user {USER}, seq 3: rows 2..2 are missing")
    assert export_problems(swapped, public_key())[0] == (
        f"user {USER}, seq 3: rows 2..2 are missing before it: deleted or reordered"
    )


def test_an_erased_customers_chain_still_verifies_offline(program, history, tmp_path):
    assert program.delete(f"/loyalty-api/customers/{USER}/personal-data").status_code == 200
    export = exported(program)
    assert {row["description"] for row in export["chain"]["rows"]} == {"[erased]"}
    assert {row["description_salt"] for row in export["chain"]["rows"]} == {None}
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export), encoding="utf-8")

    result = run_offline(path, public_key().hex())

    assert result.returncode == 0, result.stdout
    # A description put back without its salt is not taken for an erased one.
    export["chain"]["rows"][0]["description"] = "Welcome — bienvenue"
    assert "its description's salt is gone" in export_problems(export, public_key())[0]


def test_an_admin_export_of_several_customers_verifies_each(program, history, tmp_path):
    path = tmp_path / "customers-export.json"
    path.write_text(json.dumps([exported(program), exported(program, OTHERS[0])]), encoding="utf-8")

    result = run_offline(path, public_key().hex())

    assert result.returncode == 0, result.stdout
    assert result.stdout.count("Verified: user") == 2

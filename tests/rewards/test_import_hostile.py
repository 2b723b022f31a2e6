"""Crafted sources: a row no import can take is skipped and reported like any other anomaly, in
a real run and in a dry run alike; the rest comes over, and the ledger stays clean."""

import sqlite3
from pathlib import Path

import pytest

from loyalty.models import Order, OrderCounter
from loyalty.services.clp import clp_import
from rewards.importers.balances_csv import balances_csv_import
from rewards.importers.cps714 import cps714_import
from rewards.models import Event, EventType, Reward
from rewards.selectors import account_balance, ledger_drift

# The rewards system's tables as a crafted file may have them: no types enforced (SQLite
# keeps what it is given), and no key on the redeemed items.
LOOSE_CPS714 = """
CREATE TABLE rewards_reward (reward_id integer PRIMARY KEY, user_id, points_earned, points_redeemed,
    reward_description, is_active, earned_date, redeemed_date);
CREATE TABLE rewards_redeemeditem (reward_id integer, item_code, item_description, amount);
"""
HUGE = "9" * 5000


def loose_source(path: Path, rewards: list[tuple], items: list[tuple] = ()) -> Path:
    with sqlite3.connect(path) as source:
        source.executescript(LOOSE_CPS714)
        source.executemany("INSERT INTO rewards_reward VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rewards)
        source.executemany("INSERT INTO rewards_redeemeditem VALUES (?, ?, ?, ?)", items)
    source.close()
    return path


def problems(report) -> list[str]:
    return [anomaly.problem for anomaly in report.anomalies]


@pytest.fixture
def crafted_cps714(tmp_path) -> Path:
    day = "2024-01-05 10:00:00"
    return loose_source(
        tmp_path / "crafted.sqlite3",
        [
            (1, 70, 100, 0, "fine", True, day, None),
            (2, 70, "--5", 0, "double minus", True, day, None),
            (3, 70, HUGE, 0, "five thousand digits", True, day, None),
            (4, 70, 10, 0, "NUL\x00inside", True, day, None),
            (5, 70, 0, 50, "one coupon, two items", True, None, day),
            (6, "--7", 10, 0, "bad user", True, day, None),
            (7, 70, 1e300, 0, "a float past any range", True, day, None),
            (8, 71, 0, 30, "NUL in the code", True, None, day),
        ],
        [
            (5, "FIRSTCODE", "$5 coupon", 5.0),
            (5, "SECONDCODE", "$5 coupon", 5.0),
            (8, "AB\x00CD", "$3 coupon", 3.0),
        ],
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_crafted_cps714_file_is_reported_row_by_row(crafted_cps714, db, dry_run):
    report = cps714_import(str(crafted_cps714), dry_run=dry_run)

    found = problems(report)
    assert found.count("points_earned is not a whole number") == 2  # "--5", 5,000 digits
    assert "points beyond what one entry may hold" in found  # 1e300
    assert "user_id is not a positive integer" in found
    assert "description holds NUL characters" in found
    assert "reward has more than one redeemed item" in found
    assert "code holds a NUL character" in found
    if dry_run:
        assert not Reward.objects.exists()
        return
    # 100 + 10 earned, one coupon of 50 (not two) redeemed.
    assert account_balance(user_id=70).total_points == 60
    assert Reward.objects.filter(user_id=70, kind="coupon").count() == 1
    assert Reward.objects.get(user_id=70, points_earned=10).reward_description == "NULinside"
    assert Reward.objects.get(user_id=71).redeemed_item.item_code != "AB\x00CD"
    assert ledger_drift() == []


# ---- the CLP ------------------------------------------------------------------------------

WIDE_CLP = """
CREATE TABLE applications (app_id uuid PRIMARY KEY, app_name varchar(30) NOT NULL, secret varchar(64) NOT NULL);
CREATE TABLE users (user_id bigint PRIMARY KEY, current_balance double precision, num_of_deleted_orders numeric);
CREATE TABLE orders (order_id bigint PRIMARY KEY, user_id bigint NOT NULL, total_cost numeric, completed_at numeric);
"""


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_crafted_clp_database_is_reported_row_by_row(source_database, db, dry_run):
    url, source = source_database
    with source.cursor() as cursor:
        cursor.execute(WIDE_CLP)
        cursor.executemany(
            "INSERT INTO users VALUES (%s, %s, %s)",
            [(80, 120.0, 1), (81, 1e25, 0), (82, 40.0, 2**40), (83, 10.0, int(HUGE[:200]))],
        )
        cursor.executemany(
            "INSERT INTO orders VALUES (%s, %s, %s, %s)",
            [(1, 80, 2000, 1_700_000_000), (2, 80, 10**20, 1_700_000_000), (3, 82, 500, int(HUGE[:300]))],
        )

    report = clp_import(url, dry_run=dry_run).report

    found = problems(report)
    assert "current_balance is beyond what one entry may hold" in found
    assert found.count("num_of_deleted_orders is not a whole number from 0 to 1,000,000,000") == 2
    assert "total_cost is beyond what the API accepts" in found
    assert "completed_at is not a unix time" in found
    if dry_run:
        assert not Reward.objects.exists() and not Order.objects.exists()
        return
    assert account_balance(user_id=80).total_points == 120
    assert account_balance(user_id=82).total_points == 40
    assert not Reward.objects.filter(user_id=81).exists()
    assert sorted(Order.objects.values_list("order_id", flat=True)) == [1, 3]
    assert OrderCounter.objects.get(user_id=82).orders_returned == 0
    assert ledger_drift() == []


# ---- balances from CSV --------------------------------------------------------------------


def test_a_csv_with_bad_lines_reports_them_and_counts_each_customer_once(tmp_path, db):
    path = tmp_path / "balances.csv"
    path.write_text(
        f"5,100,first\n5,50,second\n5,-20,third\n6,--5\n6,{HUGE}\n7,10,NUL\x00here\n--8,10\n6,7\n",
        encoding="utf-8",
    )

    dry = balances_csv_import(path, dry_run=True)
    report = balances_csv_import(path)

    for run in (dry, report):
        assert (
            problems(run).count("points is not a whole number between -1,000,000,000 and 1,000,000,000 other than 0")
            == 2
        )
        assert "description holds NUL characters" in problems(run)
        assert "user_id is not a positive integer" in problems(run)
        assert run.counts["customers"] == 3  # 5, 6 and 7: each once, however many lines
    assert account_balance(user_id=5).total_points == 130
    assert account_balance(user_id=6).total_points == 7
    imported = Event.objects.filter(type=EventType.POINTS_IMPORTED)
    assert sorted(imported.values_list("user_id", flat=True)) == [5, 6, 7]
    assert ledger_drift() == []


def test_a_customer_on_lines_of_different_batches_is_counted_and_announced_once(tmp_path, db, monkeypatch):
    monkeypatch.setattr("rewards.importers.balances_csv.BATCH_ROWS", 2)
    path = tmp_path / "balances.csv"
    path.write_text("5,10\n6,1\n7,1\n5,20\n8,1\n5,-100\n", encoding="utf-8")

    report = balances_csv_import(path)

    assert report.counts["customers"] == 4
    events = Event.objects.filter(type=EventType.POINTS_IMPORTED, user_id=5)
    assert [(e.data["points"], e.data["balance"]["total_points"]) for e in events] == [(-70, -70)]
    assert problems(report).count("balance below zero") == 1 and report.counts["customers below zero"] == 1
    assert ledger_drift() == []

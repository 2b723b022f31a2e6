"""Taking over the rewards system (CPS714): a source SQLite file in its layout, with realistic
and awkward rows, imported; every balance, coupon and anomaly checked; then the API on them."""

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from rewards.importers.base import ImportRefused
from rewards.importers.cps714 import cps714_import
from rewards.models import Account, Event, EventType, ImportedRow, LotConsumption, PointLot, RedeemedItem, Reward
from rewards.selectors import account_balance, ledger_drift
from rewards.services import coupon_redeem, points_earn
from tests.import_sources import CPS714_SCHEMA

JAN = "2024-01-05 10:00:00"
FEB = "2024-02-10 12:30:00.250000"
MAR = "2024-03-01 08:00:00"


def source_file(path: Path, rewards: list[tuple], items: list[tuple] = ()) -> Path:
    """rewards: (reward_id, user_id, earned, redeemed, description, is_active, earned_date,
    redeemed_date); items: (reward_id, item_code, item_description, amount)."""
    with sqlite3.connect(path) as source:
        source.executescript(CPS714_SCHEMA)
        source.executemany("INSERT INTO rewards_reward VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rewards)
        # The awkward rows the old system let in (an item without its reward row) need no FK check.
        source.execute("PRAGMA foreign_keys = OFF")
        source.executemany("INSERT INTO rewards_redeemeditem VALUES (?, ?, ?, ?)", items)
    source.close()
    return path


@pytest.fixture
def realistic(tmp_path, db) -> tuple[Path, str]:
    """Four customers' histories and the rows a careless system keeps. Returns the file and the
    code of a coupon this service already issued (which one source coupon clashes with)."""
    points_earn(user_id=900, points=60, description="Here first", app=None)
    existing_code = coupon_redeem(user_id=900, points=50, amount=Decimal("5"), description="x", app=None)
    existing_code = existing_code.redeemed_item.item_code
    rewards = [
        # 101: earns 130, an unused $5 coupon (50), a used $5 coupon (50): 30 left.
        (1, 101, 100, 0, "Welcome bonus", 1, JAN, None),
        (2, 101, 30, 0, "Purchase of $15", 1, FEB, None),
        (3, 101, 0, 50, "Redeemed a $5 coupon", 1, None, FEB),
        (4, 101, 0, 50, "Redeemed a $5 coupon", 0, None, MAR),
        # 102: 20 in, a coupon of the client's own price (35 points for $3.50): 15 below zero.
        (5, 102, 20, 0, "Feedback", 1, JAN, None),
        (6, 102, 0, 35, "Custom coupon", 1, None, FEB),
        # 103: a $10 donation (no code), a negative earning, a row both ways, one with no date,
        # and a description far over 255 characters: 200 - 100 - 7 + 5 - 5 + 12 = 105.
        (7, 103, 200, 0, "Big purchase", 1, JAN, None),
        (8, 103, 0, 100, "Donated $10", 0, None, FEB),
        (9, 103, -7, 0, "Correction", 1, FEB, None),
        (10, 103, 5, 5, "Both ways", 1, FEB, FEB),
        (11, 103, 12, 0, "x" * 300, 1, None, None),
        # 104: a coupon whose code this service already gave someone, an amount of 4.999.
        (12, 104, 50, 0, "Earned", 1, JAN, None),
        (13, 104, 0, 50, "Coupon", 1, None, FEB),
        # Rows that belong to no one or move nothing.
        (14, 0, 10, 0, "No customer", 1, JAN, None),
        (15, 105, 0, 0, "Nothing at all", 1, JAN, None),
        # 106: a redemption with no item, an unused coupon with no code.
        (16, 106, 80, 0, "Earned", 1, JAN, None),
        (17, 106, 0, 20, "Mystery redemption", 1, None, FEB),
        (18, 106, 0, 50, "Coupon, code lost", 1, None, FEB),
    ]
    items = [
        (3, "OLDCODE000000001", "$5 coupon", 5.0),
        (4, "OLDCODE000000002", "$5 coupon", 5.0),
        (6, "ODDCOUPON", "$3.50 coupon", 3.5),
        (8, None, "$10 donation", 10.0),
        (13, existing_code, "$5 coupon", 4.999),
        (18, None, "$5 coupon", 5.0),
        (999, "ORPHANCODE", "No reward row", 1.0),
    ]
    return source_file(tmp_path / "cps714.sqlite3", rewards, items), existing_code


def problems(report) -> list[str]:
    return [anomaly.problem for anomaly in report.anomalies]


def test_every_balance_coupon_and_row_comes_over_with_a_report(realistic):
    path, existing_code = realistic
    rows_before = Reward.objects.count()

    report = cps714_import(str(path))

    assert {user: account_balance(user_id=user).total_points for user in (101, 102, 103, 104, 106)} == {
        101: 30,
        102: -15,
        103: 105,
        104: 0,
        106: 10,
    }
    assert account_balance(user_id=101).total_points_earned == 130
    assert account_balance(user_id=101).total_points_redeemed == 100
    assert Account.objects.get(user_id=102).points_owed == 15
    assert not Account.objects.filter(user_id__in=[0, 105]).exists()
    # 18 source rows: 2 skipped (user 0, nothing moved), row 10 split in two: 17 ledger rows.
    assert Reward.objects.count() - rows_before == 17
    assert Reward.objects.filter(imported_from="cps714").count() == 17
    assert ledger_drift() == []
    assert report.counts["customers"] == 5
    assert report.counts["ledger rows"] == 17
    assert report.counts["coupons unused"] == 4  # 101's first, 102's, 104's, 106's
    assert report.counts["coupons used"] == 1
    assert report.counts["donations"] == 1
    assert report.counts["points credited"] == 100 + 30 + 20 + 200 + 5 + 12 + 50 + 80
    assert report.counts["points debited"] == 50 + 50 + 35 + 100 + 7 + 5 + 50 + 20 + 50
    assert report.counts["customers below zero"] == 1
    assert sorted(problems(report)) == sorted(
        [
            "balance below zero",
            "code already in use",
            "amount has more than 2 decimal places",
            "redemption matches no catalog option",  # 102's 35 points for $3.50
            "negative points",
            "row both earned and redeemed",
            "row has no usable date",
            "description longer than 255 characters",
            "user_id is not a positive integer",
            "row moves no points and bought nothing",
            "redemption without a redeemed item",  # 106's mystery redemption
            "redemption without a redeemed item",  # the debit half of 103's row both ways
            "coupon without a code",
            "redeemed item without its reward row",
        ]
    )
    clash = next(a for a in report.anomalies if a.problem == "code already in use")
    assert existing_code in clash.row and "new code" in clash.decision


def test_rows_keep_their_dates_descriptions_kinds_and_codes(realistic):
    path, existing_code = realistic
    cps714_import(str(path))

    welcome = Reward.objects.get(user_id=101, reward_description="Welcome bonus")
    assert (welcome.kind, welcome.points_earned) == ("earn", 100)
    assert welcome.earned_date == datetime(2024, 1, 5, 10, tzinfo=UTC) == welcome.created_at
    unused = RedeemedItem.objects.get(item_code="OLDCODE000000001")
    assert (unused.kind, unused.amount, unused.reward.is_active) == ("coupon", Decimal("5.00"), True)
    assert unused.reward.redeemed_date == datetime(2024, 2, 10, 12, 30, 0, 250000, tzinfo=UTC)
    assert unused.catalog_item is not None and unused.catalog_item.points_cost == 50
    assert RedeemedItem.objects.get(item_code="OLDCODE000000002").reward.is_active is False
    off_catalog = RedeemedItem.objects.get(item_code="ODDCOUPON")
    assert (off_catalog.catalog_item, off_catalog.amount, off_catalog.reward.points_redeemed) == (
        None,
        Decimal("3.50"),
        35,
    )
    donation = RedeemedItem.objects.get(reward__user_id=103)
    assert (donation.kind, donation.amount, donation.reward.is_active, len(donation.item_code)) == (
        "donation",
        Decimal("10.00"),
        False,
        16,
    )
    assert Reward.objects.get(user_id=103, points_redeemed=7).kind == "adjustment"  # the -7 earning
    assert len(Reward.objects.get(user_id=103, points_earned=12).reward_description) == 255
    assert Reward.objects.get(user_id=106, points_redeemed=20).kind == "adjustment"
    renamed = RedeemedItem.objects.get(reward__user_id=104)
    assert renamed.item_code != existing_code and renamed.amount == Decimal("5.00")
    # Each imported customer's lots and consumptions explain their balance; one event each.
    assert PointLot.objects.get(credit=welcome).remaining == 0  # spent by the two coupons, oldest first
    assert LotConsumption.objects.filter(lot__user_id=102).count() == 1
    imported = Event.objects.filter(type=EventType.POINTS_IMPORTED).order_by("user_id")
    assert [(event.user_id, event.data["balance"]["total_points"]) for event in imported] == [
        (101, 30),
        (102, -15),
        (103, 105),
        (104, 0),
        (106, 10),
    ]


def test_the_api_works_on_imported_customers(realistic, shop, post_json):
    path, _ = realistic
    cps714_import(str(path))

    assert shop.get("/rewards-api/get-points/?user_id=101").json()["total_points"] == 30
    assert post_json("/rewards-api/use-coupon/", {"item_code": "OLDCODE000000001"}).status_code == 200
    used = post_json("/rewards-api/use-coupon/", {"item_code": "OLDCODE000000002"})
    assert (used.status_code, used.json()["error"]["code"]) == (409, "coupon_already_used")
    refused = post_json(
        "/rewards-api/redeem-coupon/",
        {"user_id": 102, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "x"},
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "insufficient_points")
    # 102 owes 15: the next 20 points pay it first.
    earned = post_json("/rewards-api/earn-points/", {"user_id": 102, "points_earned": 20, "reward_description": "y"})
    assert earned.json()["total_points"] == 5
    history = shop.get("/rewards-api/get-redemptions/?user_id=101").json()["redemption_history"]
    assert [row["redeemed_item"]["item_code"] for row in history] == ["OLDCODE000000002", "OLDCODE000000001"]
    assert ledger_drift() == []


def test_a_second_run_imports_nothing_twice(realistic):
    path, _ = realistic
    first = cps714_import(str(path))
    rows, events = Reward.objects.count(), Event.objects.count()

    second = cps714_import(str(path))

    assert (Reward.objects.count(), Event.objects.count()) == (rows, events)
    assert second.counts["rows already imported"] == 18
    assert second.counts["ledger rows"] == 0 and second.anomalies[0].problem == "redeemed item without its reward row"
    assert first.counts["rows already imported"] == 0
    assert account_balance(user_id=101).total_points == 30


def test_new_rows_in_the_source_come_over_on_the_next_run(realistic):
    path, _ = realistic
    cps714_import(str(path))
    with sqlite3.connect(path) as source:
        source.execute("INSERT INTO rewards_reward VALUES (19, 101, 40, 0, 'Late purchase', 1, ?, NULL)", [MAR])
    source.close()

    report = cps714_import(str(path))

    assert (report.counts["ledger rows"], report.counts["rows already imported"]) == (1, 18)
    assert account_balance(user_id=101).total_points == 70
    assert ledger_drift() == []


def test_a_dry_run_reports_the_same_and_writes_nothing(realistic):
    path, _ = realistic
    rows, events, accounts = Reward.objects.count(), Event.objects.count(), Account.objects.count()

    dry = cps714_import(str(path), dry_run=True)

    assert (Reward.objects.count(), Event.objects.count(), Account.objects.count()) == (rows, events, accounts)
    assert not ImportedRow.objects.exists()
    real = cps714_import(str(path))
    assert dry.counts == real.counts
    assert problems(dry) == problems(real)


def test_a_customer_already_here_ends_with_the_sum(tmp_path, db):
    points_earn(user_id=301, points=40, description="Earned here", app=None)
    path = source_file(
        tmp_path / "s.sqlite3",
        [(1, 301, 25, 0, "There", 1, JAN, None), (2, 301, 0, 50, "Coupon", 1, None, FEB)],
        [(2, "THERE0000000001", "$5 coupon", 5.0)],
    )

    cps714_import(str(path))

    balance = account_balance(user_id=301)
    assert (balance.total_points, balance.total_points_earned, balance.total_points_redeemed) == (15, 65, 50)
    # The debit took the oldest lot first: the 40 earned here, then 10 of the imported 25.
    assert sorted(PointLot.objects.filter(user_id=301).values_list("points", "remaining")) == [(25, 15), (40, 0)]
    assert ledger_drift() == []


def test_a_failure_half_way_leaves_nothing(tmp_path, db, monkeypatch):
    from rewards.importers import cps714

    monkeypatch.setattr("rewards.importers.cps714.BATCH_ROWS", 2)
    path = source_file(
        tmp_path / "s.sqlite3",
        [
            (1, 401, 10, 0, "Fine", 1, JAN, None),
            (2, 402, 10, 0, "Fine", 1, JAN, None),
            (3, 403, 10, 0, "Fine", 1, JAN, None),
        ],
    )
    rows = Reward.objects.count()
    customers_import = cps714.customers_import

    def fails_for_403(entries, **kwargs):
        if 403 in entries:
            raise ImportRefused("Customer 403: the database refused a write.")
        return customers_import(entries, **kwargs)

    monkeypatch.setattr(cps714, "customers_import", fails_for_403)

    with pytest.raises(ImportRefused, match="403"):
        cps714_import(str(path))

    assert Reward.objects.count() == rows
    assert not Account.objects.filter(user_id__in=[401, 402, 403]).exists()
    assert not ImportedRow.objects.exists()


def test_the_command_prints_the_report_and_refuses_a_missing_file(realistic, tmp_path, capsys):
    path, _ = realistic
    call_command("import_cps714", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "dry run: nothing was written" in out
    assert "coupons unused: 4" in out and "anomalies: 14" in out
    assert "code already in use" in out
    with pytest.raises(CommandError, match="No SQLite file"):
        call_command("import_cps714", str(tmp_path / "missing.sqlite3"))
    with pytest.raises(CommandError, match="expected tables"):
        call_command("import_cps714", str(source_file_empty(tmp_path / "empty.sqlite3")))


def source_file_empty(path: Path) -> Path:
    sqlite3.connect(path).close()
    return path


def test_imported_points_expire_counted_from_the_import(tmp_path, db, settings):
    settings.POINTS_VALIDITY_DAYS = 20  # inside the 30-day notice window at once
    path = source_file(
        tmp_path / "s.sqlite3",
        [(1, 601, 100, 0, "Old points", 1, "2020-01-01 00:00:00", None), (2, 601, 0, 30, "Spent", 1, None, JAN)],
    )
    before = timezone.now()

    cps714_import(str(path))

    balance = account_balance(user_id=601)
    assert (balance.total_points, balance.expiring_points) == (70, 70)
    assert before + timedelta(days=20) <= balance.next_expiry_at <= timezone.now() + timedelta(days=20)
    assert ledger_drift() == []


def test_an_imported_coupon_is_voided_back_to_its_lots_unless_lots_never_paid_it(realistic, post_json):
    from rewards.models import RedeemedItem

    path, _ = realistic
    cps714_import(str(path))
    covered = "OLDCODE000000001"  # 101's unused $5 coupon, paid from 101's lots
    owed = RedeemedItem.objects.get(reward__user_id=102).item_code  # 35 points, only 20 of them from lots

    voided = post_json("/rewards-api/void-coupon/", {"item_code": covered, "reason": "Migrated in error"})
    refused = post_json("/rewards-api/void-coupon/", {"item_code": owed, "reason": "Migrated in error"})

    assert (voided.status_code, voided.json()["points_refunded"], voided.json()["total_points"]) == (200, 50, 80)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_voidable")
    assert RedeemedItem.objects.get(item_code=owed).state == "active"
    assert ledger_drift() == []

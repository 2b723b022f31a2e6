"""The hash chain per customer: every writer of ledger rows chains them, in order and with no
gap, under the account's lock; each hash is what docs/VERIFY.md's canonical form gives,
recomputed here by hand; the account keeps the head; the migration chains existing rows."""

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from loyalty.services import order_record, order_return
from loyalty.services.personal_data import personal_data_erase
from rewards import services
from rewards.importers.balances_csv import balances_csv_import
from rewards.models import ERASED, Account, RedeemedItem, Reward
from rewards.selectors import customer_chain, ledger_drift, ledger_verify
from rewards.verify import chain_time, micros_time
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db

USER = 7070


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


def by_hand(row: Reward, previous: bytes | None) -> bytes:
    """docs/VERIFY.md's row hash, written out again from the documented bytes."""

    def t(moment):
        return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def v(value):
        return "" if value is None else str(value)

    form = "|".join(
        [
            "ledger-row-v1",
            str(row.user_id),
            str(row.seq),
            row.kind,
            str(row.points_earned),
            str(row.points_redeemed),
            str(row.pending_change),
            t(row.earned_date),
            t(row.redeemed_date),
            t(row.created_at),
            v(row.application_id),
            row.imported_from,
            v(row.rule_id),
            v(row.rule_version),
            bytes(row.description_commitment).hex(),
        ]
    )
    return hashlib.sha256((previous or bytes(32)) + form.encode("utf-8")).digest()


def assert_chained(user_id: int) -> list[Reward]:
    """Rows 1..n in the order written, each hash as documented, the account's head the last."""
    rows = list(Reward.objects.filter(user_id=user_id).order_by("id"))
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    previous = None
    for row in rows:
        salt = bytes(row.description_salt)
        assert len(salt) == 16
        assert bytes(row.description_commitment) == hashlib.sha256(salt + row.reward_description.encode()).digest()
        assert bytes(row.hash) == by_hand(row, previous)
        previous = bytes(row.hash)
    account = Account.objects.get(user_id=user_id)
    assert (account.chain_seq, bytes(account.chain_hash)) == (len(rows), previous)
    return rows


def test_the_first_row_hashes_its_canonical_form_after_32_zero_bytes(shop_app, clock):
    services.points_earn(user_id=USER, points=30, description="Café visit", app=shop_app)

    row = Reward.objects.get()
    form = (
        f"ledger-row-v1|{USER}|1|earn|30|0|0|2026-06-01T12:00:00.123456Z||2026-06-01T12:00:00.123456Z|"
        f"{shop_app.pk}|||" + "|" + bytes(row.description_commitment).hex()
    )
    assert bytes(row.hash) == hashlib.sha256(bytes(32) + form.encode()).digest()
    assert (
        bytes(row.description_commitment)
        == hashlib.sha256(bytes(row.description_salt) + "Café visit".encode()).digest()
    )
    assert (row.seq, Account.objects.get(user_id=USER).chain_seq) == (1, 1)


def test_every_writer_chains_its_rows(shop_app, clock, settings, tmp_path):
    """Credits, pending credits and their release, expiry, redemptions, a void with an expired
    part, take-backs (pending and available), staff adjustments and an import: one chain."""
    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 10
    services.points_earn(user_id=USER, points=30, description="expires first", app=shop_app)
    settings.POINTS_VALIDITY_DAYS = None
    services.points_earn(user_id=USER, points=100, description="never expires", app=shop_app)
    coupon = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="5 off", app=None)
    now = int(clock.now.timestamp())
    order_record(order_id=1, user_id=USER, total_cost=2000, completed_at=now, app=shop_app)  # pending
    order_record(order_id=2, user_id=USER, total_cost=1000, completed_at=now, app=shop_app)
    order_return(order_id=1, app=shop_app)  # cancelled while pending
    clock.now += timedelta(days=15)
    services.points_lifecycle_run()  # order 2 released
    order_return(order_id=2, app=shop_app)  # taken back from the available points
    # The void gives back 30 from the first lot, expired meanwhile: a refund row, then an expiry row.
    services.coupon_void(item_code=RedeemedItem.objects.get(reward=coupon.reward.pk).item_code, reason="no", app=None)
    settings.POINTS_VALIDITY_DAYS = 1
    services.points_earn(user_id=USER, points=5, description="short-lived", app=shop_app)
    clock.now += timedelta(days=2)
    services.points_lifecycle_run()  # those 5 expire
    services.points_adjust(user_id=USER, points=7, reason="goodwill", staff="ann")
    services.points_adjust(user_id=USER, points=-3, reason="typo", staff="ann")
    path = tmp_path / "balances.csv"
    path.write_text(f"user_id,points\n{USER},25\n{USER + 1},-5\n", encoding="utf-8")
    balances_csv_import(path)

    rows = assert_chained(USER)
    assert_chained(USER + 1)
    kinds = [row.kind for row in rows]
    assert kinds == [
        "earn", "earn", "coupon", "order", "order", "order_return", "release", "order_return", "refund",
        "expiry", "earn", "expiry", "adjustment", "adjustment", "import",
    ]  # fmt: skip
    assert ledger_drift() == []
    assert ledger_verify(trusted_keys=None).problems == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_for_one_customer_get_every_seq_once(committed_shop_app):
    shop_app = committed_shop_app
    services.points_earn(user_id=USER, points=1, description="first", app=shop_app)

    results = run_concurrently(
        lambda i: services.points_earn(user_id=USER, points=i + 1, description=f"n{i}", app=shop_app), 8
    )

    assert not [r for r in results if isinstance(r, BaseException)]
    assert_chained(USER)
    assert Account.objects.get(user_id=USER).chain_seq == 9


def test_erasure_removes_descriptions_and_salts_and_the_chain_still_verifies(shop_app):
    for n in range(3):
        services.points_earn(user_id=USER, points=10 + n, description=f"Visit to Dr. Who #{n}", app=shop_app)
    hashes = list(Reward.objects.order_by("id").values_list("hash", flat=True))

    personal_data_erase(user_id=USER, by="dpo")

    rows = list(Reward.objects.order_by("id"))
    assert [(r.reward_description, r.description_salt) for r in rows] == [(ERASED, None)] * 3
    assert [bytes(r.hash) for r in rows] == [bytes(h) for h in hashes]
    assert ledger_verify(trusted_keys=None).problems == []
    call_command("verify_ledger")


def test_check_ledger_sees_a_head_that_does_not_count_the_rows(shop_app):
    services.points_earn(user_id=USER, points=10, description="a", app=shop_app)
    services.points_earn(user_id=USER, points=10, description="b", app=shop_app)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rewards_account SET chain_seq = 1 WHERE user_id = %s", [USER])

    assert [(p.check, p.found, p.expected) for p in ledger_drift()] == [("chain_seq = number of rows", 1, 2)]


def test_a_chain_read_for_one_customer_is_in_order(shop_app):
    for n in range(3):
        services.points_earn(user_id=USER, points=1, description=str(n), app=shop_app)
    services.points_earn(user_id=USER + 5, points=1, description="other", app=shop_app)

    assert [(row.user_id, row.seq) for row in customer_chain(USER)] == [(USER, 1), (USER, 2), (USER, 3)]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, 0, 5, tzinfo=timezone.get_fixed_timezone(120)),
    ],
)
def test_a_time_reads_the_same_from_sql_and_from_python(moment):
    """verify_ledger reads times as microseconds; the writer formats them in SQL; exports in Python."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_char(%s::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
            "(extract(epoch FROM %s::timestamptz) * 1000000)::bigint",
            [moment, moment],
        )
        in_sql, micros = cursor.fetchone()

    assert in_sql == chain_time(moment) == micros_time(micros)

"""The lifecycle jobs beside live traffic and beside each other, on real parallel
PostgreSQL connections: no overdraft, no lot below zero, each due lot done once."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty.services import order_record, order_return
from rewards import services
from rewards.models import Account, PointLot, Reward, RewardKind
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)

USER = 8080
DAY = timedelta(days=1)


def lot_of(posting: services.Posting) -> PointLot:
    """The lot a credit opened."""
    return PointLot.objects.get(credit_id=posting.reward.pk)


@pytest.fixture
def app(committed_shop_app):
    return committed_shop_app


def test_32_redemptions_racing_lifecycle_passes_and_returns_never_overdraw(app, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 10
    now = timezone.now()
    # 600 available points in lots of 100, two of which expire in the coming pass...
    for i in range(6):
        settings.POINTS_VALIDITY_DAYS = 1 if i < 2 else 60
        lot = lot_of(services.points_earn(user_id=USER, points=100, description=f"lot {i}", app=app))
        if i < 2:
            PointLot.objects.filter(pk=lot.pk).update(expires_at=now - timedelta(minutes=1))
    # Back-dated behind the services' back: the account must say so too, as they would.
    Account.objects.filter(user_id=USER).update(next_expiry_at=now - timedelta(minutes=1))
    # ...and four orders of 100 points pending, completed 15 days ago (due for release), two of
    # them to be returned while everything else races.
    for order_id in range(1, 5):
        order_record(order_id=order_id, user_id=USER, total_cost=2000, completed_at=int(now.timestamp()), app=app)
    PointLot.objects.filter(pending=True).update(available_at=now - DAY)
    before = account_balance(user_id=USER)
    assert (before.total_points, before.pending_points) == (600, 400)

    def work(i: int):
        if i in (0, 1):
            return services.points_lifecycle_run(batch_size=2)
        if i in (2, 3):
            return order_return(order_id=i - 1, app=app)
        return services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description=f"r{i}", app=app)

    results = run_concurrently(work, 36)

    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, services.InsufficientPoints)]
    assert unexpected == []
    services.points_lifecycle_run()  # whatever a busy account made the racing passes skip
    redeemed = Reward.objects.filter(kind=RewardKind.COUPON).count() * 50
    expired = sum(Reward.objects.filter(kind=RewardKind.EXPIRY).values_list("points_redeemed", flat=True))
    returned = sum(Reward.objects.filter(kind=RewardKind.ORDER_RETURN).values_list("points_redeemed", flat=True))
    balance = account_balance(user_id=USER)
    # Everything is accounted for: 600 + 400 released - redemptions - expiry - returns of available points.
    assert balance.pending_points == 0
    assert balance.total_points == 1000 - redeemed - expired - returned - _cancelled()
    assert not PointLot.objects.filter(remaining__lt=0).exists()
    # No redemption ever took the balance below zero; only a return of spent points could.
    assert balance.total_points >= 0 or returned > 0
    assert ledger_drift() == []
    call_command("check_ledger")


def _cancelled() -> int:
    return sum(PointLot.objects.values_list("cancelled_points", flat=True))


def test_two_lifecycle_runs_at_once_do_each_due_lot_once(app, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    now = timezone.now()
    for user in range(100, 140):
        order_record(order_id=user, user_id=user, total_cost=200, completed_at=int(now.timestamp()), app=app)
    PointLot.objects.update(available_at=now - DAY)

    reports = run_concurrently(lambda i: services.points_lifecycle_run(batch_size=7), 4)

    assert not [r for r in reports if isinstance(r, BaseException)]
    assert sum(report.released.done for report in reports) == 40
    assert Reward.objects.filter(kind=RewardKind.RELEASE).count() == 40
    assert not PointLot.objects.filter(pending=True, remaining__gt=0).exists()
    assert all(account_balance(user_id=user).total_points == 10 for user in range(100, 140))
    assert ledger_drift() == []


def test_a_redemption_that_waited_for_the_account_lock_consumes_the_lots_as_committed(app):
    """The ledger function reads the lots only once it holds the account row lock: a
    redemption that waited for another transaction's debit consumes what that debit left,
    not what it would have seen before waiting."""
    import threading
    import time

    import psycopg2

    from rewards.models import LotConsumption
    from tests.live import live_database_url

    services.points_earn(user_id=USER, points=60, description="a", app=app)
    services.points_earn(user_id=USER, points=60, description="b", app=app)
    first, second = PointLot.objects.order_by("id")
    other = psycopg2.connect(live_database_url())
    cursor = other.cursor()
    # Another transaction spends 40 of the first lot and holds the account row lock.
    cursor.execute("UPDATE rewards_account SET total_points_redeemed = 40 WHERE user_id = %s", [USER])
    cursor.execute("UPDATE rewards_pointlot SET remaining = 20 WHERE id = %s", [first.pk])
    results = []

    def redeem() -> None:
        try:
            results.append(
                services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5.00"), description="x", app=app)
            )
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=redeem)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the row lock
    other.commit()
    other.close()
    thread.join(10)

    [posting] = results
    assert posting.balance.total_points == 120 - 40 - 50
    taken = dict(LotConsumption.objects.filter(debit=posting.reward).values_list("lot_id", "points"))
    assert taken == {first.pk: 20, second.pk: 30}
    assert list(PointLot.objects.order_by("id").values_list("remaining", flat=True)) == [0, 30]


def test_polling_stops_before_an_event_whose_transaction_is_still_running(app):
    import psycopg2

    from rewards.selectors import events_after
    from tests.live import live_database_url

    services.points_earn(user_id=USER, points=1, description="first", app=app)
    other = psycopg2.connect(live_database_url())
    cursor = other.cursor()
    # A transaction takes the next event id and has not committed yet...
    cursor.execute(
        "INSERT INTO rewards_event (type, user_id, data, created_at) VALUES ('points.earned', %s, '{}', now())", [USER]
    )
    # ...while a later one commits.
    services.points_earn(user_id=USER, points=3, description="third", app=app)

    held = events_after(after=0)
    other.commit()
    other.close()
    settled = events_after(after=held.next_after)

    assert [e.data["reward"]["points_earned"] for e in held.events] == [1]
    assert [e.data.get("reward", {}).get("points_earned") for e in settled.events] == [None, 3]


def test_four_birthday_runs_at_once_reward_each_birthday_once(committed_shop_app):
    when = datetime(2027, 6, 15, 8, tzinfo=UTC)
    services.rule_create(
        definition={
            "name": "Gift",
            "trigger": "birthday",
            "status": "active",
            "effect": {"type": "fixed", "points": 5},
        },
        by="test",
    )
    for user_id in range(7000, 7040):
        services.birthday_set(user_id=user_id, month=6, day=15, now=datetime(2027, 1, 1, tzinfo=UTC))

    reports = run_concurrently(lambda _: services.birthdays_award(now=when, batch_size=7), 4)

    assert sum(report.awarded for report in reports) == 40
    assert Reward.objects.filter(kind="birthday").count() == 40
    assert ledger_drift() == []

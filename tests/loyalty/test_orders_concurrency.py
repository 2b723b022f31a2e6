"""Orders and returns racing each other on real parallel PostgreSQL connections."""

import random

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from loyalty.models import Order, OrderCounter
from rewards.models import Reward
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

USER = 3001
T0 = 1_700_000_000


@pytest.fixture
def app(committed_shop_app):
    return committed_shop_app


def test_one_order_posted_by_8_threads_awards_points_once(app):
    body = {"user_id": USER, "order_id": 1, "total_cost": 1000, "completed_at": T0}

    responses = run_concurrently(lambda i: client_for(app).post("/loyalty-api/orders", body, format="json"), 8)

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert {r.json()["points_awarded"] for r in responses} == {50}
    assert Reward.objects.filter(kind="order").count() == 1
    assert account_balance(user_id=USER).total_points == 50
    assert OrderCounter.objects.get(user_id=USER).orders_placed == 1
    assert ledger_drift() == []


def test_one_order_id_posted_for_different_customers_is_recorded_once(app):
    def post(i: int):
        body = {"user_id": USER + i, "order_id": 2, "total_cost": 1000, "completed_at": T0}
        return client_for(app).post("/loyalty-api/orders", body, format="json")

    responses = run_concurrently(post, 6)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert Order.objects.count() == 1 and Reward.objects.count() == 1
    assert ledger_drift() == []


def test_racing_returns_take_the_points_back_once(app):
    client_for(app).post(
        "/loyalty-api/orders", {"user_id": USER, "order_id": 3, "total_cost": 2000, "completed_at": T0}, format="json"
    )

    responses = run_concurrently(lambda i: client_for(app).delete("/loyalty-api/orders/3"), 8)

    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    assert Reward.objects.filter(kind="order_return").count() == 1
    assert account_balance(user_id=USER).total_points == 0
    assert OrderCounter.objects.get(user_id=USER).orders_returned == 1


def test_mixed_concurrent_run_keeps_one_consistent_balance(app):
    """Orders, returns, earns and redemptions on a few customers at once."""
    users = [USER + n for n in range(4)]
    rng = random.Random(20261121)
    plan = [(rng.choice(users), rng.choice(["order", "return", "earn", "coupon", "donation"])) for _ in range(96)]

    def work(i: int):
        user, action = plan[i]
        client = client_for(app)
        if action == "order":
            body = {"user_id": user, "order_id": 10_000 + i, "total_cost": rng.randint(0, 3000), "completed_at": T0}
            return client.post("/loyalty-api/orders", body, format="json").status_code
        if action == "return":
            order = Order.objects.filter(user_id=user, returned_at__isnull=True).first()
            return client.delete(f"/loyalty-api/orders/{order.order_id}").status_code if order else 404
        if action == "earn":
            body = {"user_id": user, "points_earned": 40, "reward_description": "event"}
            return client.post("/rewards-api/earn-points/", body, format="json").status_code
        body = {"user_id": user, "points_redeemed": 50, f"{action}_amount": 5, "reward_description": action}
        return client.post(f"/rewards-api/redeem-{action}/", body, format="json").status_code

    statuses = []
    for batch in range(4):  # 4 rounds of 24 parallel calls
        statuses += run_concurrently(lambda i, b=batch: work(b * 24 + i), 24)

    assert not [s for s in statuses if isinstance(s, BaseException)], statuses
    assert set(statuses) <= {200, 201, 404, 409}
    assert 201 in statuses
    assert ledger_drift() == []
    call_command("check_ledger")
    for user in users:
        counts = Order.objects.filter(user_id=user).aggregate(
            placed=Count("pk"), returned=Count("pk", filter=Q(returned_at__isnull=False))
        )
        counter = OrderCounter.objects.filter(user_id=user).first()
        kept = (counter.orders_placed, counter.orders_returned) if counter else (0, 0)
        assert kept == (counts["placed"], counts["returned"])
        assert_no_redemption_overdrew(user)
    assert Reward.objects.filter(kind="order_return").count() == Order.objects.filter(returned_at__isnull=False).count()


def assert_no_redemption_overdrew(user_id: int) -> None:
    """Replay the customer's ledger: each redemption found the balance covering it.

    Ledger ids are drawn while the account row is locked, so per customer they are
    in the order the balance changed.
    """
    balance = 0
    for row in Reward.objects.filter(user_id=user_id).order_by("id"):
        if row.kind in ("coupon", "donation"):
            assert balance >= row.points_redeemed, (user_id, row.id, balance)
        balance += row.points_earned - row.points_redeemed
    assert balance == account_balance(user_id=user_id).total_points

"""Referrals on real parallel PostgreSQL connections: two customers claiming each other's code
at once, and the first orders of customers who referred each other (as an older database may
hold them), each of which credits the other."""

import pytest
from django.utils import timezone

from loyalty.models import Order, OrderCounter, Referral, ReferralCode
from rewards import services
from rewards.models import Reward
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

BASE = 9100
T0 = 1_700_000_000
PAIRS = 8


def referral_rules() -> None:
    for role, points in (("referee", 100), ("referrer", 200)):
        services.rule_create(
            definition={
                "name": f"Referral, {role}",
                "trigger": "referral",
                "status": "active",
                "effect": {"type": "fixed", "points": points, "role": role},
            },
            by="test",
        )


def test_two_customers_claiming_each_others_code_at_once_make_one_referral(committed_shop_app):
    first, second = BASE, BASE + 1
    client = client_for(committed_shop_app)
    codes = {
        user_id: client.post("/rewards-api/referral-code/", {"user_id": user_id}, format="json").json()["code"]
        for user_id in (first, second)
    }
    claims = [(first, codes[second]), (second, codes[first])]

    responses = run_concurrently(
        lambda i: client_for(committed_shop_app).post(
            "/rewards-api/referrals/", {"user_id": claims[i][0], "code": claims[i][1]}, format="json"
        ),
        2,
    )

    assert sorted(response.status_code for response in responses) == [201, 409]
    assert [r.json()["error"]["code"] for r in responses if r.status_code == 409] == ["referral_loop"]
    assert Referral.objects.count() == 1


def test_first_orders_of_customers_who_referred_each_other_and_their_returns_all_succeed(committed_shop_app):
    referral_rules()
    now = timezone.now()
    for pair in range(PAIRS):
        a, b = BASE + 2 * pair, BASE + 2 * pair + 1
        for user_id in (a, b):
            ReferralCode.objects.create(user_id=user_id, code=f"PAIR{user_id}", created_at=now)
        # Each referred the other: rows an older database, which did not refuse it, may hold.
        Referral.objects.create(referee_user_id=a, referrer_user_id=b, code=f"PAIR{b}", created_at=now)
        Referral.objects.create(referee_user_id=b, referrer_user_id=a, code=f"PAIR{a}", created_at=now)
    customers = [BASE + n for n in range(2 * PAIRS)]

    def first_order(i: int):
        body = {"user_id": customers[i], "order_id": 1 + i, "total_cost": 2000, "completed_at": T0}
        return client_for(committed_shop_app).post("/loyalty-api/orders", body, format="json")

    responses = run_concurrently(first_order, len(customers))

    assert [response.status_code for response in responses] == [201] * len(customers), [
        response.json() for response in responses
    ]
    assert {response.json()["points_awarded"] for response in responses} == {100 + 100}
    # Each customer: their order's 100, their referee award of 100, and 200 as the other's referrer.
    assert {account_balance(user_id=user_id).total_points for user_id in customers} == {400}
    assert Reward.objects.filter(kind="referral").count() == 2 * len(customers)
    assert Order.objects.count() == len(customers)
    assert Referral.objects.filter(rewarded_order__isnull=True).count() == 0
    assert ledger_drift() == []

    # Their returns, at once: each takes back from both customers of its pair.
    returns = run_concurrently(
        lambda i: client_for(committed_shop_app).delete(f"/loyalty-api/orders/{1 + i}"), len(customers)
    )

    assert [response.status_code for response in returns] == [200] * len(customers), [
        response.json() for response in returns
    ]
    assert {response.json()["points_taken_back"] for response in returns} == {200}
    assert {account_balance(user_id=user_id).total_points for user_id in customers} == {0}
    assert Reward.objects.filter(kind="order_return").count() == 3 * len(customers)
    assert ledger_drift() == []


def test_racing_orders_of_one_referred_customer_count_each_once_and_reward_the_referral_once(committed_shop_app):
    # The order's first statement counts it and reads the program: under the counter's row lock,
    # each racing order sees the count the one before it left, so exactly one is the first order.
    referral_rules()
    referee, referrer, orders = BASE + 50, BASE + 51, 8
    now = timezone.now()
    ReferralCode.objects.create(user_id=referrer, code="RACER", created_at=now)
    Referral.objects.create(referee_user_id=referee, referrer_user_id=referrer, code="RACER", created_at=now)

    def order(i: int):
        body = {"user_id": referee, "order_id": 500 + i, "total_cost": 2000, "completed_at": T0}
        return client_for(committed_shop_app).post("/loyalty-api/orders", body, format="json")

    responses = run_concurrently(order, orders)

    assert [response.status_code for response in responses] == [201] * orders, [r.json() for r in responses]
    # The base order rule's 100 each, and the referee's 100 on the first order only.
    assert sorted(response.json()["points_awarded"] for response in responses) == [100] * (orders - 1) + [200]
    assert OrderCounter.objects.get(user_id=referee).orders_placed == orders
    referral = Referral.objects.get(referee_user_id=referee)
    first = next(r.json()["order_id"] for r in responses if r.json()["points_awarded"] == 200)
    assert referral.rewarded_order_id == first
    assert sorted(Reward.objects.filter(kind="referral").values_list("user_id", "points_earned", "pending_change")) == [
        (referee, 100, 0),
        (referrer, 200, 0),
    ]
    assert account_balance(user_id=referee).total_points == 100 * orders + 100
    assert account_balance(user_id=referrer).total_points == 200
    assert ledger_drift() == []

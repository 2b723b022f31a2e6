"""Referrals on real parallel PostgreSQL connections: two customers claiming each other's code
at once, and the first orders of customers who referred each other (as an older database may
hold them), each of which credits the other."""

import pytest
from django.utils import timezone

from loyalty.models import Order, Referral, ReferralCode
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

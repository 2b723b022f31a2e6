"""Concurrent redemptions and coupon uses on real parallel PostgreSQL connections."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from rewards import services
from rewards.models import RedeemedItem, Reward
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
]

USER = 7


@pytest.fixture
def app(committed_shop_app):
    return committed_shop_app


def test_32_concurrent_redemptions_of_50_against_500_exactly_10_succeed(app):
    services.points_earn(user_id=USER, points=500, description="seed", app=app)
    body = {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "race"}

    def redeem(i: int):
        return client_for(app).post("/rewards-api/redeem-coupon/", body, format="json")

    responses = run_concurrently(redeem, 32)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 22
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all(b["error"]["code"] == "insufficient_points" for b in refused)
    balance = account_balance(user_id=USER)
    assert (balance.total_points, balance.total_points_redeemed) == (0, 500)
    assert Reward.objects.filter(kind="coupon").count() == 10
    codes = set(RedeemedItem.objects.values_list("item_code", flat=True))
    assert len(codes) == 10 and all(len(code) == 16 for code in codes)
    assert ledger_drift() == []
    call_command("check_ledger")


def test_racing_uses_of_one_coupon_exactly_one_wins(app):
    services.points_earn(user_id=USER, points=150, description="seed", app=app)
    for _ in range(3):  # a fresh coupon each round: a race may not interleave every time
        code = services.coupon_redeem(
            user_id=USER, points=50, amount=Decimal("5.00"), description="c", app=app
        ).redeemed_item.item_code

        def use(i: int, code: str = code):
            return client_for(app).post("/rewards-api/use-coupon/", {"item_code": code}, format="json")

        responses = run_concurrently(use, 8)

        assert sorted(r.status_code for r in responses) == [200] + [409] * 7
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"coupon_already_used"}
        assert Reward.objects.get(redeemed_item__item_code=code).is_active is False


def test_concurrent_earns_on_a_new_customer_create_one_account(app):
    def earn(i: int):
        return services.points_earn(user_id=USER + 1, points=i + 1, description=f"e{i}", app=app)

    results = run_concurrently(earn, 16)

    assert not [r for r in results if isinstance(r, BaseException)]
    assert account_balance(user_id=USER + 1).total_points == sum(range(1, 17))
    assert ledger_drift() == []

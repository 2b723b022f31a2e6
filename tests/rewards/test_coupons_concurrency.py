"""Stock and voids under real concurrency: parallel PostgreSQL connections, each a request."""

from decimal import Decimal

import pytest

from loyalty.customers import customer_session_issue
from rewards import services
from rewards.models import CatalogItem, RedeemedItem, Reward, RewardKind
from rewards.selectors import account_balance, ledger_drift
from tests.concurrency import run_concurrently
from tests.conftest import client_for

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"points_redeemed": 200, "coupon_amount": "20", "reward_description": "Coupon"}


def _coupon(stock: int | None) -> CatalogItem:
    return CatalogItem.objects.create(
        kind="coupon", points_cost=200, amount=Decimal("20"), description="$20 coupon", stock=stock
    )


def test_32_customer_sessions_race_for_the_last_unit_and_one_wins(committed_shop_app):
    coupon = _coupon(stock=1)
    customers = [7000 + i for i in range(32)]
    for user_id in customers:
        services.points_earn(user_id=user_id, points=250, description="Bonus", app=committed_shop_app)
    tokens = [customer_session_issue(user_id=user_id, app=committed_shop_app).token for user_id in customers]

    def redeem(i: int):
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
        return client.post("/rewards-api/redeem-coupon/", {**BODY, "user_id": customers[i]}, format="json")

    responses = run_concurrently(redeem, 32)

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 31
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    winner = next(customers[i] for i, r in enumerate(responses) if r.status_code == 201)
    balances = {user_id: account_balance(user_id=user_id).total_points for user_id in customers}
    assert balances == {user_id: 50 if user_id == winner else 250 for user_id in customers}
    coupon.refresh_from_db()
    assert (coupon.units_out, coupon.stock_left) == (1, 0)
    assert RedeemedItem.objects.filter(catalog_item=coupon).count() == 1
    assert ledger_drift() == []


def test_two_racing_voids_give_back_once_and_a_racing_use_or_void_wins_whole(committed_shop_app):
    _coupon(stock=None)
    for user_id in (7100, 7101):
        services.points_earn(user_id=user_id, points=200, description="Bonus", app=committed_shop_app)
    codes = [
        services.coupon_redeem(
            user_id=user_id, points=200, amount=Decimal("20"), description="c", app=None
        ).redeemed_item.item_code
        for user_id in (7100, 7101)
    ]
    client = client_for(committed_shop_app)

    voids = run_concurrently(
        lambda i: client_for(committed_shop_app).post(
            "/rewards-api/void-coupon/", {"item_code": codes[0], "reason": "twice"}, format="json"
        ),
        8,
    )
    mixed = run_concurrently(
        lambda i: client_for(committed_shop_app).post(
            *(
                ("/rewards-api/void-coupon/", {"item_code": codes[1], "reason": "race"})
                if i % 2
                else ("/rewards-api/use-coupon/", {"item_code": codes[1]})
            ),
            format="json",
        ),
        8,
    )

    assert sorted(r.status_code for r in voids) == [200] + [409] * 7
    assert Reward.objects.filter(kind=RewardKind.REFUND, user_id=7100).count() == 1
    assert account_balance(user_id=7100).total_points == 200
    winners = [r for r in mixed if r.status_code == 200]
    assert len(winners) == 1
    voided = "points_refunded" in winners[0].json()
    assert account_balance(user_id=7101).total_points == (200 if voided else 0)
    assert RedeemedItem.objects.get(item_code=codes[1]).state == ("voided" if voided else "used")
    assert client.get("/rewards-api/get-points/", {"user_id": 7101}).status_code == 200
    assert ledger_drift() == []

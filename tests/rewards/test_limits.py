"""No arithmetic overflows into a 500: every credit is capped alike, and a posting that
would pass an account total's bigint range is refused with a 4xx, writing nothing."""

import pytest

from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from loyalty.models import Order, OrderCounter
from loyalty.services import order_record
from rewards import services
from rewards.models import Account, Reward

pytestmark = pytest.mark.django_db

USER = 3131


def near_the_limit(shop_app, *, earned: int = 0, redeemed: int = 0) -> tuple[int, int]:
    """An account whose totals sit just below the column's range; returns the totals."""
    services.points_earn(user_id=USER, points=10, description="seed", app=shop_app)
    Account.objects.filter(user_id=USER).update(total_points_earned=earned, total_points_redeemed=redeemed)
    return earned, redeemed


def totals() -> tuple[int, int]:
    account = Account.objects.get(user_id=USER)
    return account.total_points_earned, account.total_points_redeemed


def test_earning_past_the_bigint_range_is_409_and_writes_nothing(shop, shop_app):
    before = near_the_limit(shop_app, earned=MAX_BIGINT - 5, redeemed=MAX_BIGINT - 100)
    rows = Reward.objects.count()

    response = shop.post(
        "/rewards-api/earn-points/",
        {"user_id": USER, "points_earned": 6, "reward_description": "x"},
        format="json",
    )
    exact_fit = shop.post(
        "/rewards-api/earn-points/",
        {"user_id": USER, "points_earned": 5, "reward_description": "x"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "balance_limit_exceeded"
    assert exact_fit.status_code == 201 and exact_fit.json()["total_points_earned"] == MAX_BIGINT
    assert Reward.objects.count() == rows + 1
    assert totals() == (before[0] + 5, before[1])


def test_an_order_past_the_bigint_range_is_409_and_records_nothing(shop, shop_app):
    before = near_the_limit(shop_app, earned=MAX_BIGINT - 1, redeemed=MAX_BIGINT - 100)

    response = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 1, "total_cost": 1000, "completed_at": 1_700_000_000},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "balance_limit_exceeded"
    assert not Order.objects.exists()
    assert not OrderCounter.objects.filter(user_id=USER).exists()
    assert totals() == before


def test_a_return_past_the_bigint_range_is_409_and_changes_nothing(shop, shop_app):
    order_record(order_id=2, user_id=USER, total_cost=1000, completed_at=1_700_000_000, app=shop_app)
    Account.objects.filter(user_id=USER).update(total_points_earned=MAX_BIGINT, total_points_redeemed=MAX_BIGINT - 10)
    before = totals()

    response = shop.delete("/loyalty-api/orders/2")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "balance_limit_exceeded"
    assert Order.objects.get(order_id=2).returned_at is None
    assert OrderCounter.objects.get(user_id=USER).orders_returned == 0
    assert totals() == before


def test_an_order_worth_more_than_one_entry_may_carry_is_400(shop):
    # At the base rule's 0.05 points per unit, 20,000,000,020 units would earn 1,000,000,001
    # points: more than one entry may carry.
    response = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 3, "total_cost": 20_000_000_020, "completed_at": 1_700_000_000},
        format="json",
    )
    at_the_cap = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 4, "total_cost": 20_000_000_000, "completed_at": 1_700_000_000},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "points_limit_exceeded"
    assert "total_cost" in response.json()["error"]["fields"]
    assert at_the_cap.status_code == 201 and at_the_cap.json()["points_awarded"] == MAX_POINTS_PER_ENTRY
    assert list(Order.objects.values_list("order_id", flat=True)) == [4]
    assert OrderCounter.objects.get(user_id=USER).orders_placed == 1


def test_the_services_cap_every_credit_whoever_calls_them(shop_app):
    """Below the API's own checks, the ledger refuses an oversized entry from any caller."""
    from decimal import Decimal

    from rewards.services import PointsPerEntryExceeded

    with pytest.raises(PointsPerEntryExceeded):
        services.purchase_record(user_id=USER, amount=Decimal("9999999999.99"), description="x", app=shop_app)
    with pytest.raises(PointsPerEntryExceeded):
        order_record(order_id=5, user_id=USER, total_cost=10**15, completed_at=1_700_000_000, app=shop_app)
    with pytest.raises(PointsPerEntryExceeded):
        services.points_earn(user_id=USER, points=MAX_POINTS_PER_ENTRY + 1, description="x", app=shop_app)
    assert not Reward.objects.exists() and not Order.objects.exists()


def test_a_release_that_would_pass_the_bigint_range_leaves_the_lot_pending_and_writes_nothing(shop_app, settings):
    """The lifecycle job cannot answer an error to anyone: the lot waits, pending, and the
    customer's other due lots still move."""
    from datetime import timedelta

    from django.utils import timezone

    from rewards.models import Event, PointLot, RewardKind

    settings.ORDER_POINTS_PENDING_DAYS = 14
    order_record(order_id=1, user_id=USER, total_cost=2000, completed_at=int(timezone.now().timestamp()), app=shop_app)
    before = near_the_limit(shop_app, earned=MAX_BIGINT - 50, redeemed=MAX_BIGINT - 60)
    rows, events = Reward.objects.count(), Event.objects.count()

    report = services.points_lifecycle_run(now=timezone.now() + timedelta(days=15))

    assert report.released.done == 0
    assert PointLot.objects.get(credit__kind=RewardKind.ORDER).pending
    assert totals() == before
    assert (Reward.objects.count(), Event.objects.count()) == (rows, events)

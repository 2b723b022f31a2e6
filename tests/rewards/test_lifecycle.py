"""The points lifecycle: pending points, expiry, lots consumed soonest-expiring first, partial
returns. Exact figures for every part of the balance after each step."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.models import Order, OrderCounter
from loyalty.services import ReturnExceedsOrder, order_record, order_return
from rewards import services
from rewards.models import LotConsumption, PointLot, Reward, RewardKind
from rewards.selectors import account_balance, ledger_drift

pytestmark = pytest.mark.django_db

USER = 5150
DAY = timedelta(days=1)


def lot_of(posting: services.Posting) -> PointLot:
    """The lot a credit opened."""
    return PointLot.objects.get(credit_id=posting.reward.pk)


def parts(user_id: int = USER) -> dict:
    balance = account_balance(user_id=user_id)
    return {
        "available": balance.total_points,
        "pending": balance.pending_points,
        "expiring": balance.expiring_points,
        "next_expiry_at": balance.next_expiry_at,
        "next_available_at": balance.next_available_at,
    }


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def run_lifecycle(now: datetime | None = None):
    report = services.points_lifecycle_run(now=now)
    assert ledger_drift() == []
    return report


@pytest.fixture
def return_window(settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14


@pytest.fixture
def validity(settings):
    settings.POINTS_VALIDITY_DAYS = 365
    settings.EXPIRY_NOTICE_DAYS = 30


# ---- defaults: nothing changes ------------------------------------------------------------


def test_with_the_defaults_every_credit_is_available_at_once_and_never_expires(shop_app):
    services.points_earn(user_id=USER, points=120, description="x", app=shop_app)
    order_record(order_id=1, user_id=USER, total_cost=1000, completed_at=unix(timezone.now()), app=shop_app)

    assert parts() == {"available": 170, "pending": 0, "expiring": 0, "next_expiry_at": None, "next_available_at": None}
    lots = list(PointLot.objects.order_by("id").values_list("points", "remaining", "pending", "expires_at"))
    assert lots == [(120, 120, False, None), (50, 50, False, None)]
    report = run_lifecycle()
    assert (report.released.done, report.expired.done, report.noticed.done) == (0, 0, 0)


# ---- pending points during the return window --------------------------------------------------


def test_an_orders_points_are_pending_until_the_window_closes(shop_app, return_window):
    completed = timezone.now() - 3 * DAY

    outcome = order_record(order_id=10, user_id=USER, total_cost=1000, completed_at=unix(completed), app=shop_app)

    available_at = completed.replace(microsecond=0) + 14 * DAY
    assert outcome.available_at == available_at
    assert parts() == {
        "available": 0,
        "pending": 50,
        "expiring": 0,
        "next_expiry_at": None,
        "next_available_at": available_at,
    }
    row = Reward.objects.get(kind=RewardKind.ORDER)
    assert (row.points_earned, row.pending_change) == (0, 50)
    # Pending points cannot be spent.
    with pytest.raises(services.InsufficientPoints):
        services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)

    run_lifecycle(now=available_at - timedelta(seconds=1))
    assert parts()["pending"] == 50

    report = run_lifecycle(now=available_at)

    assert report.released.done == 1
    assert parts() == {"available": 50, "pending": 0, "expiring": 0, "next_expiry_at": None, "next_available_at": None}
    release = Reward.objects.get(kind=RewardKind.RELEASE)
    assert (release.points_earned, release.pending_change, release.reward_description) == (
        50,
        -50,
        "Now available: Order 10",
    )
    # Idempotent: a second pass finds nothing due.
    assert run_lifecycle(now=available_at).released.done == 0
    assert Reward.objects.filter(kind=RewardKind.RELEASE).count() == 1


def test_an_order_completed_long_ago_is_available_at_once(shop_app, return_window):
    completed = timezone.now() - 20 * DAY
    order_record(order_id=11, user_id=USER, total_cost=400, completed_at=unix(completed), app=shop_app)
    assert parts()["available"] == 20 and parts()["pending"] == 0


def test_other_credit_kinds_can_have_a_pending_period(shop_app, settings):
    settings.CREDIT_PENDING_DAYS = {"purchase": 7}
    services.purchase_record(user_id=USER, amount=Decimal("30"), description="x", app=shop_app)
    services.points_earn(user_id=USER, points=5, description="x", app=shop_app)
    assert (parts()["available"], parts()["pending"]) == (5, 60)


def test_a_return_while_pending_cancels_the_pending_lot_and_leaves_available_points_alone(shop_app, return_window):
    services.points_earn(user_id=USER, points=30, description="x", app=shop_app)
    order_record(order_id=12, user_id=USER, total_cost=1000, completed_at=unix(timezone.now()), app=shop_app)
    assert (parts()["available"], parts()["pending"]) == (30, 50)

    outcome = order_return(order_id=12, app=shop_app)

    assert outcome.points_taken_back == 50
    assert parts() == {"available": 30, "pending": 0, "expiring": 0, "next_expiry_at": None, "next_available_at": None}
    lot = PointLot.objects.get(credit__kind=RewardKind.ORDER)
    assert (lot.remaining, lot.cancelled_points, lot.pending) == (0, 50, True)
    row = Reward.objects.get(kind=RewardKind.ORDER_RETURN)
    assert (row.points_earned, row.points_redeemed, row.pending_change) == (0, 0, -50)
    # Nothing left to release later.
    assert run_lifecycle(now=timezone.now() + 30 * DAY).released.done == 0
    assert parts()["available"] == 30


def test_a_return_after_the_points_became_available_takes_them_back(shop_app, return_window):
    order_record(order_id=13, user_id=USER, total_cost=1000, completed_at=unix(timezone.now()), app=shop_app)
    run_lifecycle(now=timezone.now() + 15 * DAY)
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)

    order_return(order_id=13, app=shop_app)

    assert parts()["available"] == -50
    assert account_balance(user_id=USER).total_points == -50
    # The next points that become available pay the deficit first.
    services.points_earn(user_id=USER, points=80, description="x", app=shop_app)
    assert parts()["available"] == 30
    earn_lot = PointLot.objects.get(credit__kind=RewardKind.EARN)
    assert earn_lot.remaining == 30
    assert LotConsumption.objects.get(lot=earn_lot).debit is None
    assert ledger_drift() == []


# ---- expiry and the order of consumption -----------------------------------------------------


def test_debits_take_the_soonest_expiring_lots_first_never_expiring_last(shop_app, validity, settings):
    now = timezone.now()
    settings.POINTS_VALIDITY_DAYS = None
    never = lot_of(services.points_earn(user_id=USER, points=100, description="never", app=shop_app))
    settings.POINTS_VALIDITY_DAYS = 365
    late = lot_of(services.points_earn(user_id=USER, points=40, description="late", app=shop_app))
    settings.POINTS_VALIDITY_DAYS = 20
    soon = lot_of(services.points_earn(user_id=USER, points=30, description="soon", app=shop_app))
    soon_too = lot_of(services.points_earn(user_id=USER, points=10, description="soon too", app=shop_app))

    assert parts()["available"] == 180
    assert parts()["expiring"] == 40  # the two lots expiring within 30 days
    assert abs(parts()["next_expiry_at"] - (now + 20 * DAY)) < timedelta(seconds=5)

    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)

    remaining = {lot.pk: lot.remaining for lot in PointLot.objects.all()}
    # 30 from "soon" (oldest of the two soonest), 10 from "soon too", 10 from "late"; "never" untouched.
    assert [remaining[lot.pk] for lot in (soon, soon_too, late, never)] == [0, 0, 30, 100]
    coupon = Reward.objects.get(kind=RewardKind.COUPON)
    assert sorted(c.points for c in LotConsumption.objects.filter(debit=coupon)) == [10, 10, 30]
    assert parts()["expiring"] == 0
    assert abs(parts()["next_expiry_at"] - (late.expires_at)) < timedelta(seconds=1)
    assert ledger_drift() == []


def test_a_half_spent_lot_expires_only_its_remainder(shop_app, validity, settings):
    lot = lot_of(services.points_earn(user_id=USER, points=100, description="welcome", app=shop_app))
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    settings.POINTS_VALIDITY_DAYS = None
    services.points_earn(user_id=USER, points=1, description="later", app=shop_app)  # never expires

    report = run_lifecycle(now=lot.expires_at)

    assert report.expired.done == 1
    expiry = Reward.objects.get(kind=RewardKind.EXPIRY)
    assert (expiry.points_redeemed, expiry.reward_description) == (50, "Expired: welcome")
    lot.refresh_from_db()
    assert (lot.remaining, lot.expired_points) == (0, 50)
    assert parts()["available"] == 1
    assert run_lifecycle(now=lot.expires_at).expired.done == 0


def test_lots_entering_the_notice_window_count_as_expiring(shop_app, validity):
    lot = lot_of(services.points_earn(user_id=USER, points=70, description="x", app=shop_app))
    assert parts()["expiring"] == 0

    report = run_lifecycle(now=lot.expires_at - 29 * DAY)

    assert report.noticed.done == 1
    assert parts()["expiring"] == 70
    assert run_lifecycle(now=lot.expires_at - 29 * DAY).noticed.done == 0
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    assert parts()["expiring"] == 20


def test_an_order_far_in_the_past_is_available_or_expired_after_one_pass(shop_app, return_window, settings):
    settings.POINTS_VALIDITY_DAYS = 30
    order_record(
        order_id=14, user_id=USER, total_cost=1000, completed_at=unix(timezone.now() - 100 * DAY), app=shop_app
    )
    order_record(order_id=15, user_id=USER, total_cost=400, completed_at=unix(timezone.now() - 20 * DAY), app=shop_app)

    run_lifecycle()

    assert Reward.objects.get(kind=RewardKind.EXPIRY).points_redeemed == 50
    assert parts()["available"] == 20 and parts()["pending"] == 0


def test_the_management_command_runs_one_pass(shop_app, return_window, capsys):
    order_record(order_id=16, user_id=USER, total_cost=200, completed_at=unix(timezone.now() - 15 * DAY), app=shop_app)
    order_record(order_id=17, user_id=USER, total_cost=200, completed_at=unix(timezone.now() - 1 * DAY), app=shop_app)
    PointLot.objects.filter(credit__reward_description="Order 17").update(available_at=timezone.now() - DAY)

    call_command("points_lifecycle")

    assert "released: 1 lot(s) of 1 customer(s)" in capsys.readouterr().out
    assert parts()["available"] == 20 and ledger_drift() == []


# ---- partial returns ------------------------------------------------------------------------------


def test_partial_returns_take_back_the_floor_of_the_returned_share(shop_app):
    order_record(order_id=20, user_id=USER, total_cost=1000, completed_at=1_700_000_000, app=shop_app)  # 50 points

    first = order_return(order_id=20, returned_cost=333, app=shop_app)
    second = order_return(order_id=20, returned_cost=333, app=shop_app)
    rest = order_return(order_id=20, app=shop_app)

    # floor(50 * 333 / 1000) = 16, floor(50 * 666 / 1000) = 33, then all 50.
    assert [first.points_taken_back, second.points_taken_back, rest.points_taken_back] == [16, 17, 17]
    order = Order.objects.get(order_id=20)
    assert (order.returned_cost, order.points_taken_back, order.is_fully_returned) == (1000, 50, True)
    assert parts()["available"] == 0
    assert OrderCounter.objects.get(user_id=USER).orders_returned == 1
    with pytest.raises(Exception, match="already been returned"):
        order_return(order_id=20, app=shop_app)


def test_returning_more_than_is_left_is_refused_and_changes_nothing(shop_app):
    order_record(order_id=21, user_id=USER, total_cost=100, completed_at=1_700_000_000, app=shop_app)
    order_return(order_id=21, returned_cost=60, app=shop_app)

    with pytest.raises(ReturnExceedsOrder):
        order_return(order_id=21, returned_cost=41, app=shop_app)

    order = Order.objects.get(order_id=21)
    assert (order.returned_cost, order.points_taken_back) == (60, 3)
    assert parts()["available"] == 2


def test_a_partly_returned_order_counts_once_for_the_coefficient(shop_app):
    for order_id in (30, 31):
        order_record(order_id=order_id, user_id=USER, total_cost=100, completed_at=1_700_000_000, app=shop_app)
    order_return(order_id=30, returned_cost=10, app=shop_app)
    order_return(order_id=30, returned_cost=10, app=shop_app)

    counter = OrderCounter.objects.get(user_id=USER)
    assert (counter.orders_placed, counter.orders_returned) == (2, 1)
    # coef = min(1, 1.2 - 1/3) = 0.8666..., so 1000 earns floor(50 * 0.8666...) = 43.
    outcome = order_record(order_id=32, user_id=USER, total_cost=1000, completed_at=1_700_000_000, app=shop_app)
    assert outcome.order.points_awarded == 43


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    total_cost=st.integers(min_value=1, max_value=10**7),
    cuts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=6),
)
def test_partial_returns_in_any_split_take_back_exactly_the_orders_points(shop_app, total_cost, cuts):
    """Whatever the split, the takes add up to the order's points, and never exceed what a
    whole return would take at any step."""
    order_id = PointLot.objects.count() + 10_000
    outcome = order_record(order_id=order_id, user_id=USER, total_cost=total_cost, completed_at=1, app=shop_app)
    points = outcome.order.points_awarded
    taken, returned = 0, 0
    for cut in cuts:
        part = min(cut, total_cost - returned)
        if part == 0:
            break
        taken += order_return(order_id=order_id, returned_cost=part, app=shop_app).points_taken_back
        returned += part
        assert taken == points * returned // total_cost
    if returned < total_cost:
        taken += order_return(order_id=order_id, app=shop_app).points_taken_back
    assert taken == points
    assert ledger_drift() == []


def test_a_partial_return_while_pending_cancels_only_that_share(shop_app, return_window):
    order_record(order_id=40, user_id=USER, total_cost=1000, completed_at=unix(timezone.now()), app=shop_app)

    order_return(order_id=40, returned_cost=400, app=shop_app)

    assert (parts()["available"], parts()["pending"]) == (0, 30)
    run_lifecycle(now=timezone.now() + 15 * DAY)
    assert (parts()["available"], parts()["pending"]) == (30, 0)
    order_return(order_id=40, app=shop_app)
    assert parts()["available"] == 0


def test_history_and_balance_answers_show_every_part(shop, shop_app, return_window, validity):
    order_record(order_id=50, user_id=USER, total_cost=1000, completed_at=unix(timezone.now()), app=shop_app)
    services.points_earn(user_id=USER, points=25, description="x", app=shop_app)

    points = shop.get(f"/rewards-api/get-points/?user_id={USER}").json()
    user = shop.get(f"/loyalty-api/user?user_id={USER}").json()
    info = shop.get(f"/rewards-api/get-user-info/?user_id={USER}").json()

    assert (points["total_points"], points["pending_points"], points["expiring_points"]) == (25, 50, 0)
    assert points["next_expiry_at"].endswith("Z") and points["next_available_at"].endswith("Z")
    assert (user["current_balance"], user["pending_points"]) == (25, 50)
    assert [(r["kind"], r["points_earned"], r["pending_change"]) for r in info["reward_history"]] == [
        ("earn", 25, 0),
        ("order", 0, 50),
    ]


def test_an_orders_answer_says_its_points_and_when_they_arrive(shop, return_window):
    completed = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    body = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 60, "total_cost": 1000, "completed_at": unix(completed)},
        format="json",
    ).json()

    assert (body["points"], body["available_at"]) == (50, "2026-11-15T12:00:00Z")
    expected_pending = 50 if completed + 14 * DAY > timezone.now() else 0
    assert body["pending_points"] == expected_pending


def test_a_partial_return_through_the_api(shop, shop_app):
    order_record(order_id=70, user_id=USER, total_cost=1000, completed_at=1_700_000_000, app=shop_app)

    part = shop.delete("/loyalty-api/orders/70?returned_cost=250")
    too_much = shop.delete("/loyalty-api/orders", {"order_id": 70, "returned_cost": 751}, format="json")
    rest = shop.delete("/loyalty-api/orders", {"order_id": 70}, format="json")

    assert part.status_code == 200
    assert (part.json()["points_taken_back"], part.json()["returned_cost"], part.json()["total_points"]) == (
        12,
        250,
        38,
    )
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "return_exceeds_order"
    assert (rest.json()["points_taken_back"], rest.json()["returned_cost"], rest.json()["total_points"]) == (
        38,
        1000,
        0,
    )


def test_a_zero_point_credit_has_nothing_to_wait_for_or_expire(shop_app, return_window, validity):
    order_record(order_id=80, user_id=USER, total_cost=19, completed_at=unix(timezone.now()), app=shop_app)
    services.purchase_record(user_id=USER, amount=Decimal("0.49"), description="x", app=shop_app)

    assert parts() == {"available": 0, "pending": 0, "expiring": 0, "next_expiry_at": None, "next_available_at": None}
    assert not PointLot.objects.filter(pending=True).exists()
    assert ledger_drift() == []

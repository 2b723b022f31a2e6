"""Rewards with stock, limits, dates, tiers and validity, and voiding a coupon exactly: its
points back to the very lots they came from, the unit and the customer's count with them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import (
    CatalogItem,
    CatalogRedemptionCount,
    Event,
    LotConsumption,
    PointLot,
    RedeemedItem,
    Reward,
    RewardKind,
)
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 5150


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 6, 1, 12, tzinfo=UTC)


def item(**fields) -> CatalogItem:
    """A $20 coupon for 200 points, with ``fields``."""
    return CatalogItem.objects.create(
        kind="coupon", points_cost=200, amount=Decimal("20"), description="$20 coupon", **fields
    )


def redeem(client, user_id: int = USER, points: int = 200, amount: str = "20"):
    body = {"user_id": user_id, "points_redeemed": points, "coupon_amount": amount, "reward_description": "Coupon"}
    return client.post("/rewards-api/redeem-coupon/", body, format="json")


def void(client, code: str, reason: str = "Changed their mind"):
    return client.post("/rewards-api/void-coupon/", {"item_code": code, "reason": reason}, format="json")


def earn(points: int, user_id: int = USER) -> None:
    services.points_earn(user_id=user_id, points=points, description="Bonus", app=None)


def snapshot(user_id: int = USER) -> tuple:
    return account_balance(user_id=user_id), Reward.objects.count(), RedeemedItem.objects.count()


# ---- refusals ------------------------------------------------------------------------------------


def test_the_last_unit_goes_once_and_the_refusal_writes_nothing(shop):
    coupon = item(stock=1)
    earn(1000)
    assert redeem(shop).status_code == 201
    before = snapshot()

    refused = redeem(shop)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "out_of_stock")
    assert snapshot() == before
    coupon.refresh_from_db()
    assert (coupon.units_out, coupon.stock_left) == (1, 0)


def test_two_a_month_allows_two_and_refuses_the_third_with_no_change(shop):
    item(per_customer_limit=2, limit_period="month")
    earn(1000)

    answers = [redeem(shop) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].json()["error"]["code"] == "redemption_limit_reached"
    assert account_balance(user_id=USER).total_points == 600
    assert RedeemedItem.objects.count() == 2
    assert CatalogRedemptionCount.objects.get().count == 2
    earn(1000, user_id=USER + 1)
    assert redeem(shop, user_id=USER + 1).status_code == 201  # another customer's own count


def test_a_failed_debit_gives_the_unit_and_the_count_back(shop):
    coupon = item(stock=5, per_customer_limit=1)
    earn(100)  # not enough

    refused = redeem(shop)

    assert refused.json()["error"]["code"] == "insufficient_points"
    coupon.refresh_from_db()
    assert coupon.units_out == 0 and not CatalogRedemptionCount.objects.filter(count__gt=0).exists()


def test_outside_its_dates_is_not_available(shop, clock):
    item(available_from=clock.now + timedelta(days=1))
    earn(1000)

    refused = redeem(shop)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_available")
    clock.now += timedelta(days=1)
    assert redeem(shop).status_code == 201


def test_a_tier_item_refuses_other_tiers(shop):
    services.ladder_set(
        definition={
            "tiers": [
                {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
                {"code": "gold", "name": "Gold", "entry_points": 1000, "retain_points": 800},
            ]
        },
        by="test",
    )
    item(tier_codes=["gold"])
    earn(1000)

    refused = redeem(shop)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "tier_required")
    assert RedeemedItem.objects.count() == 0


# ---- validity ---------------------------------------------------------------------------------------


def test_a_coupon_is_valid_for_its_days_and_refused_after(shop, clock):
    item(coupon_valid_days=30)
    earn(200)

    answer = redeem(shop).json()

    assert answer["redeemed_item"]["valid_until"] == "2026-07-01T12:00:00Z"
    history = shop.get("/rewards-api/get-redemptions/", {"user_id": USER}).json()["redemption_history"]
    assert history[0]["redeemed_item"]["valid_until"] == "2026-07-01T12:00:00Z"
    clock.now += timedelta(days=30)
    late = shop.post("/rewards-api/use-coupon/", {"item_code": answer["item_code"]}, format="json")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "coupon_expired")


def test_editing_an_item_never_changes_coupons_issued(shop, program, clock):
    coupon = item(coupon_valid_days=30)
    earn(200)
    code = redeem(shop).json()["item_code"]

    program.patch(f"/loyalty-api/catalog/{coupon.pk}", {"coupon_valid_days": 1, "active": False}, format="json")

    issued = RedeemedItem.objects.get(item_code=code)
    assert issued.valid_until == clock.now + timedelta(days=30)
    assert shop.post("/rewards-api/use-coupon/", {"item_code": code}, format="json").status_code == 200


@pytest.mark.parametrize("refund", [False, True])
def test_the_expiry_job_marks_expired_coupons_and_refunds_them_when_set(shop, settings, clock, refund):
    settings.COUPON_EXPIRY_REFUND = refund
    coupon = item(coupon_valid_days=7, stock=3)
    earn(200)
    code = redeem(shop).json()["item_code"]

    assert services.coupons_expire(now=clock.now + timedelta(days=6)).expired == 0
    clock.now += timedelta(days=7)
    report = services.coupons_expire()

    assert report.expired == 1 and services.coupons_expire().expired == 0
    issued = RedeemedItem.objects.get(item_code=code)
    coupon.refresh_from_db()
    assert issued.state == "expired"
    assert Event.objects.filter(type="coupon.expired").count() == 1
    assert account_balance(user_id=USER).total_points == (200 if refund else 0)
    assert coupon.units_out == (0 if refund else 1)
    assert ledger_drift() == []


# ---- voiding --------------------------------------------------------------------------------------


def test_a_void_gives_back_the_exact_points_the_unit_and_the_count_once(shop):
    coupon = item(stock=2, per_customer_limit=1)
    earn(150)
    earn(100)
    code = redeem(shop).json()["item_code"]
    lots = dict(PointLot.objects.values_list("id", "remaining"))

    voided = void(shop, code)
    again = void(shop, code)

    assert voided.status_code == 200
    answer = voided.json()
    assert (answer["points_refunded"], answer["points_expired"], answer["total_points"]) == (200, 0, 250)
    assert answer["state"] == "voided"
    assert (again.status_code, again.json()["error"]["code"]) == (409, "coupon_not_active")
    # Each lot got back exactly what the redemption took: 150 from the first, 50 from the second.
    assert lots == {min(lots): 0, max(lots): 50}
    assert dict(PointLot.objects.values_list("id", "remaining")) == {min(lots): 150, max(lots): 100}
    refund = Reward.objects.get(kind=RewardKind.REFUND)
    assert refund.points_earned == 200
    assert sorted(LotConsumption.objects.filter(debit=refund).values_list("points", flat=True)) == [-150, -50]
    coupon.refresh_from_db()
    assert coupon.units_out == 0 and CatalogRedemptionCount.objects.get().count == 0
    assert Event.objects.get(type="coupon.voided").data["reason"] == "Changed their mind"
    used = shop.post("/rewards-api/use-coupon/", {"item_code": code}, format="json")
    assert used.json()["error"]["code"] == "coupon_not_active"
    assert redeem(shop).status_code == 201  # the unit and the limit are free again
    assert ledger_drift() == []


def test_a_used_coupon_and_a_donation_cannot_be_voided(shop):
    earn(500)
    used = redeem(shop, points=50, amount="5").json()["item_code"]
    shop.post("/rewards-api/use-coupon/", {"item_code": used}, format="json")
    donation = services.donation_redeem(user_id=USER, points=50, amount=Decimal("5"), description="d", app=None)
    before = snapshot()

    answers = [void(shop, used), void(shop, donation.redeemed_item.item_code), void(shop, "NOSUCHCODE")]

    assert [(a.status_code, a.json()["error"]["code"]) for a in answers] == [
        (409, "coupon_used"),
        (409, "not_voidable"),
        (404, "coupon_not_found"),
    ]
    assert snapshot() == before


def _past_date_outcome(code: str) -> tuple:
    """What became of a coupon: its state, and its refund's reason, row and points."""
    issued = RedeemedItem.objects.get(item_code=code)
    refund = issued.refund
    return (
        issued.state,
        issued.refund_reason,
        refund.reward_description.replace(code, "<code>") if refund else None,
        refund.points_earned if refund else None,
    )


@pytest.mark.parametrize("refund", [False, True])
def test_a_void_past_valid_until_does_what_the_expiry_job_does(shop, settings, clock, refund):
    settings.COUPON_EXPIRY_REFUND = refund
    item(coupon_valid_days=7, stock=3)
    earn(400)
    late_code, job_code = (redeem(shop).json()["item_code"] for _ in range(2))
    clock.now += timedelta(days=7)  # both are past their valid_until; the job has not run yet
    before = snapshot()

    late = void(shop, late_code)

    if refund:  # its points come back as the job gives them: expired, not voided
        assert late.status_code == 200
        answer = late.json()
        assert (answer["points_refunded"], answer["points_expired"], answer["state"]) == (200, 0, "expired")
        assert answer["total_points"] == 200
        assert answer["message"] == f"Coupon {late_code} expired (its validity ended); 200 points given back."
        assert Event.objects.filter(type="coupon.expired").count() == 1
    else:  # refused as a use is, and nothing written: the job will mark it expired
        assert (late.status_code, late.json()["error"]["code"]) == (409, "coupon_expired")
        assert late.json()["error"]["message"] == "This coupon expired on 2026-06-08 12:00 UTC."
        assert snapshot() == before
        assert RedeemedItem.objects.get(item_code=late_code).state == "active"
    report = services.coupons_expire()
    assert report.expired == (1 if refund else 2)

    # The coupon voided before the job ends as the one the job expired: state, refund, rows.
    late_outcome, job_outcome = _past_date_outcome(late_code), _past_date_outcome(job_code)
    assert late_outcome == job_outcome
    assert late_outcome == (
        ("expired", "its validity ended", "Coupon <code> expired: its validity ended", 200)
        if refund
        else ("expired", "", None, None)
    )
    assert account_balance(user_id=USER).total_points == (400 if refund else 0)
    assert CatalogItem.objects.get(stock=3).units_out == (0 if refund else 2)
    assert Event.objects.filter(type="coupon.expired").count() == 2 and not Event.objects.filter(type="coupon.voided")
    after_the_job = void(shop, late_code)
    assert (after_the_job.status_code, after_the_job.json()["error"]["code"]) == (409, "coupon_not_active")
    assert ledger_drift() == []


def test_a_void_after_a_consumed_lot_expired_gives_that_part_back_expired(shop, settings, clock):
    settings.POINTS_VALIDITY_DAYS = 10
    earn(30)  # expires on 11 June
    settings.POINTS_VALIDITY_DAYS = None
    earn(100)  # never expires
    code = redeem(shop, points=50, amount="5").json()["item_code"]  # 30 from the first lot, 20 from the second
    assert account_balance(user_id=USER).total_points == 80

    clock.now += timedelta(days=11)
    services.points_lifecycle_run()  # the first lot has nothing left to expire
    answer = void(shop, code).json()

    # With a pencil: 130 earned, 50 spent, 50 given back of which 30 had expired meanwhile.
    assert (answer["points_refunded"], answer["points_expired"]) == (50, 30)
    assert answer["total_points"] == 130 - 50 + 50 - 30
    expiry = Reward.objects.filter(kind=RewardKind.EXPIRY).get()
    assert expiry.points_redeemed == 30 and "given back by Changed their mind" in expiry.reward_description
    first, second = PointLot.objects.order_by("id")
    assert (first.remaining, first.expired_points, second.remaining) == (0, 30, 100)
    assert ledger_drift() == []


def test_a_void_pays_what_the_customer_owes_first(shop):
    from loyalty.services import order_record, order_return

    earn(50)
    order_record(order_id=1, user_id=USER, total_cost=2000, completed_at=1_700_000_000, app=None)  # 100, available
    code = redeem(shop, points=100, amount="10").json()["item_code"]
    order_return(order_id=1, app=None)  # takes back 100: 50 left, 50 owed
    assert account_balance(user_id=USER).total_points == -50

    answer = void(shop, code).json()

    assert (answer["points_refunded"], answer["total_points"]) == (100, 50)
    assert PointLot.objects.filter(remaining__gt=0).count() == 1
    assert LotConsumption.objects.filter(debit__isnull=True).get().points == 50  # the debt, paid
    assert ledger_drift() == []


def test_voiding_needs_the_orders_level_and_a_reason(shop, reader):
    earn(200)
    code = redeem(shop, points=50, amount="5").json()["item_code"]

    assert void(reader, code).status_code == 403
    blank = shop.post("/rewards-api/void-coupon/", {"item_code": code, "reason": " "}, format="json")
    assert (blank.status_code, list(blank.json()["error"]["fields"])) == (400, ["reason"])
    assert RedeemedItem.objects.get(item_code=code).state == "active"


# ---- the catalog API ------------------------------------------------------------------------------


def test_staff_create_and_edit_catalog_items_through_the_api(program, shop):
    created = program.post(
        "/loyalty-api/catalog",
        {
            "kind": "coupon",
            "points_cost": 300,
            "amount": "30",
            "description": "$30 coupon",
            "stock": 10,
            "per_customer_limit": 1,
            "limit_period": "month",
            "coupon_valid_days": 60,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    item_id = created.json()["id"]
    assert (created.json()["stock_left"], created.json()["active"]) == (10, True)

    edited = program.patch(f"/loyalty-api/catalog/{item_id}", {"stock": 3}, format="json")

    assert (edited.status_code, edited.json()["stock"], edited.json()["coupon_valid_days"]) == (200, 3, 60)
    shown = {entry["id"]: entry for entry in shop.get("/rewards-api/catalog/").json()["catalog"]}
    assert shown[item_id]["stock_left"] == 3 and "limit_left" not in shown[item_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points_cost": 0}, "points_cost"),
        ({"stock": -1}, "stock"),
        ({"per_customer_limit": 0}, "per_customer_limit"),
        ({"limit_period": "fortnight"}, "limit_period"),
        ({"available_from": "2027-01-02T00:00:00Z", "available_until": "2027-01-01T00:00:00Z"}, "available_until"),
        ({"kind": "donation", "coupon_valid_days": 30}, "coupon_valid_days"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_catalog_item_is_a_400_naming_it_and_writes_nothing(program, body, field):
    before = CatalogItem.objects.count()
    base = {"kind": "coupon", "points_cost": 300, "amount": "30", "description": "$30 coupon"}

    response = program.post("/loyalty-api/catalog", {**base, **body}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert CatalogItem.objects.count() == before


def test_an_active_item_priced_like_another_is_a_409(program):
    body = {"kind": "coupon", "points_cost": 50, "amount": "5", "description": "Another $5 coupon"}

    response = program.post("/loyalty-api/catalog", body, format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "catalog_item_conflict")


def test_a_customer_sees_only_what_their_tier_and_today_allow_with_their_limit_left(shop, shop_app, clock):
    from loyalty.customers import customer_session_issue

    limited = item(per_customer_limit=2, limit_period="month")
    item_later = CatalogItem.objects.create(
        kind="coupon",
        points_cost=400,
        amount=Decimal("40"),
        description="Later",
        available_from=clock.now + timedelta(days=3),
    )
    earn(500)
    redeem(shop)
    session = client_for(None)
    session.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_session_issue(user_id=USER, app=shop_app).token}")

    shown = {entry["id"]: entry for entry in session.get("/rewards-api/catalog/").json()["catalog"]}

    assert shown[limited.pk]["limit_left"] == 1
    assert item_later.pk not in shown
    every = {entry["id"] for entry in shop.get("/rewards-api/catalog/").json()["catalog"]}
    assert item_later.pk in every

"""The transactional outbox: one event per change, in its transaction; none for a write that
rolled back; polled in order through rewards-api/events."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from loyalty.services import application_create, application_revoke, order_record, order_return
from rewards import services
from rewards.models import Event, Reward

pytestmark = pytest.mark.django_db

USER = 6161


def events(**filters) -> list[tuple[str, int | None]]:
    return list(Event.objects.filter(**filters).order_by("id").values_list("type", "user_id"))


def test_every_kind_of_change_writes_its_event_with_the_row_and_the_balance_after(shop_app, settings):
    services.points_earn(user_id=USER, points=120, description="welcome", app=shop_app)
    coupon = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    services.coupon_use(item_code=coupon.redeemed_item.item_code, app=shop_app)
    services.points_adjust(user_id=USER, points=-10, reason="fix", staff="ann")
    order_record(order_id=1, user_id=USER, total_cost=400, completed_at=1_700_000_000, app=shop_app)
    order_return(order_id=1, returned_cost=100, app=shop_app)

    assert events() == [
        ("points.earned", USER),
        ("points.redeemed", USER),
        ("coupon.used", USER),
        ("points.redeemed", USER),
        ("order.recorded", USER),
        ("order.returned", USER),
    ]
    earned, redeemed, used, adjusted, recorded, returned = Event.objects.order_by("id")
    first_row = Reward.objects.order_by("id").first()
    assert earned.reward_id == first_row.pk
    assert earned.data["reward"]["id"] == first_row.pk and earned.data["reward"]["points_earned"] == 120
    assert earned.data["balance"]["total_points"] == 120
    assert redeemed.data["balance"]["total_points"] == 70
    assert redeemed.data["item"]["item_code"] == coupon.redeemed_item.item_code
    assert redeemed.data["reward"]["id"] == coupon.reward.pk
    assert used.data["item"]["item_code"] == coupon.redeemed_item.item_code
    assert adjusted.data["balance"]["total_points"] == 60
    assert recorded.data["order"] == {
        "order_id": 1,
        "total_cost": 400,
        "completed_at": 1_700_000_000,
        "coefficient": "1.000000",
        "points_awarded": 20,
    }
    assert recorded.data["balance"]["total_points"] == 80
    assert returned.data["points_taken_back"] == 5 and returned.data["balance"]["total_points"] == 75


def test_the_lifecycle_writes_available_expired_and_expiring_soon_events(shop_app, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 40
    now = timezone.now()
    order_record(order_id=2, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=shop_app)

    services.points_lifecycle_run(now=now + timedelta(days=15))  # released, 39 days to go
    services.points_lifecycle_run(now=now + timedelta(days=45))  # inside the 30-day window
    services.points_lifecycle_run(now=now + timedelta(days=60))  # expired

    assert events() == [
        ("order.recorded", USER),
        ("points.available", USER),
        ("points.expiring_soon", USER),
        ("points.expired", USER),
    ]
    available, soon, expired = Event.objects.order_by("id")[1:]
    assert available.data["balance"]["total_points"] == 50 and available.data["lot"]["remaining"] == 50
    assert soon.data["balance"]["expiring_points"] == 50 and len(soon.data["lots"]) == 1
    assert expired.data["reward"]["points_redeemed"] == 50 and expired.data["balance"]["total_points"] == 0


def test_a_revocation_is_an_event_of_the_application(master_app):
    app = application_create(name="old shop", access_level="Can_Read").app

    application_revoke(app_id=app.pk)

    event = Event.objects.get()
    assert (event.type, event.user_id, event.application_id) == ("application.revoked", None, app.pk)


def test_a_write_that_fails_or_rolls_back_emits_nothing(shop_app):
    with pytest.raises(services.InsufficientPoints):
        services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=shop_app)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.points_earn(user_id=USER, points=10, description="x", app=shop_app)
        raise RuntimeError("the caller's transaction fails after the credit")

    assert events() == []
    assert not Reward.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_applications_poll_events_in_order_in_pages(reader, shop_app):
    """Committed events only: an event whose transaction may still be running is held back."""
    for points in (1, 2, 3):
        services.points_earn(user_id=USER, points=points, description="x", app=shop_app)
    application_revoke(app_id=application_create(name="other", access_level="Can_Read").app.pk)

    first = reader.get("/rewards-api/events/?limit=2").json()
    rest = reader.get(f"/rewards-api/events/?after={first['next_after']}").json()

    assert [e["data"]["reward"]["points_earned"] for e in first["events"]] == [1, 2]
    assert first["has_more"] is True
    # Another application's revocation is not this reader's business.
    assert [e["type"] for e in rest["events"]] == ["points.earned"]
    assert rest["has_more"] is False and rest["next_after"] == rest["events"][-1]["id"]
    assert reader.get("/rewards-api/events/?after=abc").status_code == 400


def test_an_event_says_exactly_what_the_http_answer_says(shop, settings):
    """The balance in an order's event (written by the one-statement posting) and in its HTTP
    answer, down to how a time with no fraction of a second is written."""
    from datetime import UTC, datetime

    settings.ORDER_POINTS_PENDING_DAYS = 14
    completed_at = int(timezone.now().timestamp())  # whole seconds, as the API takes them
    shop.post("/rewards-api/earn-points/", {"user_id": USER, "points_earned": 5, "reward_description": "w"})
    answer = shop.post(
        "/loyalty-api/orders",
        {"user_id": USER, "order_id": 77, "total_cost": 2000, "completed_at": completed_at},
        format="json",
    ).json()
    event = Event.objects.filter(type="order.recorded").get()

    shown = {key: answer[key] for key in ("total_points", "pending_points", "next_available_at")}
    assert shown == {key: event.data["balance"][key] for key in shown}
    available = datetime.fromtimestamp(completed_at, tz=UTC) + timedelta(days=14)
    assert answer["next_available_at"] == available.isoformat().replace("+00:00", "Z")


def test_every_posting_event_carries_exactly_the_row_balance_and_item_of_its_http_answer(shop, settings):
    """The ledger functions write the event; the API shapes the answer from what they return.
    For each kind of posting through HTTP, the two agree field for field."""
    from rewards.selectors import account_balance
    from rewards.shapes import balance_fields

    settings.POINTS_VALIDITY_DAYS = 20  # inside the notice window at once: every balance part is set
    settings.ORDER_POINTS_PENDING_DAYS = 14
    posts = [
        ("/rewards-api/earn-points/", {"user_id": USER, "points_earned": 120, "reward_description": "w\u00e9lcome"}),
        ("/rewards-api/purchase/", {"user_id": USER, "amount": "12.34", "reward_description": "p"}),
        ("/rewards-api/submit-feedback/", {"user_id": USER, "reward_description": "f"}),
        (
            "/rewards-api/redeem-coupon/",
            {"user_id": USER, "points_redeemed": 50, "coupon_amount": "5.00", "reward_description": "c"},
        ),
        (
            "/rewards-api/redeem-donation/",
            {"user_id": USER, "points_redeemed": 50, "donation_amount": "5.00", "reward_description": "d"},
        ),
    ]
    for path, body in posts:
        answer = shop.post(path, body, format="json")
        assert answer.status_code == 201, (path, answer.json())
        answer = answer.json()
        event = Event.objects.get(reward_id=answer["id"])
        row = {key: answer[key] for key in event.data["reward"]}
        assert event.data["reward"] == row, path
        balance_keys = balance_fields(account_balance(user_id=USER)).keys()
        assert event.data["balance"] == {key: answer[key] for key in balance_keys}, path
        if "redeemed_item" in answer:
            assert event.data["item"] == answer["redeemed_item"], path
        assert answer["next_expiry_at"] is not None and answer["expiring_points"] > 0

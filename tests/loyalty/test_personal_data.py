"""A customer's personal data erased: the free text wherever it is kept (ledger rows, events and
what webhooks send of them, orders, activities, coupons, tier changes, stored answers, what
receivers answered), the birthday and the referral links go; every amount, date and balance
stays, and so does the fact that this year's birthday award was given. After it, no replay can
tell a right guess at the erased data from a wrong one."""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.apps import apps
from django.core import serializers
from django.core.management import call_command
from django.utils import timezone

from loyalty.models import (
    AccessLevel,
    Order,
    PersonalDataErasure,
    Referral,
    ReferralCode,
    WebhookAttempt,
    WebhookDelivery,
)
from loyalty.services.webhooks import EVENT_TYPES, webhook_create, webhook_delivery_resend, webhooks_deliver_all
from rewards import services
from rewards.models import Activity, Birthday, Event, IdempotencyKey, PointLot, RedeemedItem, Reward, TierChange
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER, REFERRER, FRIEND = 8901, 8902, 8903
PERSONAL = ("Smith", "Elm St")  # every free text about the customer below names them
LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 500, "retain_points": 400},
    ]
}
ITEMS = [{"sku": "phone John Smith", "category": "gift for Jane Smith", "quantity": 1, "price": 1500}]
ERASED_ITEMS = [{"sku": "[erased]", "category": "[erased]", "quantity": 1, "price": 1500}]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return at("2026-01-10T12:00:00")


class EchoReceiver:
    """A webhook receiver that answers with what it was sent (its answer is kept as the
    attempt's excerpt)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings) -> Iterator[EchoReceiver]:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    server = EchoReceiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def deliver_until(receiver: EchoReceiver, count: int, seconds: float = 30) -> None:
    """Delivery rounds until the receiver has ``count`` bodies: an event is dispatched once no
    older transaction in the cluster may still commit before it."""
    deadline = time.monotonic() + seconds
    while len(receiver.bodies) < count and time.monotonic() < deadline:
        webhooks_deliver_all()
        time.sleep(0.05)


def everything_kept() -> str:
    """Every row of both apps, as JSON text."""
    return "\n".join(
        serializers.serialize("json", model.objects.order_by("pk"))
        for app in ("rewards", "loyalty")
        for model in apps.get_app_config(app).get_models()
    )


def amounts() -> dict:
    """What the books need: every amount, date, kind and link of the three customers."""
    users = [USER, REFERRER, FRIEND]
    return {
        "balances": [account_balance(user_id=user) for user in users],
        "rows": list(
            Reward.objects.filter(user_id__in=users)
            .order_by("id")
            .values_list(
                "id",
                "user_id",
                "kind",
                "points_earned",
                "points_redeemed",
                "pending_change",
                "earned_date",
                "redeemed_date",
                "is_active",
                "rule_id",
            )
        ),
        "lots": list(PointLot.objects.order_by("id").values()),
        "orders": list(
            Order.objects.order_by("order_id").values_list(
                "order_id", "user_id", "total_cost", "completed_at", "points_awarded", "balance_after", "breakdown"
            )
        ),
        "coupons": list(RedeemedItem.objects.order_by("id").values_list("id", "amount", "state", "valid_until")),
        "events": [
            (
                e.id,
                e.type,
                e.user_id,
                e.created_at,
                e.data.get("balance"),
                (e.data.get("reward") or {}).get("points_earned"),
            )
            for e in Event.objects.order_by("id")
        ],
        "activities": list(Activity.objects.values_list("activity_id", "name", "occurred_at", "points_awarded")),
        "tier_changes": list(TierChange.objects.order_by("id").values_list("id", "cause", "to_code", "changed_at")),
        "deliveries": list(WebhookDelivery.objects.order_by("id").values_list("id", "event_id", "status")),
    }


@pytest.mark.django_db(transaction=True)
def test_an_erasure_leaves_nothing_personal_and_every_amount(clock, receiver):
    shop_app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    shop = client_for(shop_app)
    program = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))
    webhook_create(app=shop_app, url=receiver.url, event_types=EVENT_TYPES)
    for definition in (
        {
            "name": "Photo",
            "trigger": "activity",
            "activity_name": "photo_review",
            "effect": {"type": "fixed", "points": 25},
        },
        {"name": "Birthday gift", "trigger": "birthday", "effect": {"type": "fixed", "points": 100}},
        {"name": "Referee", "trigger": "referral", "effect": {"type": "fixed", "points": 50, "role": "referee"}},
        {"name": "Referrer", "trigger": "referral", "effect": {"type": "fixed", "points": 70, "role": "referrer"}},
    ):
        services.rule_create(definition={**definition, "status": "active"}, by="test")
    assert program.put("/loyalty-api/tiers", LADDER, format="json").status_code == 200
    assert (
        shop.put("/rewards-api/birthday/", {"user_id": USER, "month": 6, "day": 15}, format="json").status_code == 200
    )

    clock.now = at("2026-06-15T09:00:00")
    theirs = shop.post("/rewards-api/referral-code/", {"user_id": REFERRER}, format="json").json()["code"]
    assert shop.post("/rewards-api/referrals/", {"user_id": USER, "code": theirs}, format="json").status_code == 201
    own = shop.post("/rewards-api/referral-code/", {"user_id": USER}, format="json").json()["code"]
    assert shop.post("/rewards-api/referrals/", {"user_id": FRIEND, "code": own}, format="json").status_code == 201
    apology = {"user_id": USER, "points_earned": 300, "reward_description": "Apology to John Smith, 12 Elm St"}
    earned = shop.post("/rewards-api/earn-points/", apology, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert earned.status_code == 201
    order = {
        "user_id": USER,
        "order_id": 501,
        "total_cost": 2000,
        "completed_at": int(at("2026-06-14T18:00:00").timestamp()),
        "items": ITEMS,
        "channel": "phone: John Smith",
    }
    assert shop.post("/loyalty-api/orders", order, format="json").status_code == 201
    review = {"user_id": USER, "name": "photo_review", "activity_id": "review-1"}
    posted = shop.post("/rewards-api/activities/", {**review, "properties": {"caption": "John Smith"}}, format="json")
    assert posted.status_code == 201
    coupon = {"user_id": USER, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "For John Smith"}
    code = shop.post("/rewards-api/redeem-coupon/", coupon, format="json").json()["item_code"]
    void = {"item_code": code, "reason": "John Smith phoned to cancel"}
    assert shop.post("/rewards-api/void-coupon/", void, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 200
    services.points_adjust(user_id=USER, points=-20, reason="Counted twice for Smith", staff="ops")
    services.tier_floor_set(
        user_id=USER, code="silver", until=at("2026-12-31T00:00:00"), reason="Mr Smith complained", by="staff ops"
    )
    assert services.birthdays_award().awarded == 1
    said = {"surname": "Smith", "street": "12 Elm St", "vip": True}
    assert shop.patch(f"/rewards-api/customers/{USER}/attributes/", said, format="json").status_code == 200
    assert program.get(f"/loyalty-api/customers/{USER}/export").json()["attributes"] == said
    deliver_until(receiver, 10)
    sent = len(receiver.bodies)
    assert sent == Event.objects.count() == 10  # 9 of theirs, and the referrer's award
    assert any(word in everything_kept() for word in PERSONAL)
    kinds = set(Reward.objects.filter(user_id=USER).values_list("kind", flat=True))
    assert kinds == {"earn", "order", "referral", "activity", "coupon", "refund", "adjustment", "birthday"}
    before = amounts()

    clock.now = at("2026-06-16T09:00:00")
    first = program.delete(f"/loyalty-api/customers/{USER}/personal-data")

    assert first.status_code == 200, first.json()
    kept = everything_kept()
    assert not [word for word in PERSONAL if word in kept]
    assert first.json()["erased"] == {
        "ledger_descriptions": 8,
        "events": 8,
        "orders": 1,
        "activities": 1,
        "staff_reasons": 2,
        "stored_answers": 2,
        "webhook_answers": 9,
        "birthday": 1,
        "referral_links": 2,
        "referral_code": 1,
        "contact": 0,
        "messages": 0,
        "attributes": 3,
    }
    assert amounts() == before
    assert ledger_drift() == []
    call_command("check_ledger")
    assert set(WebhookAttempt.objects.filter(delivery__user_id=USER).values_list("response_excerpt", flat=True)) == {
        "[erased]"
    }
    # A second erasure finds nothing left and changes nothing.
    second = program.delete(f"/loyalty-api/customers/{USER}/personal-data").json()
    assert not any(second["erased"].values()) and second["message"] == "Nothing personal was left to erase."
    assert everything_kept() == kept

    # What the events API and the webhooks carry now: the reason of the void is gone too.
    served = shop.get("/rewards-api/events/", {"limit": 100}).json()["events"]
    [voided] = [event for event in served if event["type"] == "coupon.voided"]
    assert voided["data"]["reason"] == "[erased]"
    assert voided["data"]["reward"]["reward_description"] == "[erased]"
    assert not [word for word in PERSONAL if word in json.dumps(served)]
    for delivery in WebhookDelivery.objects.filter(user_id=USER):
        webhook_delivery_resend(delivery_id=delivery.pk)
    deliver_until(receiver, sent + 9)
    resent = receiver.bodies[sent:]
    assert len(resent) == 9 and not [body for body in resent if b"Smith" in body or b"Elm St" in body]
    stored = Order.objects.get(order_id=501)
    assert (stored.channel, stored.items) == ("[erased]", ERASED_ITEMS)
    activity = Activity.objects.get(activity_id="review-1")
    assert (activity.properties, activity.answer["activity"]["properties"]) == ({}, {})
    assert activity.fingerprint == "[erased]"
    assert RedeemedItem.objects.get(item_code=code).refund_reason == "[erased]"
    assert set(TierChange.objects.filter(user_id=USER).exclude(reason="").values_list("reason", flat=True)) == {
        "[erased]"
    }
    birthday = Birthday.objects.get(user_id=USER)
    assert (birthday.month, birthday.day, birthday.awarded_year) == (None, None, 2026)
    assert not Referral.objects.exists() and not ReferralCode.objects.filter(user_id=USER).exists()
    assert ReferralCode.objects.filter(user_id=REFERRER).exists()  # the referrer's own code is theirs
    exported = program.get(f"/loyalty-api/customers/{USER}/export").json()
    assert (exported["birthday"], exported["birthday_awarded_year"]) == (None, 2026)
    assert exported["attributes"] == {}
    assert shop.get(f"/rewards-api/customers/{USER}/attributes/").json()["attributes"] == {}
    assert exported["referral"] == {"code": None, "referred_by_user_id": None, "referred_user_ids": []}
    assert [(o["channel"], o["items"], o["total_cost"]) for o in exported["orders"]] == [
        ("[erased]", ERASED_ITEMS, 2000)
    ]
    assert PersonalDataErasure.objects.get().erased == first.json()["erased"]


def test_a_replay_of_an_erased_activity_answers_the_same_whatever_the_body(shop, program_app):
    services.rule_create(
        definition={
            "name": "Photo",
            "trigger": "activity",
            "activity_name": "photo_review",
            "status": "active",
            "effect": {"type": "fixed", "points": 25},
        },
        by="test",
    )
    review = {"user_id": USER, "name": "photo_review", "activity_id": "review-1"}
    assert (
        shop.post("/rewards-api/activities/", {**review, "properties": {"stars": 5}}, format="json").status_code == 201
    )
    client_for(program_app).delete(f"/loyalty-api/customers/{USER}/personal-data")
    balance = account_balance(user_id=USER)

    right = shop.post("/rewards-api/activities/", {**review, "properties": {"stars": 5}}, format="json")
    wrong = shop.post("/rewards-api/activities/", {**review, "properties": {"stars": 1}}, format="json")
    other_name = shop.post("/rewards-api/activities/", {**review, "name": "survey"}, format="json")

    assert (right.status_code, wrong.status_code) == (200, 200)
    assert right.json() == wrong.json()
    assert right.json()["activity"]["properties"] == {} and right.json()["points_awarded"] == 25
    # What the erasure kept is still compared: another name is another activity.
    assert (other_name.status_code, other_name.json()["error"]["code"]) == (409, "activity_conflict")
    assert account_balance(user_id=USER) == balance
    assert Reward.objects.filter(user_id=USER).count() == 1 and Activity.objects.count() == 1


def test_a_retry_of_an_erased_order_is_compared_on_what_the_erasure_kept(shop, program_app):
    order = {"user_id": USER, "order_id": 77, "total_cost": 2000, "completed_at": 1_700_000_000}
    assert (
        shop.post("/loyalty-api/orders", {**order, "items": ITEMS, "channel": "Smith"}, format="json").status_code
        == 201
    )
    client_for(program_app).delete(f"/loyalty-api/customers/{USER}/personal-data")
    rows = Reward.objects.count()

    right = shop.post("/loyalty-api/orders", {**order, "items": ITEMS, "channel": "Smith"}, format="json")
    wrong = shop.post(
        "/loyalty-api/orders",
        {**order, "items": [{**ITEMS[0], "sku": "a guess"}], "channel": "another guess"},
        format="json",
    )
    other_price = shop.post(
        "/loyalty-api/orders", {**order, "items": [{**ITEMS[0], "price": 900}], "channel": "x"}, format="json"
    )
    other_total = shop.post("/loyalty-api/orders", {**order, "total_cost": 2100}, format="json")

    assert (right.status_code, wrong.status_code) == (200, 200)
    assert right.json() == wrong.json()
    assert (other_price.status_code, other_price.json()["error"]["code"]) == (409, "order_conflict")
    assert (other_total.status_code, other_total.json()["error"]["code"]) == (409, "order_conflict")
    assert Reward.objects.count() == rows and Order.objects.count() == 1


def test_an_idempotency_key_of_an_erased_customer_replays_its_erased_answer_whatever_the_body(shop, program_app):
    body = {"user_id": USER, "points_earned": 300, "reward_description": "Apology to John Smith"}
    first = shop.post("/rewards-api/earn-points/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    client_for(program_app).delete(f"/loyalty-api/customers/{USER}/personal-data")

    right = shop.post("/rewards-api/earn-points/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    wrong = shop.post(
        "/rewards-api/earn-points/",
        {**body, "reward_description": "a guess"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert first.status_code == right.status_code == wrong.status_code == 201
    assert right.json() == wrong.json()
    assert right.json()["reward_description"] == "[erased]" and right["Idempotent-Replayed"] == "true"
    assert {key: value for key, value in right.json().items() if key != "reward_description"} == {
        key: value for key, value in first.json().items() if key != "reward_description"
    }
    assert IdempotencyKey.objects.get().request_fingerprint == "[erased]"
    assert Reward.objects.filter(user_id=USER).count() == 1 and account_balance(user_id=USER).total_points == 300


def test_a_birthday_set_again_after_an_erasure_earns_nothing_more_that_year(program_app, clock):
    services.rule_create(
        definition={
            "name": "Birthday gift",
            "trigger": "birthday",
            "status": "active",
            "effect": {"type": "fixed", "points": 100},
        },
        by="test",
    )
    services.birthday_set(user_id=USER, month=6, day=15)
    clock.now = at("2026-06-15T09:00:00")
    assert services.birthdays_award().awarded == 1
    clock.now = at("2026-06-16T09:00:00")
    erased = client_for(program_app).delete(f"/loyalty-api/customers/{USER}/personal-data").json()["erased"]

    services.birthday_set(user_id=USER, month=7, day=20)  # 34 days ahead: past the wait
    clock.now = at("2026-07-20T09:00:00")
    same_year = services.birthdays_award()
    clock.now = at("2027-07-20T09:00:00")
    next_year = services.birthdays_award()

    assert erased["birthday"] == 1
    assert (same_year.awarded, next_year.awarded) == (0, 1)
    assert list(Reward.objects.filter(user_id=USER).values_list("kind", "points_earned")) == [
        ("birthday", 100),
        ("birthday", 100),
    ]
    assert account_balance(user_id=USER).total_points == 200
    stored = Birthday.objects.get(user_id=USER)
    assert (stored.month, stored.day, stored.awarded_year) == (7, 20, 2027)
    assert ledger_drift() == []


@pytest.fixture
def program_app(db):
    return ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")


def test_the_exported_ledger_is_the_history_the_api_shows_row_for_row(settings, shop, program_app):
    """The export shapes its ledger with the history's own shape (``answer_history_rows``): the
    same rows as rewards-api/get-all-history, oldest first, with every documented key, a credit
    on the way, one a return cancelled, one arrived, a rule's name and a row of no rule alike."""
    from loyalty.services.personal_data import customer_export
    from rewards.serializers import RewardHistoryOutput

    settings.ORDER_POINTS_PENDING_DAYS = 14
    now = int(timezone.now().timestamp())
    orders = [(1, 1000, now), (2, 600, now), (3, 2000, now - 10 * 86_400)]
    for order_id, total_cost, completed_at in orders:
        body = {"user_id": USER, "order_id": order_id, "total_cost": total_cost, "completed_at": completed_at}
        assert shop.post("/loyalty-api/orders", body, format="json").status_code == 201
    assert shop.delete("/loyalty-api/orders/2").status_code == 200
    services.points_lifecycle_run(now=timezone.now() + timedelta(days=5))  # order 3's points arrive
    earned = {"user_id": USER, "points_earned": 7, "reward_description": "A bonus"}
    assert shop.post("/rewards-api/earn-points/", earned, format="json").status_code == 201

    exported = customer_export(user_id=USER)["ledger"]
    shown = shop.get("/rewards-api/get-all-history/", {"user_id": USER}).json()["reward_history"]
    documented = list(RewardHistoryOutput().fields)

    assert exported == list(reversed(shown))
    assert [row["id"] for row in exported] == list(
        Reward.objects.filter(user_id=USER).order_by("id").values_list("id", flat=True)
    )
    assert all(list(row) == documented for row in exported)
    by_description = {row["reward_description"]: row for row in exported}
    assert [
        (by_description[f"Order {n}"]["points_earned"], by_description[f"Order {n}"]["pending_change"])
        for n in (1, 2, 3)
    ] == [(0, 50), (0, 30), (0, 100)]
    assert [by_description[f"Order {n}"]["pending_status"] for n in (1, 2, 3)] == ["on_the_way", "cancelled", "arrived"]
    assert by_description["Order 1"]["available_at"] is not None
    assert by_description["Order 2"]["available_at"] is None
    assert by_description["Order 1"]["rule_name"] is not None
    assert by_description["A bonus"]["rule_name"] is None and by_description["A bonus"]["points_earned"] == 7

"""Webhooks: subscriptions, the SSRF rules, and delivery to a real HTTP receiver on a loopback
port: signed, in order per customer, retried with backoff, paused when they keep failing."""

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from loyalty.services import application_create, application_revoke, order_record, order_return
from loyalty.services.webhooks import webhook_create, webhooks_deliver_all
from rewards import services
from rewards.importers.balances_csv import balances_csv_import
from rewards.models import Event, EventType, RedeemedItem
from rewards.services.badges import badge_award, badge_create, badge_revoke
from rewards.services.challenges import challenge_create
from rewards.services.segments import award_ask, award_run, segment_create
from tests.conftest import client_for
from tests.live import wait_for

USER = 4545
ALL_TYPES = [choice.value for choice in EventType]


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """The receiver's check, as docs/API.md publishes it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """A real HTTP server on a loopback port that records what it gets and answers with the
    status codes it is told (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"not now")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def webhook_settings(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    return settings


def events_settled(seconds: float = 60) -> None:
    """Wait until the events written so far are past the horizon event readers stop at: a
    transaction running anywhere on the server (another suite's, on a shared machine) holds it."""
    newest = Event.objects.order_by("-id").values_list("xact_id", flat=True).first()
    if newest is None:
        return

    def settled() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > %s", [newest])
            return cursor.fetchone()[0]

    assert wait_for(settled, seconds), "a transaction elsewhere on the server held the events back"


def deliver_until_quiet(seconds: float = 10) -> None:
    """Once the events so far have settled, run delivery rounds (as the worker would) until
    nothing is pending."""
    events_settled()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        webhooks_deliver_all()
        if not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            return
        time.sleep(0.05)


# ---- subscriptions and the SSRF rules ----------------------------------------------------------


@pytest.mark.django_db
def test_an_application_manages_its_own_webhooks_and_sees_the_secret_once(shop, shop_app, reader, webhook_settings):
    created = shop.post(
        "/loyalty-api/webhooks",
        {"url": "https://crm.example.com/hooks", "event_types": ["points.earned"]},
        format="json",
    )
    listed = shop.get("/loyalty-api/webhooks").json()["webhooks"]
    hook_id = created.json()["id"]
    changed = shop.patch(f"/loyalty-api/webhooks/{hook_id}", {"event_types": ALL_TYPES[:3]}, format="json")
    not_theirs = reader.delete(f"/loyalty-api/webhooks/{hook_id}")
    deleted = shop.delete(f"/loyalty-api/webhooks/{hook_id}")

    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert created.json()["status"] == "active"
    assert [w["id"] for w in listed] == [hook_id] and "secret" not in listed[0]
    assert changed.status_code == 200 and changed.json()["event_types"] == sorted(ALL_TYPES[:3])
    assert not_theirs.status_code == 404
    assert deleted.status_code == 200 and not WebhookSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://192.168.0.10/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "ftp://example.com/hooks",
        "http://no-such-host.invalid/hooks",
    ],
)
def test_private_loopback_link_local_and_non_http_urls_are_refused(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False

    response = shop.post("/loyalty-api/webhooks", {"url": url, "event_types": ["points.earned"]}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("webhook_url_refused", "validation_error")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
def test_a_master_app_has_no_webhooks(master):
    assert master.get("/loyalty-api/webhooks").status_code == 403


# ---- delivery ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_event_type_arrives_signed(committed_shop_app, receiver, webhook_settings, tmp_path):
    app = committed_shop_app
    hook = webhook_create(app=app, url=receiver.url, event_types=ALL_TYPES)
    webhook_settings.ORDER_POINTS_PENDING_DAYS = 14
    webhook_settings.POINTS_VALIDITY_DAYS = 40
    now = timezone.now()
    bronze = {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0}
    silver = {"code": "silver", "name": "Silver", "entry_points": 10, "retain_points": 10}
    services.ladder_set(definition={"tiers": [bronze, silver]}, by="test")
    services.contact_set(user_id=USER, email="ada@example.com")  # messages: sent, then failed
    services.points_earn(user_id=USER, points=150, description="welcome", app=app)
    coupon = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="c", app=app)
    services.coupon_use(item_code=coupon.redeemed_item.item_code, app=app)
    to_notice = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="n", app=app)
    RedeemedItem.objects.filter(pk=to_notice.redeemed_item.pk).update(valid_until=now + timezone.timedelta(days=1))
    services.coupons_notice(now=now)
    services.messages_send()  # the test settings' in-memory mailbox: every message sent
    services.contact_set(user_id=USER, topics={"coupons": False})
    webhook_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    webhook_settings.EMAIL_HOST, webhook_settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    webhook_settings.MESSAGE_MAX_ATTEMPTS = 1
    to_void = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="v", app=app)
    services.coupon_void(item_code=to_void.redeemed_item.item_code, reason="asked", app=app)
    to_expire = services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="e", app=app)
    RedeemedItem.objects.filter(pk=to_expire.redeemed_item.pk).update(valid_until=now)
    services.coupons_expire(now=now)
    order_record(order_id=1, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=app)
    order_record(order_id=2, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=app)
    order_return(order_id=2, app=app)
    services.points_lifecycle_run(now=now + timezone.timedelta(days=15))
    services.points_lifecycle_run(now=now + timezone.timedelta(days=30))
    services.points_lifecycle_run(now=now + timezone.timedelta(days=60))
    services.tiers_requalify(now=now + timezone.timedelta(days=400))  # the first order lifted them to silver
    services.messages_send(now=now + timezone.timedelta(days=400))  # the downgrade's message: no server, failed
    application_revoke(app_id=application_create(name="gone", access_level="Can_Read").app.pk)
    (tmp_path / "balances.csv").write_text(f"{USER},5\n")
    balances_csv_import(tmp_path / "balances.csv")
    segment_create(definition={"code": "everyone", "name": "Everyone"}, by="test")
    asked = award_ask(code="everyone", award_id="gift", points=3, description="gift", app=app, by="test")
    award_run(award_pk=asked.award.pk)
    badge_create(definition={"code": "vip", "name": "VIP"})
    badge = badge_award(user_id=USER, code="vip", reason="top reviewer", by="staff maria")
    badge_revoke(award_id=badge.pk, reason="mistake", by="staff maria")
    two = {"code": "two", "name": "Two", "status": "active", "goal": {"metric": "orders", "target": 2}}
    two["starts_at"] = (now - timezone.timedelta(days=1)).isoformat()  # begun before the orders below
    challenge_create(definition={**two, "reward": {"points": 5}}, by="test")
    order_record(order_id=3, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=app)
    order_record(order_id=4, user_id=USER, total_cost=1000, completed_at=int(now.timestamp()), app=app)
    order_return(order_id=4, app=app)  # inside the 14 pending days: the completion is cancelled

    deliver_until_quiet()

    types = {event["type"] for event in receiver.events()}
    assert types == set(ALL_TYPES) - {"application.revoked"}  # another application's revocation is not ours
    for headers, body in receiver.received:
        assert verify_signature(hook.secret, headers["X-Loyalty-Signature"], body)
        assert headers["X-Loyalty-Event-Id"] == str(json.loads(body)["id"])
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == len(receiver.received)


def _closed_port() -> int:
    """A loopback port nothing listens on: an SMTP server that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_a_tampered_body_or_an_old_timestamp_fails_verification(committed_shop_app, receiver, webhook_settings):
    hook = webhook_create(app=committed_shop_app, url=receiver.url, event_types=ALL_TYPES)
    services.points_earn(user_id=USER, points=5, description="x", app=committed_shop_app)
    deliver_until_quiet()
    headers, body = receiver.received[0]
    signed = headers["X-Loyalty-Signature"]

    assert verify_signature(hook.secret, signed, body)
    assert not verify_signature(hook.secret, signed, body.replace(b'"points_earned":5', b'"points_earned":500'))
    assert not verify_signature(hook.secret, signed, body, now=time.time() + 3600)
    assert not verify_signature("whsec_another", signed, body)


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_fails_twice_gets_the_event_three_times_with_backoff(
    committed_shop_app, receiver, webhook_settings
):
    webhook_create(app=committed_shop_app, url=receiver.url, event_types=["points.earned"])
    receiver.answers = [500, 500]
    services.points_earn(user_id=USER, points=5, description="x", app=committed_shop_app)

    deliver_until_quiet()

    assert len(receiver.received) == 3
    assert len({json.loads(body)["id"] for _, body in receiver.received}) == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    attempts = list(WebhookAttempt.objects.order_by("attempted_at"))
    assert [a.status_code for a in attempts] == [500, 500, 200]
    assert attempts[0].response_excerpt == "not now"
    gaps = [(b.attempted_at - a.attempted_at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.05 * 0.75 and gaps[1] >= 0.1 * 0.75  # base, then twice the base


@pytest.mark.django_db(transaction=True)
def test_a_receiver_down_for_a_while_gets_everything_afterwards_in_order(committed_shop_app, webhook_settings):
    down = Receiver()
    url = down.url
    down.close()  # nothing listens there now
    webhook_create(app=committed_shop_app, url=url, event_types=["points.earned", "points.redeemed"])
    for points in (10, 20, 30):
        services.points_earn(user_id=USER, points=points, description="x", app=committed_shop_app)
        services.points_earn(user_id=USER + 1, points=points, description="x", app=committed_shop_app)
    events_settled()
    for _ in range(3):
        webhooks_deliver_all()
        time.sleep(0.1)
    failed = WebhookAttempt.objects.filter(status_code__isnull=True).count()
    # Only each customer's first event was tried: the rest wait behind it, in order.
    assert failed >= 2
    assert set(WebhookAttempt.objects.values_list("delivery__event__data__reward__points_earned", flat=True)) == {10}

    revived = _receiver_on(int(url.rsplit(":", 1)[1].split("/")[0]))  # the receiver comes back
    try:
        deliver_until_quiet()
    finally:
        revived.close()
    by_customer: dict[int, list[int]] = {}
    for event in revived.events():
        by_customer.setdefault(event["user_id"], []).append(event["data"]["reward"]["points_earned"])
    assert by_customer == {USER: [10, 20, 30], USER + 1: [10, 20, 30]}


def _receiver_on(port: int) -> Receiver:
    receiver = Receiver.__new__(Receiver)
    receiver.received, receiver.answers = [], []
    this = receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            this.received.append((dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver


@pytest.mark.django_db(transaction=True)
def test_a_webhook_that_keeps_failing_is_paused_and_a_change_resumes_it(committed_shop_app, receiver, webhook_settings):
    webhook_settings.WEBHOOK_PAUSE_AFTER_FAILURES = 3
    hook = webhook_create(app=committed_shop_app, url=receiver.url, event_types=["points.earned"])
    receiver.answers = [503] * 10
    services.points_earn(user_id=USER, points=5, description="x", app=committed_shop_app)

    deliver_until_quiet(seconds=3)

    hook.subscription.refresh_from_db()
    assert hook.subscription.status == "paused" and len(receiver.received) == 3
    client = client_for(committed_shop_app)
    resumed = client.patch(f"/loyalty-api/webhooks/{hook.subscription.pk}", {"is_active": True}, format="json")
    receiver.answers = []
    deliver_until_quiet()
    assert resumed.json()["status"] == "active"
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_staff_see_attempts_and_resend_a_failed_delivery(committed_shop_app, receiver, webhook_settings, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    webhook_create(app=committed_shop_app, url=receiver.url, event_types=["points.earned"])
    services.points_earn(user_id=USER, points=5, description="x", app=committed_shop_app)
    deliver_until_quiet()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    staff = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(staff)

    page = client.get(reverse("admin:loyalty_webhookdelivery_change", args=[delivery.pk])).content.decode()
    client.post(
        reverse("admin:loyalty_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [str(delivery.pk)]},
    )
    deliver_until_quiet()

    assert "200" in page and "ok" in page  # the attempt: status and response excerpt
    assert len(receiver.received) == 2
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED

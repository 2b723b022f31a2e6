"""Messages to customers, sent to a real SMTP server (aiosmtpd) started by the tests: written in
the event's transaction for a customer with an email and the topic on, once; sent in their
language with the one-click unsubscribe headers; retried while the server is down or answers
4xx, failed after the last try and resent from admin; nothing for an erased customer."""

import email
import email.policy
import re
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.models import AccessLevel
from loyalty.services.personal_data import personal_data_erase
from rewards import services
from rewards.models import CatalogItem, Event, EventType, Message, MessageState, RedeemedItem
from rewards.services.events import event_record
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 5150


class Inbox:
    """What the SMTP server received; ``answer`` set: what it answers DATA with instead."""

    def __init__(self) -> None:
        self.received: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answer: str | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.answer:
            return self.answer
        self.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on a port of its own, which can be stopped (the server down) and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Loyalty Rewards <rewards@shop.example>"
    settings.MESSAGES_BASE_URL = "https://rewards.shop.example"
    settings.MESSAGE_RETRY_BASE_SECONDS = 60
    settings.MESSAGE_MAX_ATTEMPTS = 3
    yield server
    server.stop()


@pytest.fixture
def app():
    return ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)


def coupon(app, *, points: int = 50, amount: str = "5") -> RedeemedItem:
    return services.coupon_redeem(
        user_id=USER, points=points, amount=Decimal(amount), description="coupon", app=app
    ).redeemed_item


def text_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


# ---- the outbox ---------------------------------------------------------------------------------


def test_a_customer_without_contact_gets_no_message_and_an_earn_costs_no_lookup(app):
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    with CaptureQueriesContext(connection) as queries:
        services.points_earn(user_id=USER, points=5, description="again", app=app)
    coupon(app)

    assert Message.objects.count() == 0
    assert not any("rewards_contact" in q["sql"] for q in queries.captured_queries)
    # The trigger's WHEN clause lets an earn by before its function runs: no message, no lookup,
    # even with a contact (an earn writes no message).
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=5, description="with contact", app=app)
    assert Message.objects.count() == 0


def test_a_coupon_writes_one_message_in_its_transaction(app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)

    item = coupon(app)

    event = Event.objects.get(type=EventType.POINTS_REDEEMED, user_id=USER)
    message = Message.objects.get()
    assert (message.user_id, message.event_id, message.topic, message.kind, message.state, message.attempts) == (
        USER,
        event.pk,
        "coupons",
        "coupon_issued",
        "pending",
        0,
    )
    assert event.data["item"]["item_code"] == item.item_code
    # One per event, topic and customer: the same event again writes nothing.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rewards_message (user_id, event_id, topic, kind, day, state, attempts, next_attempt_at, "
            "last_error, to_email, language, subject, created_at) "
            "SELECT user_id, event_id, topic, kind, day, state, 0, now(), '', '', '', '', now() FROM rewards_message "
            "ON CONFLICT DO NOTHING"
        )
    assert Message.objects.count() == 1


def test_a_topic_off_or_no_email_writes_no_message(app):
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    services.contact_set(user_id=USER, email="ada@example.com", topics={"coupons": False})
    coupon(app)
    services.contact_set(user_id=USER, email="", topics={"coupons": True})
    coupon(app)

    assert Message.objects.count() == 0


def test_a_rolled_back_posting_writes_no_message(app):
    services.contact_set(user_id=USER, email="ada@example.com")
    with pytest.raises(services.InsufficientPoints):
        coupon(app)

    assert Message.objects.count() == 0


def test_points_expiring_is_one_message_per_customer_and_day(app, settings):
    settings.POINTS_VALIDITY_DAYS, settings.EXPIRY_NOTICE_DAYS = 60, 30
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=100, description="first", app=app)
    day = (timezone.now() + timedelta(days=31)).replace(hour=10, minute=0, second=0, microsecond=0)

    services.points_lifecycle_run(now=day)
    services.points_earn(user_id=USER, points=40, description="second", app=app)
    services.points_lifecycle_run(now=day + timedelta(hours=1))
    services.points_earn(user_id=USER, points=7, description="third", app=app)
    services.points_lifecycle_run(now=day + timedelta(days=1))

    notices = list(Event.objects.filter(type=EventType.POINTS_EXPIRING_SOON).order_by("id"))
    assert [sum(lot["remaining"] for lot in e.data["lots"]) for e in notices] == [100, 40, 7]
    messages = list(Message.objects.order_by("id").values_list("kind", "day", "event_id"))
    assert messages == [
        ("points_expiring", day.date(), notices[0].pk),
        ("points_expiring", (day + timedelta(days=1)).date(), notices[2].pk),
    ]


def test_tier_changes_and_coupons_about_to_expire_write_their_messages(app, settings):
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    CatalogItem.objects.filter(kind="coupon", points_cost=50).update(coupon_valid_days=10)
    item = coupon(app)
    event_record(
        type=EventType.TIER_UPGRADED,
        user_id=USER,
        now=timezone.now(),
        extra={"tier": {"code": "gold", "name": "Gold"}, "previous_tier": {"code": "m", "name": "Member"}},
    )

    settings.COUPON_NOTICE_DAYS = 3
    assert services.coupons_notice(now=item.valid_until - timedelta(days=4)) == 0
    assert services.coupons_notice(now=item.valid_until - timedelta(days=2)) == 1
    assert services.coupons_notice(now=item.valid_until - timedelta(days=1)) == 0

    kinds = list(Message.objects.order_by("id").values_list("kind", "topic"))
    assert kinds == [
        ("coupon_issued", "coupons"),
        ("tier_upgraded", "tier_changes"),
        ("coupon_expiring", "coupons"),
    ]
    notice = Event.objects.get(type=EventType.COUPON_EXPIRING_SOON)
    assert notice.data["item"]["item_code"] == item.item_code and notice.user_id == USER


# ---- sending ------------------------------------------------------------------------------------


def test_a_french_customer_gets_french_with_the_unsubscribe_headers(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    item = coupon(app)

    report = services.messages_send()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [received] = smtp.inbox.received
    assert smtp.inbox.envelopes == [("rewards@shop.example", ["ada@example.com"])]
    assert received["Subject"] == "Votre bon de 5,00 $"
    assert received["To"] == "ada@example.com"
    text = text_of(received)
    assert "Voici le code de votre bon :" in text and item.item_code in text
    assert "Il n\u2019expire pas." in text
    assert "Votre solde : 450 points." in text
    html = html_of(received)
    assert '<html lang="fr">' in html and item.item_code in html
    # A mail client's HTML: inline styles, no remote image, script or style sheet.
    assert not re.search(r"<script|<img|<link|<style|@import|url\(", html, re.IGNORECASE)
    unsubscribe = received["List-Unsubscribe"].strip()  # a long header is folded
    assert re.fullmatch(r"<https://rewards\.shop\.example/messages/unsubscribe/[^/]+/>", unsubscribe)
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in text and unsubscribe[1:-1] in html

    message = Message.objects.get()
    assert (message.state, message.attempts, message.to_email, message.language, message.subject) == (
        "sent",
        1,
        "ada@example.com",
        "fr",
        "Votre bon de 5,00 $",
    )
    sent = Event.objects.get(type=EventType.MESSAGE_SENT)
    assert sent.user_id == USER
    assert sent.data == {
        "message": {
            "id": message.pk,
            "kind": "coupon_issued",
            "topic": "coupons",
            "event_id": message.event_id,
            "language": "fr",
            "attempts": 1,
        }
    }
    # Sent once: a second pass has nothing to send.
    assert services.messages_send().sent == 0 and len(smtp.inbox.received) == 1


def test_an_english_customer_gets_english(smtp, app):
    services.contact_set(user_id=USER, email="bob@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)

    services.messages_send()

    [received] = smtp.inbox.received
    assert received["Subject"] == "Your $5.00 coupon"
    assert "Here is your coupon code:" in text_of(received) and "Your balance: 450 points." in text_of(received)
    assert '<html lang="en">' in html_of(received)


def test_the_server_down_then_back_delivers_once(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    smtp.stop()

    down = services.messages_send()

    message = Message.objects.get()
    assert (down.sent, down.retried) == (0, 1)
    assert (message.state, message.attempts) == ("pending", 1)
    assert "server unreachable" in message.last_error
    assert timedelta(seconds=55) < message.next_attempt_at - timezone.now() <= timedelta(seconds=60)
    assert services.messages_send().sent == 0  # not due yet

    smtp.start()
    back = services.messages_send(now=later(2))

    assert back.sent == 1
    assert len(smtp.inbox.received) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("sent", 2, "")
    assert services.messages_send(now=later(10)).sent == 0
    assert len(smtp.inbox.received) == 1
    assert Event.objects.filter(type=EventType.MESSAGE_SENT).count() == 1


def test_4xx_is_retried_with_back_off_then_failed_then_resent_from_admin(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    smtp.inbox.answer = "451 4.3.0 Try again later"

    first = services.messages_send()
    message = Message.objects.get()
    assert (first.retried, message.attempts) == (1, 1)
    first_wait = message.next_attempt_at - timezone.now()
    services.messages_send(now=later(2))
    message.refresh_from_db()
    second_wait = message.next_attempt_at - later(2)
    assert message.attempts == 2 and "451" in message.last_error
    assert timedelta(seconds=110) < second_wait <= timedelta(seconds=120) and first_wait <= timedelta(seconds=60)

    last = services.messages_send(now=later(10))

    message.refresh_from_db()
    assert (last.failed, message.state, message.attempts) == (1, "failed", 3)
    failed = Event.objects.get(type=EventType.MESSAGE_FAILED)
    assert failed.data["message"]["id"] == message.pk and "451" in failed.data["message"]["error"]
    assert smtp.inbox.received == []
    assert services.messages_send(now=later(60)).sent == 0

    smtp.inbox.answer = None
    assert services.message_resend(message_id=message.pk) is True
    assert services.message_resend(message_id=message.pk) is False  # pending now, not failed
    assert services.messages_send().sent == 1
    assert len(smtp.inbox.received) == 1


def test_a_5xx_fails_at_once(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    smtp.inbox.answer = "554 5.7.1 Rejected"

    report = services.messages_send()

    message = Message.objects.get()
    assert (report.failed, message.state, message.attempts) == (1, "failed", 1)
    assert "554" in message.last_error


def test_an_erased_customer_gets_nothing(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    coupon(app)
    services.messages_send()  # the first two are sent
    coupon(app)  # the third waits

    erasure = personal_data_erase(user_id=USER, by="test")

    assert erasure.erased["contact"] == 1 and erasure.erased["messages"] == 3  # 1 skipped, 2 sent erased
    assert services.messages_send(now=later(1)).sent == 0
    assert len(smtp.inbox.received) == 2
    assert list(Message.objects.order_by("id").values_list("state", "to_email", "subject")) == [
        ("sent", "", "[erased]"),
        ("sent", "", "[erased]"),
        ("skipped", "", ""),
    ]
    # After the erasure the customer writes no message any more, whatever happens.
    coupon(app)
    assert Message.objects.count() == 3
    again = personal_data_erase(user_id=USER, by="test").erased
    assert (again["contact"], again["messages"]) == (0, 0)


def test_consent_withdrawn_after_the_message_was_written_sends_nothing(smtp, app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    services.contact_set(user_id=USER, topics={"coupons": False})

    report = services.messages_send()

    assert (report.sent, report.skipped) == (0, 1)
    assert Message.objects.get().state == MessageState.SKIPPED
    assert smtp.inbox.received == []


def test_every_message_renders_in_both_languages_and_differs():
    data = {
        "balance": {"total_points": 1},
        "lots": [{"remaining": 1, "expires_at": "2027-03-04T00:00:00Z"}],
        "item": {"item_code": "C0DE", "amount": 12.5, "valid_until": "2027-03-04T00:00:00Z"},
        "tier": {"name": "Gold"},
        "previous_tier": {"name": "Silver"},
        "reward": {"points_earned": 1},
        "challenge": {"name": "Streak"},
        "badge": {"name": "Streak"},
    }
    from rewards.models import MessageKind
    from rewards.services.messages import message_render

    topics = {"points_expiring": "points_expiring", "tier_upgraded": "tier_changes", "tier_downgraded": "tier_changes"}
    for kind in MessageKind.values:
        topic = topics.get(kind, "coupons")
        en = message_render(kind=kind, topic=topic, data=data, user_id=USER, language="en")
        fr = message_render(kind=kind, topic=topic, data=data, user_id=USER, language="fr")
        assert en.subject and fr.subject and en.subject != fr.subject, kind
        assert en.text != fr.text and "Ne plus recevoir ces messages" in fr.text, kind
        assert "1 point" in fr.text and "1 points" not in fr.text, kind  # French singular
    expiring = message_render(kind="points_expiring", topic="points_expiring", data=data, user_id=USER, language="fr")
    assert "1 de vos points expire le 4 mars 2027." in expiring.text
    coupon_fr = message_render(kind="coupon_expiring", topic="coupons", data=data, user_id=USER, language="fr")
    assert coupon_fr.subject == "Votre bon de 12,50 $ expire bientôt"


# ---- unsubscribe --------------------------------------------------------------------------------


def unsubscribe_link(*, topic: str = "coupons") -> str:
    from rewards.services.messages import unsubscribe_url

    return unsubscribe_url(user_id=USER, topic=topic).split("://", 1)[1].split("/", 1)[1]


def test_get_asks_in_the_customers_language_and_post_turns_the_topic_off(client):
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    path = "/" + unsubscribe_link()

    page = client.get(path)
    assert page.status_code == 200
    assert "Ne plus recevoir de messages sur les bons de réduction ?" in page.content.decode()
    assert services.contact_get(USER).topics["coupons"] is True

    # A mail client's one-click POST (RFC 8058): no CSRF token, no cookie.
    done = client.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200
    assert "Vous ne recevrez plus de messages sur les bons de réduction." in done.content.decode()
    topics = services.contact_get(USER).topics
    assert topics["coupons"] is False and topics["tier_changes"] is True


@pytest.mark.parametrize("change", ["forged", "altered", "other_salt"])
def test_a_forged_or_altered_link_is_refused_and_changes_nothing(client, change):
    from django.core import signing

    services.contact_set(user_id=USER, email="ada@example.com")
    token = unsubscribe_link().split("/")[2]
    if change == "forged":
        token = signing.dumps({"u": USER, "t": "coupons"}, salt="rewards.messages.unsubscribe", key="not-the-key")
    elif change == "altered":
        other = signing.dumps({"u": USER + 1, "t": "coupons"}, salt="x").split(":")[0]
        token = other + token[token.index(":") :]
    else:
        token = signing.dumps({"u": USER, "t": "coupons"}, salt="rewards.something.else")

    for method in (client.get, client.post):
        response = method(f"/messages/unsubscribe/{token}/")
        assert response.status_code == 404
        assert "This link is not valid" in response.content.decode()
    assert services.contact_get(USER).topics["coupons"] is True


def test_the_admin_lists_messages_by_state_and_resends_a_failed_one(admin_client, app, django_user_model):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    coupon(app)
    first, second = Message.objects.order_by("id")
    Message.objects.filter(pk=first.pk).update(state="failed", attempts=3, last_error="451")

    listed = admin_client.get("/admin/rewards/message/?state__exact=failed")
    assert listed.status_code == 200
    assert f'value="{first.pk}"' in listed.content.decode()
    assert f'value="{second.pk}"' not in listed.content.decode()

    resent = admin_client.post(
        "/admin/rewards/message/", {"action": "resend_failed", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert resent.status_code == 200
    assert list(Message.objects.order_by("id").values_list("state", "attempts")) == [("pending", 0), ("pending", 0)]

    # Staff who may only view messages cannot resend them.
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    Message.objects.filter(pk=first.pk).update(state="failed")
    client = type(admin_client)()
    client.force_login(viewer)
    page = client.get("/admin/rewards/message/")
    assert page.status_code == 200 and "resend_failed" not in page.content.decode()
    client.post("/admin/rewards/message/", {"action": "resend_failed", "_selected_action": [first.pk]})
    assert Message.objects.get(pk=first.pk).state == "failed"


def test_the_export_lists_the_messages(app):
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)
    program = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))

    exported = program.get(f"/loyalty-api/customers/{USER}/export").json()

    [message] = exported["messages"]
    assert (message["kind"], message["topic"], message["state"], message["sent_at"]) == (
        "coupon_issued",
        "coupons",
        "pending",
        None,
    )
    assert datetime.fromisoformat(message["created_at"]).tzinfo == UTC


def test_the_triggers_when_clause_lets_by_exactly_the_events_that_write_a_message():
    """The WHEN clause names in plain SQL the events message_kind gives a message: every event
    type with every ledger kind, written for a customer with every topic on, writes a message
    exactly when message_kind says so."""
    from rewards.models import RewardKind

    services.contact_set(user_id=USER, email="ada@example.com", topics={"marketing": True})
    expected = set()
    with connection.cursor() as cursor:
        for event_type in EventType.values:
            for kind in [*RewardKind.values, None]:
                cursor.execute("SELECT message_kind(%s, %s)", [event_type, kind])
                message_kind = cursor.fetchone()[0]
                data = {"reward": {"kind": kind}} if kind else {}
                event = event_record(type=event_type, user_id=USER, now=timezone.now(), extra=data)
                once_a_day_again = message_kind == "points_expiring" and any(
                    k == "points_expiring" for _, k in expected
                )
                if message_kind and not once_a_day_again:
                    expected.add((event.pk, message_kind))
    written = set(Message.objects.values_list("event_id", "kind"))
    assert written == expected
    assert {kind for _, kind in expected} == {
        "points_expiring",
        "tier_upgraded",
        "tier_downgraded",
        "coupon_issued",
        "coupon_expiring",
        "birthday_award",
        "challenge_completed",
        "badge_given",
    }


def test_the_beat_sweeps_with_the_workers_task(app, settings, mailoutbox):
    from rewards.tasks import notice_coupons, send_messages

    assert settings.CELERY_BEAT_SCHEDULE["messages-send"]["task"] == "rewards.tasks.send_messages"
    assert settings.CELERY_BEAT_SCHEDULE["notice-coupons"]["task"] == "rewards.tasks.notice_coupons"
    services.contact_set(user_id=USER, email="ada@example.com")
    services.points_earn(user_id=USER, points=500, description="welcome", app=app)
    coupon(app)

    assert send_messages() == 1
    assert notice_coupons() == 0
    [sent] = mailoutbox
    assert sent.to == ["ada@example.com"] and sent.subject == "Your $5.00 coupon"
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_birthday_award_writes_its_message_in_the_customers_language(smtp):
    from tests.rewards.test_birthdays import BIRTHDAY_RULE, at

    services.rule_create(definition=BIRTHDAY_RULE, by="test")
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")
    services.birthday_set(user_id=USER, month=6, day=15, now=at("2027-01-10T12:00:00"))

    assert services.birthdays_award(now=at("2027-06-15T08:00:00")).awarded == 1

    message = Message.objects.get()
    assert (message.kind, message.topic) == ("birthday_award", "birthday")
    assert services.messages_send().sent == 1
    [received] = smtp.inbox.received
    assert received["Subject"] == "Joyeux anniversaire !"
    assert "Pour votre anniversaire, nous avons ajouté 100 points à votre solde." in text_of(received)


def test_a_mailto_unsubscribe_goes_beside_the_link_when_set(settings):
    from rewards.services.messages import message_render

    settings.MESSAGES_BASE_URL = "https://rewards.shop.example"
    settings.MESSAGES_UNSUBSCRIBE_MAILTO = "unsubscribe@shop.example"

    rendered = message_render(kind="birthday_award", topic="birthday", data={}, user_id=USER, language="en")

    assert re.fullmatch(
        r"<https://rewards\.shop\.example/messages/unsubscribe/[^/]+/>, "
        r"<mailto:unsubscribe@shop\.example\?subject=unsubscribe>",
        rendered.headers["List-Unsubscribe"],
    )
    assert rendered.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_tier_reached_by_an_order_is_announced_in_french(smtp, app):
    from loyalty.services import order_record

    bronze = {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0}
    silver = {"code": "silver", "name": "Silver", "entry_points": 10, "retain_points": 10}
    services.ladder_set(definition={"tiers": [bronze, silver]}, by="test")
    services.contact_set(user_id=USER, email="ada@example.com", language="fr")

    order_record(order_id=77, user_id=USER, total_cost=1000, completed_at=int(timezone.now().timestamp()), app=app)

    upgrade = Event.objects.get(type=EventType.TIER_UPGRADED, user_id=USER)
    message = Message.objects.get(kind="tier_upgraded")
    assert (message.event_id, message.topic) == (upgrade.pk, "tier_changes")
    services.messages_send()
    [received] = smtp.inbox.received
    assert received["Subject"] == "Bienvenue au niveau Silver !"
    assert "Vous passez de Bronze à Silver. Profitez de ses avantages." in text_of(received)


@pytest.mark.parametrize(
    ("url", "backend", "folder"),
    [
        ("filemail:///.run/mail", "django.core.mail.backends.filebased.EmailBackend", ".run/mail"),
        ("filemail:////tmp/mail-elsewhere", "django.core.mail.backends.filebased.EmailBackend", "/tmp/mail-elsewhere"),
        ("consolemail://", "django.core.mail.backends.console.EmailBackend", None),
        ("smtp+tls://u:p@mail.example:587", "django.core.mail.backends.smtp.EmailBackend", None),
    ],
)
def test_email_url_picks_the_backend_and_a_files_folder(url, backend, folder):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_FILE_PATH, s.EMAIL_HOST, s.EMAIL_USE_TLS]))",
        ],
        cwd="/",
        env={
            **os.environ,
            "EMAIL_URL": url,
            "DJANGO_SETTINGS_MODULE": "rewards_project.settings",
            "PYTHONPATH": str(root),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    chosen, path, host, tls = json.loads(shown.stdout)
    assert chosen == backend
    assert path == (str(root / folder) if folder else "")
    if url.startswith("smtp"):
        assert (host, tls) == ("mail.example", True)

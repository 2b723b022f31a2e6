"""Messages to customers: their contact and consent, the outbox's sending, an unsubscribe.

A message is written into the outbox (``Message``) by the trigger of rewards/sql/messages.sql,
in the transaction of the event that causes it, and only for a customer whose contact has an
email and the message's topic on. The worker (``messages_send``) claims the due ones, renders
each in the customer's language when it sends it (the contact is read again then: consent
withdrawn or an erasure meanwhile, and nothing is sent), sends it through Django's email backend
(SMTP in production, EMAIL_URL) and records the outcome with an event, ``message.sent`` or
``message.failed``.

A claim moves the message's ``next_attempt_at`` a lease ahead and commits before the SMTP
conversation, so no transaction stays open while a server answers. A worker that dies between
the server's OK and the record leaves the message pending: it is sent again once the lease is
over, so a crash there can cause one duplicate, and nothing worse.
"""

import contextlib
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from rewards.models import (
    TOPICS_DEFAULT,
    Contact,
    Event,
    EventType,
    Message,
    MessageKind,
    MessageLanguage,
    MessageState,
    MessageTopic,
)
from rewards.services.events import event_record

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
UNSUBSCRIBE_SALT = "rewards.messages.unsubscribe"  # a signature of this purpose only
LAST_ERROR_LENGTH = 500


# ---- contact and consent ------------------------------------------------------------------------


@transaction.atomic
def contact_set(
    *,
    user_id: int,
    email: str | None = None,
    language: str | None = None,
    topics: dict[str, bool] | None = None,
    now: datetime | None = None,
) -> Contact:
    """Create or change a customer's contact: what is given replaces what was; a new contact
    starts with no email, English, and every topic on but marketing. ``topics`` may name some
    topics only: the others stay as they were."""
    now = now or timezone.now()
    contact = Contact.objects.select_for_update().filter(user_id=user_id).first()
    if contact is None:
        contact = Contact(user_id=user_id, topics=dict(TOPICS_DEFAULT), created_at=now)
    if email is not None:
        contact.email = email
    if language is not None:
        contact.language = language
    contact.topics = {**TOPICS_DEFAULT, **contact.topics, **(topics or {})}
    contact.updated_at = now
    contact.save()
    return contact


def contact_get(user_id: int) -> Contact | None:
    return Contact.objects.filter(user_id=user_id).first()


def contact_fields(contact: Contact | None, *, user_id: int) -> dict[str, Any]:
    """A contact as the API answers it and the export carries it. A customer who set none: no
    email, no language (the rewards page follows the browser's) and the default topics."""
    if contact is None:
        return {"user_id": user_id, "email": "", "language": None, "topics": dict(TOPICS_DEFAULT)}
    return {
        "user_id": contact.user_id,
        "email": contact.email,
        "language": contact.language,
        "topics": {topic: bool(contact.topics.get(topic, on)) for topic, on in TOPICS_DEFAULT.items()},
    }


# ---- unsubscribe --------------------------------------------------------------------------------


def unsubscribe_token(*, user_id: int, topic: str) -> str:
    """The signed part of an unsubscribe link: the customer and the topic, nothing to guess."""
    return signing.dumps({"u": user_id, "t": topic}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, user_id: int, topic: str) -> str:
    return f"{settings.MESSAGES_BASE_URL}/messages/unsubscribe/{unsubscribe_token(user_id=user_id, topic=topic)}/"


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    topic: str
    language: str


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """Who and what a link unsubscribes, or None for a forged, altered or unknown one."""
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("t") not in MessageTopic.values or not isinstance(value.get("u"), int):
        return None
    contact = contact_get(value["u"])
    language = contact.language if contact else MessageLanguage.ENGLISH
    return Unsubscribe(user_id=value["u"], topic=value["t"], language=language)


def topic_unsubscribe(unsubscribe: Unsubscribe) -> bool:
    """Turn the link's topic off (if the contact is still there). Whether anything changed."""
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(user_id=unsubscribe.user_id).first()
        if contact is None or contact.topics.get(unsubscribe.topic) is False:
            return False
        contact.topics = {**TOPICS_DEFAULT, **contact.topics, unsubscribe.topic: False}
        contact.updated_at = timezone.now()
        contact.save(update_fields=["topics", "updated_at"])
        return True


# ---- rendering ----------------------------------------------------------------------------------


def _moment(text: str | None) -> datetime | None:
    return parse_datetime(text) if text else None


def message_context(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a message's templates show, from its event's data."""
    reward = data.get("reward") or {}
    item = data.get("item") or {}
    context: dict[str, Any] = {"total_points": (data.get("balance") or {}).get("total_points")}
    if kind == MessageKind.POINTS_EXPIRING:
        lots = data.get("lots") or []
        expiries = [moment for moment in (_moment(lot.get("expires_at")) for lot in lots) if moment]
        context |= {"points": sum(lot.get("remaining", 0) for lot in lots), "expires_at": min(expiries, default=None)}
    elif kind in (MessageKind.TIER_UPGRADED, MessageKind.TIER_DOWNGRADED):
        context |= {
            "tier": (data.get("tier") or {}).get("name", ""),
            "previous_tier": (data.get("previous_tier") or {}).get("name", ""),
        }
    elif kind in (MessageKind.COUPON_ISSUED, MessageKind.COUPON_EXPIRING):
        context |= {
            "item_code": item.get("item_code", ""),
            "amount": item.get("amount"),
            "valid_until": _moment(item.get("valid_until")),
        }
    elif kind == MessageKind.BIRTHDAY_AWARD:
        context |= {"points": reward.get("points_earned") or 0}
    elif kind in (MessageKind.CHALLENGE_COMPLETED, MessageKind.BADGE_GIVEN):
        context |= {"name": (data.get("challenge") or data.get("badge") or {}).get("name", "")}
    return context


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def message_render(*, kind: str, topic: str, data: dict[str, Any], user_id: int, language: str) -> Rendered:
    """A message in ``language``: its subject, text and HTML from ``templates/messages/<kind>/``,
    and the one-click unsubscribe headers of RFC 8058."""
    link = unsubscribe_url(user_id=user_id, topic=topic)
    context = {
        **message_context(kind, data),
        "program_name": settings.PROGRAM_NAME,
        "accent_color": settings.PROGRAM_ACCENT_COLOR,
        "currency": settings.CURRENCY_SYMBOL,
        "unsubscribe_url": link,
        "topic": topic,
    }
    with translation.override(language):
        context["topic_name"] = topic_name(topic)
        context |= _localized(context)
        subject = " ".join(render_to_string(f"messages/{kind}/subject.txt", context).split())
        context["subject"] = subject
        text = render_to_string(f"messages/{kind}/body.txt", context)
        html = render_to_string(f"messages/{kind}/body.html", context)
    unsubscribe = f"<{link}>"
    if settings.MESSAGES_UNSUBSCRIBE_MAILTO:
        unsubscribe += f", <mailto:{settings.MESSAGES_UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    headers = {"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Rendered(subject=subject, text=text, html=html, headers=headers)


def _localized(context: dict[str, Any]) -> dict[str, str]:
    """Dates and money as the active language writes them ("7 décembre 2026", "5,00 $")."""
    localized = {}
    for name, moment in (("expires_on", context.get("expires_at")), ("valid_until_on", context.get("valid_until"))):
        if moment is not None:
            localized[name] = formats.date_format(timezone.localtime(moment), "DATE_FORMAT")
    if context.get("amount") is not None:
        amount = formats.number_format(Decimal(str(context["amount"])), decimal_pos=2, use_l10n=True)
        # Translators: an amount of money; the currency's place (before or after) is yours.
        localized["money"] = gettext("%(currency)s%(amount)s") % {
            "currency": settings.CURRENCY_SYMBOL,
            "amount": amount,
        }
    return localized


def topic_name(topic: str) -> str:
    """A topic's name in the active language (the unsubscribe page, the messages' footers)."""
    names = {
        MessageTopic.POINTS_EXPIRING: gettext("points about to expire"),
        MessageTopic.TIER_CHANGES: gettext("tier changes"),
        MessageTopic.COUPONS: gettext("coupons"),
        MessageTopic.CHALLENGES: gettext("challenges and badges"),
        MessageTopic.BIRTHDAY: gettext("birthday awards"),
        MessageTopic.MARKETING: gettext("news and offers"),
    }
    return names[topic]


# ---- sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    ids: list[int] = field(default_factory=list)


class _Retry(Exception):
    """The server is down or answered 4xx: try again later."""


def _retry_after(attempts: int) -> timedelta:
    return timedelta(seconds=settings.MESSAGE_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def _claim(now: datetime, batch_size: int) -> list[Message]:
    """The due messages, each claimed for a lease (its next attempt moved ahead, its try counted)
    and committed before any is sent: a second worker passes them by."""
    with transaction.atomic():
        due = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(state=MessageState.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:batch_size]
        )
        lease_end = now + timedelta(seconds=settings.MESSAGE_SEND_LEASE_SECONDS)
        for message in due:
            message.attempts += 1
            message.next_attempt_at = lease_end
        Message.objects.bulk_update(due, ["attempts", "next_attempt_at"])
    return due


def _send(message: Message, contact: Contact, connection: Any) -> Rendered:
    event = Event.objects.only("data").get(pk=message.event_id)
    rendered = message_render(
        kind=message.kind, topic=message.topic, data=event.data, user_id=message.user_id, language=contact.language
    )
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[contact.email],
        headers=rendered.headers,
        connection=connection,
    )
    email.attach_alternative(rendered.html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            raise _Retry(f"recipient refused for now: {error.recipients}") from error
        raise
    except smtplib.SMTPResponseException as error:
        if 400 <= error.smtp_code < 500:
            raise _Retry(f"{error.smtp_code} {error.smtp_error!r}") from error
        raise
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as error:
        raise _Retry(f"server unreachable: {error}") from error
    return rendered


def _message_fields(message: Message) -> dict[str, Any]:
    """What ``message.sent`` and ``message.failed`` carry (no address: that stays with the contact)."""
    return {
        "id": message.pk,
        "kind": message.kind,
        "topic": message.topic,
        "event_id": message.event_id,
        "language": message.language,
        "attempts": message.attempts,
    }


def _record(message: Message, *, now: datetime, **changes: Any) -> None:
    """Write the outcome of one try, unless another worker took the message since (its lease ran out)."""
    with transaction.atomic():
        current = Message.objects.select_for_update().filter(pk=message.pk, attempts=message.attempts).first()
        if current is None or current.state != MessageState.PENDING:
            return
        for name, value in changes.items():
            setattr(current, name, value)
        current.save(update_fields=list(changes))
        if current.state == MessageState.SENT:
            event_record(
                type=EventType.MESSAGE_SENT,
                user_id=current.user_id,
                now=now,
                extra={"message": _message_fields(current)},
            )
        elif current.state == MessageState.FAILED:
            event_record(
                type=EventType.MESSAGE_FAILED,
                user_id=current.user_id,
                now=now,
                extra={"message": {**_message_fields(current), "error": current.last_error}},
            )


def messages_send(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> SendReport:
    """Send what is due, in batches, until nothing is: the worker's job (and the beat's sweep)."""
    report = SendReport()
    while True:
        now_pass = now or timezone.now()
        batch = _claim(now_pass, batch_size)
        if not batch:
            return report
        connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
        # One connection for the batch; a server down, and each message's try says so.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.open()
        try:
            for message in batch:
                _send_one(message, connection=connection, now=now_pass, report=report)
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
        if len(batch) < batch_size:
            return report


def _send_one(message: Message, *, connection: Any, now: datetime, report: SendReport) -> None:
    report.ids.append(message.pk)
    contact = contact_get(message.user_id)
    if contact is None or not contact.email or not contact.topics.get(message.topic, False):
        _record(message, now=now, state=MessageState.SKIPPED, last_error="no email or the topic is off")
        report.skipped += 1
        return
    try:
        rendered = _send(message, contact, connection)
    except _Retry as error:
        if message.attempts >= settings.MESSAGE_MAX_ATTEMPTS:
            _record(message, now=now, state=MessageState.FAILED, last_error=str(error)[:LAST_ERROR_LENGTH])
            report.failed += 1
        else:
            _record(
                message,
                now=now,
                next_attempt_at=now + _retry_after(message.attempts),
                last_error=str(error)[:LAST_ERROR_LENGTH],
            )
            report.retried += 1
        return
    except Exception as error:  # a 5xx, a broken template: trying again would not help
        logger.exception("Message %s not sent", message.pk)
        _record(message, now=now, state=MessageState.FAILED, last_error=repr(error)[:LAST_ERROR_LENGTH])
        report.failed += 1
        return
    _record(
        message,
        now=now,
        state=MessageState.SENT,
        sent_at=now,
        to_email=contact.email,
        language=contact.language,
        subject=rendered.subject[:300],
        last_error="",
    )
    report.sent += 1


@transaction.atomic
def message_resend(*, message_id: int, now: datetime | None = None) -> bool:
    """A failed message tried again from the start (staff, in admin). Whether it was failed."""
    now = now or timezone.now()
    return bool(
        Message.objects.filter(pk=message_id, state=MessageState.FAILED).update(
            state=MessageState.PENDING, attempts=0, next_attempt_at=now, last_error=""
        )
    )


def messages_of(user_id: int) -> list[dict[str, Any]]:
    """A customer's messages, for the export."""
    return [
        {
            "id": m.pk,
            "kind": m.kind,
            "topic": m.topic,
            "state": m.state,
            "to_email": m.to_email,
            "language": m.language,
            "subject": m.subject,
            "created_at": m.created_at,
            "sent_at": m.sent_at,
        }
        for m in Message.objects.filter(user_id=user_id).order_by("id")
    ]

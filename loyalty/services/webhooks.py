"""Webhooks: applications subscribe to event types; a delivery engine POSTs each event, signed,
at least once, in event order per webhook and customer, retrying with backoff for 24 hours.

Dispatch turns new events into deliveries (a cursor per webhook, so it reads only new
events). Sending claims due deliveries with a short lease (``SKIP LOCKED``, committed before
any HTTP call, so no transaction waits on a slow receiver); a worker that dies mid-way
leaves the lease to expire and another sends again: receivers drop duplicates by event id.
"""

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.exceptions import NotFound
from loyalty.models import (
    Application,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from loyalty.services.webhook_urls import WebhookUrlRefused, webhook_post, webhook_target, webhook_url_check
from rewards.models import Event, EventType
from rewards.selectors import events_after
from rewards.shapes import event_fields

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Loyalty-Signature"
EVENT_ID_HEADER = "X-Loyalty-Event-Id"
GIVE_UP_AFTER = timedelta(hours=24)
LEASE = timedelta(seconds=60)  # longer than the 10 s timeout, with room to record the result


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    default_message = "This application has no webhook with this id."


# ---- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewWebhook:
    subscription: WebhookSubscription
    secret: str  # shown once


def webhook_create(*, app: Application, url: str, event_types: list[str], description: str = "") -> NewWebhook:
    webhook_url_check(url)
    secret = "whsec_" + secrets.token_urlsafe(32)
    latest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    subscription = WebhookSubscription.objects.create(
        application=app,
        url=url,
        event_types=sorted(set(event_types)),
        description=description,
        secret=secret,
        last_event_id=latest,  # from now on, not the past
    )
    return NewWebhook(subscription=subscription, secret=secret)


def _own(app: Application, webhook_id: int) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(application=app, pk=webhook_id).first()
    if subscription is None:
        raise WebhookNotFound()
    return subscription


@transaction.atomic
def webhook_change(*, app: Application, webhook_id: int, **changes: object) -> WebhookSubscription:
    """Change url, event_types, description or is_active; any change resumes a paused webhook."""
    subscription = _own(app, webhook_id)
    if "url" in changes:
        webhook_url_check(str(changes["url"]))
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.paused_at = None
    subscription.consecutive_failures = 0
    subscription.save()
    return subscription


def webhook_delete(*, app: Application, webhook_id: int) -> None:
    _own(app, webhook_id).delete()


# ---- dispatch: new events become deliveries -----------------------------------------------


def webhook_deliveries_dispatch(*, now: datetime | None = None) -> int:
    """For each live webhook, the events after its cursor of the types it wants become
    deliveries. Returns how many were created."""
    now = now or timezone.now()
    created = 0
    live = WebhookSubscription.objects.filter(is_active=True, paused_at__isnull=True, application__revoked_at=None)
    for subscription_id in live.values_list("id", flat=True):
        with transaction.atomic():
            subscription = (
                WebhookSubscription.objects.select_for_update(skip_locked=True).filter(pk=subscription_id).first()
            )
            if subscription is None:
                continue  # another dispatcher has it
            while True:
                page = events_after(
                    after=subscription.last_event_id, limit=1000, application_id=subscription.application_id
                )
                wanted = [event for event in page.events if event.type in subscription.event_types]
                WebhookDelivery.objects.bulk_create(
                    [
                        WebhookDelivery(
                            subscription=subscription,
                            event=event,
                            user_id=event.user_id,
                            next_attempt_at=now,
                            created_at=now,
                        )
                        for event in wanted
                    ],
                    ignore_conflicts=True,
                )
                created += len(wanted)
                subscription.last_event_id = page.next_after
                if not page.has_more:
                    break
            subscription.save(update_fields=["last_event_id"])
    return created


# ---- sending -----------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of "<timestamp>.<raw body>" with the webhook's secret, hex."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: base * 2^(attempts - 1), at most an hour, +-25%."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=min(base, 3600) * random.uniform(0.75, 1.25))


@dataclass(frozen=True)
class SendReport:
    delivered: int
    failed_attempts: int
    gave_up: int


def _claim(limit: int, now: datetime) -> list[WebhookDelivery]:
    """Due deliveries, each the earliest still pending for its webhook and customer, leased."""
    earlier = WebhookDelivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        user_id=OuterRef("user_id"),
        status=DeliveryStatus.PENDING,
        event_id__lt=OuterRef("event_id"),
    )
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=DeliveryStatus.PENDING,
                next_attempt_at__lte=now,
                subscription__is_active=True,
                subscription__paused_at__isnull=True,
            )
            .filter(~Exists(earlier) | Q(user_id__isnull=True))
            .select_related("subscription", "event")
            .order_by("event_id")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=now + LEASE)
    return due


def webhook_deliveries_send(*, limit: int = 100, now: datetime | None = None) -> SendReport:
    """One round: claim the due deliveries, POST each, record the outcome."""
    delivered = failed = gave_up = 0
    for delivery in _claim(limit, now or timezone.now()):
        outcome = _send(delivery)
        if outcome == DeliveryStatus.DELIVERED:
            delivered += 1
        elif outcome == DeliveryStatus.FAILED:
            gave_up += 1
        else:
            failed += 1
    return SendReport(delivered=delivered, failed_attempts=failed, gave_up=gave_up)


def _send(delivery: WebhookDelivery) -> str:
    subscription = delivery.subscription
    body = json.dumps(event_fields(delivery.event), separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "loyalty-webhooks/1",
        EVENT_ID_HEADER: str(delivery.event_id),
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(subscription.secret, timestamp, body)}",
    }
    started = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        # Checked again, and resolved once more: a name may point elsewhere by now. The
        # request goes to the addresses this check saw, and nowhere else.
        target = webhook_target(subscription.url)
        answer = webhook_post(target, body=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        status_code, excerpt = answer.status_code, answer.excerpt
    except WebhookUrlRefused as exc:
        error = f"Refused: {exc.message}"[:300]
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    latency_ms = int((time.monotonic() - started) * 1000)
    return _record(delivery, status_code=status_code, excerpt=excerpt, error=error, latency_ms=latency_ms)


@transaction.atomic
def _record(delivery: WebhookDelivery, *, status_code: int | None, excerpt: str, error: str, latency_ms: int) -> str:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=status_code,
        latency_ms=latency_ms,
        response_excerpt=excerpt,
        error=error,
    )
    delivery.attempts += 1
    subscriptions = WebhookSubscription.objects.filter(pk=delivery.subscription_id)
    if status_code is not None and 200 <= status_code < 300:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        if delivery.subscription.consecutive_failures:
            subscriptions.update(consecutive_failures=0)
    else:
        subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
        subscriptions.filter(
            consecutive_failures__gte=settings.WEBHOOK_PAUSE_AFTER_FAILURES, paused_at__isnull=True
        ).update(paused_at=now)
        if now - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
    return delivery.status


def webhook_delivery_resend(*, delivery_id: int) -> None:
    """Staff: send a delivery again now (a failed one included)."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), created_at=timezone.now()
    )


def webhooks_deliver_all(*, rounds: int = 1000) -> SendReport:
    """Dispatch, then send until nothing is due (what `deliver_events` and the worker run)."""
    totals = [0, 0, 0]
    for _ in range(rounds):
        webhook_deliveries_dispatch()
        report = webhook_deliveries_send()
        totals = [totals[0] + report.delivered, totals[1] + report.failed_attempts, totals[2] + report.gave_up]
        if not (report.delivered or report.failed_attempts or report.gave_up):
            break
    return SendReport(*totals)


EVENT_TYPES = [choice.value for choice in EventType]

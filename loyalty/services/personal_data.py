"""A customer's own data: everything kept about them, and erasing what is personal.

Erasure keeps what the books need (amounts, dates, balances, the ledger's kinds and links, the
badges a customer holds and held), so ``check_ledger`` stays clean, and removes what says
something about the person: their birthday's date, who referred whom, their attributes (what a
shop said about them), their contact (email, language, consent) and the address and subject of
the messages sent to them, and every free text, wherever it is kept (ledger descriptions, void
and staff reasons, a badge's award and take-back reasons, an order's channel and its items' sku
and category, activities' properties), inside the events that carry them (so the events API and
every webhook delivery, which renders its event when it sends, carry it no more), in the answers
stored for Idempotency-Key replays, and in what webhook receivers answered to their events.

Nothing left behind tells a guess at erased data from a wrong one: a stored fingerprint of a
request is replaced by ``[erased]``, and a replay is compared on what the erasure kept. The
year of the last birthday award stays, so a birthday set again earns nothing more that year.
The erasure is recorded (who, when, how many of each), and a second call finds nothing left
and changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from core.exceptions import NotFound
from loyalty.models import Order, PersonalDataErasure, Referral, ReferralCode, WebhookAttempt
from rewards import reports
from rewards.models import (
    ERASED,
    Account,
    Activity,
    BadgeAward,
    Birthday,
    Contact,
    CustomerAttributes,
    Event,
    IdempotencyKey,
    Message,
    MessageState,
    PointLot,
    RedeemedItem,
    Reward,
    TierChange,
)
from rewards.selectors import customer_chain, history_rows_shown
from rewards.services import tier_fields
from rewards.services.attributes import attributes_read
from rewards.services.challenges import challenges_of
from rewards.services.digests import customer_digests
from rewards.services.messages import contact_fields, messages_of
from rewards.shapes import badge_award_fields, iso, redeemed_item_fields
from rewards.verify import export_chain_entry

# The keys of stored JSON whose texts are free text about the customer: a ledger row's
# description, a void's or an expiry's reason, an order's channel, an order item's sku and
# category. An activity's ``properties`` are emptied whole.
FREE_TEXT_KEYS = frozenset(
    {"reward_description", "reason", "refund_reason", "revoke_reason", "channel", "sku", "category"}
)


def erased_json(value: Any) -> Any:
    """Stored JSON as an erasure leaves it: every non-empty free text ``[erased]``, properties
    ``{}``; numbers, dates, kinds, codes and the shape as they were."""
    if isinstance(value, list):
        return [erased_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    erased = {}
    for key, item in value.items():
        if key in FREE_TEXT_KEYS and isinstance(item, str) and item:
            erased[key] = ERASED
        elif key == "properties" and isinstance(item, dict):
            erased[key] = {}
        else:
            erased[key] = erased_json(item)
    return erased


def order_text_erased(*, items: list[dict[str, Any]], channel: str) -> tuple[list[dict[str, Any]], str]:
    """An order's items and channel as an erasure leaves them (quantities and prices kept)."""
    erased = erased_json({"items": items, "channel": channel})
    return erased["items"], erased["channel"]


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_message = "Nothing is kept about this user_id."


def _known(user_id: int) -> bool:
    return (
        Account.objects.filter(user_id=user_id).exists()
        or Birthday.objects.filter(user_id=user_id).exists()
        or ReferralCode.objects.filter(user_id=user_id).exists()
        or Contact.objects.filter(user_id=user_id).exists()
        or BadgeAward.objects.filter(user_id=user_id).exists()
    )


def customer_points_as_of(*, user_id: int, at: datetime) -> reports.CustomerAsOf:
    """A known customer's available, pending and owed points at ``at``, as the liability
    report counts them (``rewards.reports``, its one computation of a customer's points)."""
    if not _known(user_id):
        raise CustomerNotFound()
    return reports.customer_as_of(user_id=user_id, at=at)


def customer_export(*, user_id: int) -> dict[str, Any]:
    """Everything kept about one customer, as JSON."""
    if not _known(user_id):
        raise CustomerNotFound()
    lots = PointLot.objects.filter(user_id=user_id).order_by("id")
    coupons = RedeemedItem.objects.filter(reward__user_id=user_id).order_by("id")
    birthday = Birthday.objects.filter(user_id=user_id).first()
    code = ReferralCode.objects.filter(user_id=user_id).first()
    referred_by = Referral.objects.filter(referee_user_id=user_id).first()
    return {
        "user_id": user_id,
        "ledger": history_rows_shown(user_id=user_id),
        "lots": [
            {
                "id": lot.id,
                "credit_id": lot.credit_id,
                "points": lot.points,
                "remaining": lot.remaining,
                "pending": lot.pending,
                "available_at": iso(lot.available_at),
                "expires_at": iso(lot.expires_at),
                "expired_points": lot.expired_points,
                "cancelled_points": lot.cancelled_points,
            }
            for lot in lots
        ],
        "orders": [
            {
                "order_id": order.order_id,
                "total_cost": order.total_cost,
                "completed_at": iso(order.completed_at),
                "points_awarded": order.points_awarded,
                "returned_cost": order.returned_cost,
                "channel": order.channel,
                "items": order.items,
            }
            for order in Order.objects.filter(user_id=user_id).order_by("order_id")
        ],
        "coupons": [
            {**redeemed_item_fields(item), "kind": item.kind, "created_at": iso(item.created_at)} for item in coupons
        ],
        "activities": [
            {
                "activity_id": a.activity_id,
                "name": a.name,
                "occurred_at": iso(a.occurred_at),
                "properties": a.properties,
            }
            for a in Activity.objects.filter(user_id=user_id).order_by("id")
        ],
        "badges": [
            badge_award_fields(award)
            for award in BadgeAward.objects.filter(user_id=user_id).select_related("badge").order_by("id")
        ],
        "challenges": challenges_of(user_id=user_id),
        **tier_fields(user_id),
        "referral": {
            "code": code.code if code else None,
            "referred_by_user_id": referred_by.referrer_user_id if referred_by else None,
            "referred_user_ids": list(
                Referral.objects.filter(referrer_user_id=user_id).values_list("referee_user_id", flat=True)
            ),
        },
        "attributes": attributes_read(user_id=user_id),
        "birthday": {"month": birthday.month, "day": birthday.day} if birthday and birthday.month else None,
        "birthday_awarded_year": birthday.awarded_year if birthday else None,
        "contact": contact_fields(contact, user_id=user_id)
        if (contact := Contact.objects.filter(user_id=user_id).first())
        else None,
        "messages": [
            {**m, "created_at": iso(m["created_at"]), "sent_at": iso(m["sent_at"])} for m in messages_of(user_id)
        ],
        "erasures": [
            {"erased_by": e.erased_by, "erased_at": iso(e.erased_at), "erased": e.erased}
            for e in PersonalDataErasure.objects.filter(user_id=user_id).order_by("id")
        ],
        # The customer's hash chain and the signed digests that hold its heads: checked offline
        # with `python -m rewards.verify export.json --public-key KEY` (docs/VERIFY.md).
        "chain": {"head": _chain_head(user_id), "rows": [export_chain_entry(row) for row in customer_chain(user_id)]},
        "digests": customer_digests(user_id),
    }


def _chain_head(user_id: int) -> dict[str, Any]:
    account = Account.objects.filter(user_id=user_id).only("chain_seq", "chain_hash").first()
    if account is None or account.chain_hash is None:
        return {"seq": 0, "hash": None}
    return {"seq": account.chain_seq, "hash": bytes(account.chain_hash).hex()}


@dataclass(frozen=True)
class Erasure:
    user_id: int
    erased: dict[str, int]

    @property
    def changed(self) -> bool:
        return any(self.erased.values())


def _save_erased(rows: Iterable[Model], fields: list[str], erase: Any) -> int:
    """``erase(row)`` on each row; the rows it changed saved (``fields`` only). Returns how many."""
    changed = []
    for row in rows:
        before = [getattr(row, name) for name in fields]
        erase(row)
        if [getattr(row, name) for name in fields] != before:
            changed.append(row)
    if changed:
        type(changed[0]).objects.bulk_update(changed, fields, batch_size=500)
    return len(changed)


def _event_erase(event: Event) -> None:
    event.data = erased_json(event.data)


def _order_erase(order: Order) -> None:
    order.items, order.channel = order_text_erased(items=order.items, channel=order.channel)


def _activity_erase(activity: Activity) -> None:
    # The fingerprint hashes the properties: kept, it would tell a right guess from a wrong one.
    activity.properties, activity.fingerprint = {}, ERASED
    activity.answer = erased_json(activity.answer)


def _answer_erase(key: IdempotencyKey) -> None:
    # The request's fingerprint goes too: a replay with this key answers whatever the body.
    key.request_fingerprint = ERASED
    key.response_body = erased_json(key.response_body)


def _attributes_erase(user_id: int) -> int:
    row = CustomerAttributes.objects.select_for_update().filter(user_id=user_id).first()
    if row is None:
        return 0
    row.delete()
    return len(row.attributes)


@transaction.atomic
def personal_data_erase(*, user_id: int, by: str) -> Erasure:
    """Erase what is personal about one customer (see the module); recorded when anything was."""
    if not _known(user_id):
        raise CustomerNotFound()
    # Events are read by id only (no index on their customer): one pass reads the customer's.
    events = Event.objects.filter(user_id=user_id).only("id", "data")
    answers = IdempotencyKey.objects.filter(Q(customer_user_id=user_id) | Q(response_body__user_id=user_id))
    erased = {
        "ledger_descriptions": Reward.objects.filter(user_id=user_id)
        .exclude(reward_description=ERASED)
        .update(reward_description=ERASED, description_salt=None),
        "events": _save_erased(events, ["data"], _event_erase),
        "orders": _save_erased(Order.objects.filter(user_id=user_id), ["items", "channel"], _order_erase),
        "activities": _save_erased(
            Activity.objects.filter(user_id=user_id).exclude(properties={}),
            ["properties", "fingerprint", "answer"],
            _activity_erase,
        ),
        "staff_reasons": TierChange.objects.filter(user_id=user_id)
        .exclude(reason__in=["", ERASED])
        .update(reason=ERASED)
        + RedeemedItem.objects.filter(reward__user_id=user_id)
        .exclude(refund_reason__in=["", ERASED])
        .update(refund_reason=ERASED)
        + BadgeAward.objects.filter(user_id=user_id).exclude(reason=ERASED).update(reason=ERASED)
        + BadgeAward.objects.filter(user_id=user_id)
        .exclude(revoke_reason__in=["", ERASED])
        .update(revoke_reason=ERASED),
        "stored_answers": _save_erased(
            answers.exclude(request_fingerprint=ERASED), ["request_fingerprint", "response_body"], _answer_erase
        ),
        # A receiver's answer may echo the event it was sent.
        "webhook_answers": WebhookAttempt.objects.filter(delivery__user_id=user_id)
        .exclude(response_excerpt__in=["", ERASED])
        .update(response_excerpt=ERASED),
        # The date goes; the year of the last award stays, so a birthday set again earns
        # nothing more that year.
        "birthday": Birthday.objects.filter(user_id=user_id, month__isnull=False).update(
            month=None, day=None, updated_at=timezone.now()
        ),
        "referral_links": Referral.objects.filter(referee_user_id=user_id).delete()[0]
        + Referral.objects.filter(referrer_user_id=user_id).delete()[0],
        "referral_code": ReferralCode.objects.filter(user_id=user_id).delete()[0],
        # The address and consent go; nothing pending is sent after this (the worker also reads
        # the contact again before it sends), and what was sent keeps no address or subject.
        "contact": Contact.objects.filter(user_id=user_id).delete()[0],
        "messages": Message.objects.filter(user_id=user_id, state=MessageState.PENDING).update(
            state=MessageState.SKIPPED, last_error="erased"
        )
        + Message.objects.filter(user_id=user_id).exclude(to_email="").update(to_email="", subject=ERASED),
        # How many attributes went: every one is what a shop said about the person.
        "attributes": _attributes_erase(user_id),
    }
    erasure = Erasure(user_id=user_id, erased=erased)
    if erasure.changed:
        PersonalDataErasure.objects.create(user_id=user_id, erased_by=by, erased_at=timezone.now(), erased=erased)
    return erasure

"""The outbox: an event for every ledger row, coupon use, order, return, expiry notice and
application revocation, written in the same transaction as the change it describes."""

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.dispatch import Signal

from core.jsonencoder import JSONEncoder
from rewards.models import Event, EventType, Reward, RewardKind
from rewards.selectors import Balance
from rewards.shapes import balance_fields, reward_row_fields

# Sent once the transaction that recorded events has committed: a delivery can be queued.
events_committed = Signal()

_KIND_EVENT = {
    RewardKind.EARN: EventType.POINTS_EARNED,
    RewardKind.PURCHASE: EventType.POINTS_EARNED,
    RewardKind.FEEDBACK: EventType.POINTS_EARNED,
    RewardKind.ACTIVITY: EventType.POINTS_EARNED,
    RewardKind.BIRTHDAY: EventType.POINTS_EARNED,
    RewardKind.REFERRAL: EventType.POINTS_EARNED,
    RewardKind.TIER: EventType.POINTS_EARNED,
    RewardKind.REFUND: EventType.COUPON_VOIDED,
    RewardKind.ORDER: EventType.ORDER_RECORDED,
    RewardKind.ORDER_RETURN: EventType.ORDER_RETURNED,
    RewardKind.COUPON: EventType.POINTS_REDEEMED,
    RewardKind.DONATION: EventType.POINTS_REDEEMED,
    RewardKind.RELEASE: EventType.POINTS_AVAILABLE,
    RewardKind.EXPIRY: EventType.POINTS_EXPIRED,
    RewardKind.CHALLENGE: EventType.CHALLENGE_COMPLETED,
    RewardKind.CHALLENGE_CANCEL: EventType.CHALLENGE_CANCELLED,
}


def event_type_for(*, kind: str, credit: bool) -> str:
    """The event a ledger row of this kind writes (a staff adjustment: earned or redeemed)."""
    if kind == RewardKind.ADJUSTMENT:
        return EventType.POINTS_EARNED if credit else EventType.POINTS_REDEEMED
    return _KIND_EVENT[kind]


class _EventEncoder(JSONEncoder):
    def default(self, o: object) -> object:
        # Money as a JSON number, as the API shows it (at most 2 places and under 10^10, so
        # the float's shortest form is the exact amount).
        return float(o) if isinstance(o, Decimal) else super().default(o)


def event_json(data: dict[str, Any]) -> str:
    """Event data as stored: amounts as JSON numbers and times as ISO 8601, as the API shows them."""
    return json.dumps(data, cls=_EventEncoder)


def event_record(
    *,
    type: str,
    user_id: int | None,
    now: datetime,
    app: Model | None = None,
    reward: Reward | None = None,
    balance: Balance | None = None,
    extra: dict[str, Any] | None = None,
) -> Event:
    """Write one event in the current transaction: ``extra``, the ledger row and the balance after."""
    data = dict(extra or {})
    if reward is not None:
        data["reward"] = reward_row_fields(reward)
    if balance is not None:
        data["balance"] = balance_fields(balance)
    event = Event.objects.create(
        type=type,
        user_id=user_id,
        application=app,
        reward=reward,
        data=json.loads(event_json(data)),
        created_at=now,
    )
    announce_committed()
    return event


def announce_committed() -> None:
    """Tell the delivery side once this transaction commits (at once outside one)."""
    transaction.on_commit(lambda: events_committed.send(sender=Event))

"""A customer's own data: everything kept about them, and erasing what is personal.

Erasure keeps what the books need (amounts, dates, balances, the ledger's kinds and links), so
``check_ledger`` stays clean, and removes what says something about the person: their
birthday, who referred whom, and free text (ledger descriptions, also inside the events that
carry the rows, activities' properties, staff reasons). It is recorded (who, when, what), and a
second call finds nothing left and changes nothing.
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.exceptions import NotFound
from loyalty.models import Order, PersonalDataErasure, Referral, ReferralCode
from rewards.models import (
    Account,
    Activity,
    Birthday,
    Event,
    PointLot,
    RedeemedItem,
    Reward,
    TierChange,
)
from rewards.serializers import RewardHistoryOutput
from rewards.services import tier_fields
from rewards.shapes import iso, redeemed_item_fields

ERASED = "[erased]"


class CustomerNotFound(NotFound):
    code = "customer_not_found"
    default_message = "Nothing is kept about this user_id."


def _known(user_id: int) -> bool:
    return (
        Account.objects.filter(user_id=user_id).exists()
        or Birthday.objects.filter(user_id=user_id).exists()
        or ReferralCode.objects.filter(user_id=user_id).exists()
    )


def customer_export(*, user_id: int) -> dict[str, Any]:
    """Everything kept about one customer, as JSON."""
    if not _known(user_id):
        raise CustomerNotFound()
    rewards = Reward.objects.filter(user_id=user_id).select_related("rule", "lot").order_by("id")
    lots = PointLot.objects.filter(user_id=user_id).order_by("id")
    coupons = RedeemedItem.objects.filter(reward__user_id=user_id).order_by("id")
    birthday = Birthday.objects.filter(user_id=user_id).first()
    code = ReferralCode.objects.filter(user_id=user_id).first()
    referred_by = Referral.objects.filter(referee_user_id=user_id).first()
    return {
        "user_id": user_id,
        "ledger": RewardHistoryOutput(rewards, many=True).data,
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
        **tier_fields(user_id),
        "referral": {
            "code": code.code if code else None,
            "referred_by_user_id": referred_by.referrer_user_id if referred_by else None,
            "referred_user_ids": list(
                Referral.objects.filter(referrer_user_id=user_id).values_list("referee_user_id", flat=True)
            ),
        },
        "birthday": {"month": birthday.month, "day": birthday.day} if birthday else None,
        "erasures": [
            {"erased_by": e.erased_by, "erased_at": iso(e.erased_at), "erased": e.erased}
            for e in PersonalDataErasure.objects.filter(user_id=user_id).order_by("id")
        ],
    }


@dataclass(frozen=True)
class Erasure:
    user_id: int
    erased: dict[str, int]

    @property
    def changed(self) -> bool:
        return any(self.erased.values())


def _update(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@transaction.atomic
def personal_data_erase(*, user_id: int, by: str) -> Erasure:
    """Erase what is personal about one customer (see the module); recorded when anything was."""
    if not _known(user_id):
        raise CustomerNotFound()
    erased = {
        "ledger_descriptions": Reward.objects.filter(user_id=user_id)
        .exclude(reward_description=ERASED)
        .update(reward_description=ERASED),
        "event_descriptions": _update(
            f"UPDATE {Event._meta.db_table} SET data = jsonb_set(data, '{{reward,reward_description}}', %s::jsonb)"
            " WHERE user_id = %s AND data -> 'reward' ->> 'reward_description' IS DISTINCT FROM %s"
            " AND data ? 'reward'",
            [f'"{ERASED}"', user_id, ERASED],
        ),
        "activity_properties": _update(
            f"UPDATE {Activity._meta.db_table} SET properties = '{{}}',"
            " answer = jsonb_set(answer, '{activity,properties}', '{}')"
            " WHERE user_id = %s AND properties <> '{}'",
            [user_id],
        ),
        "staff_reasons": TierChange.objects.filter(user_id=user_id)
        .exclude(reason__in=["", ERASED])
        .update(reason=ERASED)
        + RedeemedItem.objects.filter(reward__user_id=user_id)
        .exclude(refund_reason__in=["", ERASED])
        .update(refund_reason=ERASED),
        "birthday": Birthday.objects.filter(user_id=user_id).delete()[0],
        "referral_links": Referral.objects.filter(referee_user_id=user_id).delete()[0]
        + Referral.objects.filter(referrer_user_id=user_id).delete()[0],
        "referral_code": ReferralCode.objects.filter(user_id=user_id).delete()[0],
    }
    erasure = Erasure(user_id=user_id, erased=erased)
    if erasure.changed:
        PersonalDataErasure.objects.create(user_id=user_id, erased_by=by, erased_at=timezone.now(), erased=erased)
    return erasure

"""The JSON shapes of the ledger's objects, as plain dicts: what the API answers with and what
events carry. Built directly (no serializer): writes are the hot path. A history row's and a
held badge's shapes live in SQL (rewards/sql/answers.sql), which writes the reads' answers."""

from datetime import UTC, datetime
from typing import Any

from rewards.models import Badge, BadgeAward, Event, RedeemedItem, Reward
from rewards.selectors import Balance


def iso(moment: datetime | None) -> str | None:
    """Datetimes as DRF renders them (UTC, "Z")."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def balance_fields(balance: Balance) -> dict[str, int | str | None]:
    """Every part of a balance, as every write answer and the events Python writes carry it.
    The answers PostgreSQL writes whole (get-user-info) and the postings' events take it from
    ``ledger_balance_fields`` (rewards/sql/ledger.sql) instead: a write holds its balance in
    Python already, and a read there would cost a round trip. Both are pinned to the same
    figures by the tests of each answer."""
    return {
        "total_points": balance.total_points,
        "total_points_earned": balance.total_points_earned,
        "total_points_redeemed": balance.total_points_redeemed,
        "pending_points": balance.pending_points,
        "next_available_at": iso(balance.next_available_at),
        "expiring_points": balance.expiring_points,
        "next_expiry_at": iso(balance.next_expiry_at),
    }


def reward_row_fields(reward: Reward) -> dict[str, Any]:
    """The ledger row's fields, as in ``RewardRowOutput``."""
    return {
        "id": reward.id,
        "user_id": reward.user_id,
        "kind": reward.kind,
        "points_earned": reward.points_earned,
        "points_redeemed": reward.points_redeemed,
        "reward_description": reward.reward_description,
        "pending_change": reward.pending_change,
        "earned_date": iso(reward.earned_date),
        "redeemed_date": iso(reward.redeemed_date),
        "is_active": reward.is_active,
    }


def redeemed_item_fields(item: RedeemedItem) -> dict[str, Any]:
    """As ``RedeemedItemOutput``."""
    return {
        "item_code": item.item_code,
        "item_description": item.item_description,
        "amount": item.amount,
        "state": item.state,
        "valid_until": iso(item.valid_until),
    }


def badge_fields(badge: Badge) -> dict[str, Any]:
    """A badge as ``loyalty-api/badges`` answers it."""
    return {
        "code": badge.code,
        "name": badge.name,
        "description": badge.description,
        "image_url": badge.image_url,
        "created_at": iso(badge.created_at),
        "updated_at": iso(badge.updated_at),
    }


def badge_award_fields(award: BadgeAward) -> dict[str, Any]:
    """One award, held or taken back, as its events and the customer's export carry it."""
    return {
        "id": award.pk,
        "badge": award.badge.code,
        "awarded_at": iso(award.awarded_at),
        "awarded_by": award.awarded_by,
        "reason": award.reason,
        "revoked_at": iso(award.revoked_at),
        "revoked_by": award.revoked_by,
        "revoke_reason": award.revoke_reason,
    }


def event_fields(event: Event) -> dict[str, Any]:
    """An event as the API and webhooks carry it."""
    return {
        "id": event.pk,
        "type": event.type,
        "user_id": event.user_id,
        "created_at": iso(event.created_at),
        "data": event.data,
    }

"""The tier ladder's arithmetic, with no database: which tier a figure of qualifying points
reaches or keeps, what a customer's tier is with a staff floor, the tier award of a credit, and
the ladder's grammar (``ladder_validated``), which the API and admin both use.
``rewards.services.tiers`` reads and writes what this decides. What a read shows of a customer's
tier and progress is written by PostgreSQL (``answer_tier_fields``, rewards/sql/answers.sql),
by these rules: a change to one here is made there too, and tests/rewards/test_user_info_answer.py
pins the figures both must give.

- **Qualifying points**: the points credited by the ladder's qualifying kinds whose event day
  (in the program's time zone) is within the last ``window_days`` days up to today (a credit
  dated ahead counts from its own day), less what returns took back of them. Redemptions,
  expiry, staff debits and tier awards never lower or raise them.
- **Upgrade** at once, when a credit takes them to a higher tier's ``entry_points``; the credit
  that lifts a customer is multiplied at the tier they had before it.
- **Requalification** at ``requalify_at`` (``since`` + ``window_days``): the customer keeps the
  highest tier, up to their own, whose ``retain_points`` the qualifying points meet then.
- A **floor** set by staff: the customer has at least that tier until its end date.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.limits import MAX_BIGINT
from core.validation import (
    Choice,
    Integer,
    Invalid,
    ListOf,
    Object,
    ObjectList,
    Text,
    pattern,
    plain_errors,
    visible_text,
)
from rewards.errors import TierLadderInvalid
from rewards.models import RewardKind
from rewards.program.language import decimal_text
from rewards.program.validate import rule_decimal

DEFAULT_WINDOW_DAYS = 365
DEFAULT_QUALIFYING_KINDS = (RewardKind.ORDER, RewardKind.PURCHASE)
# The credits that go through the earning rules: the kinds that may count toward the tiers.
QUALIFIABLE_KINDS = (
    RewardKind.ORDER,
    RewardKind.PURCHASE,
    RewardKind.FEEDBACK,
    RewardKind.ACTIVITY,
    RewardKind.BIRTHDAY,
    RewardKind.REFERRAL,
)


@dataclass(frozen=True)
class TierDef:
    code: str
    name: str
    entry_points: int
    retain_points: int
    multiplier: Decimal
    benefits: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "entry_points": self.entry_points,
            "retain_points": self.retain_points,
            "multiplier": decimal_text(self.multiplier),
            "benefits": list(self.benefits),
        }


@dataclass(frozen=True)
class Ladder:
    """The tiers, lowest first (the lowest enters at 0), and the ladder's settings."""

    tiers: tuple[TierDef, ...]
    window_days: int = DEFAULT_WINDOW_DAYS
    qualifying_kinds: tuple[str, ...] = DEFAULT_QUALIFYING_KINDS

    @classmethod
    def of(cls, *, tiers: Sequence[Mapping[str, Any]], window_days: int, qualifying_kinds: Sequence[str]) -> "Ladder":
        defs = (
            TierDef(
                code=tier["code"],
                name=tier["name"],
                entry_points=int(tier["entry_points"]),
                retain_points=int(tier["retain_points"]),
                multiplier=Decimal(str(tier["multiplier"])),
                benefits=tuple(tier.get("benefits") or ()),
            )
            for tier in tiers
        )
        return cls(
            tiers=tuple(sorted(defs, key=lambda tier: tier.entry_points)),
            window_days=window_days,
            qualifying_kinds=tuple(qualifying_kinds),
        )

    @property
    def lowest(self) -> TierDef:
        return self.tiers[0]

    def qualifies(self, kind: str) -> bool:
        return kind in self.qualifying_kinds

    def rank(self, code: str) -> int | None:
        for index, tier in enumerate(self.tiers):
            if tier.code == code:
                return index
        return None

    def find(self, code: str) -> TierDef | None:
        rank = self.rank(code)
        return None if rank is None else self.tiers[rank]

    def reached(self, qualifying: int) -> TierDef:
        """The highest tier whose entry the qualifying points meet."""
        return [tier for tier in self.tiers if tier.entry_points <= qualifying][-1]

    def kept(self, qualifying: int, *, at_most: TierDef) -> TierDef:
        """At requalification: the highest tier, up to ``at_most``, whose retain points are met
        (the lowest always is: its retain points are at most its entry, 0)."""
        top = self.tiers.index(at_most)
        return [tier for tier in self.tiers[: top + 1] if tier.retain_points <= qualifying][-1]

    def above(self, tier: TierDef) -> TierDef | None:
        index = self.tiers.index(tier)
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None

    def higher(self, a: TierDef, b: TierDef) -> TierDef:
        return a if self.tiers.index(a) >= self.tiers.index(b) else b

    def window_before(self, today: date) -> date:
        """The last day before the window that ends ``today``: the days after it count."""
        return today - timedelta(days=self.window_days)

    def window(self, today: date) -> tuple[date, date]:
        """The window that ends ``today``, as ``tier_qualifying_points`` takes it: the days
        after its first element, up to ``today`` (a day still ahead never counts)."""
        return self.window_before(today), today

    def requalify_after(self, moment: datetime) -> datetime:
        return moment + timedelta(days=self.window_days)


@dataclass(frozen=True)
class Standing:
    """What the database holds of a customer's place (``TierStanding``); none: the lowest tier."""

    tier_code: str
    since: datetime | None
    requalify_at: datetime | None
    floor_code: str = ""
    floor_until: datetime | None = None


def earned_tier(ladder: Ladder, standing: Standing | None, *, qualifying: int | None = None) -> TierDef:
    """The tier the customer earned. A tier the ladder no longer has (a ladder change) reads as
    the tier the qualifying points reach, until ``recompute_tiers`` places the customer."""
    if standing is None:
        return ladder.lowest
    tier = ladder.find(standing.tier_code)
    if tier is None:
        return ladder.reached(qualifying or 0) if qualifying is not None else ladder.lowest
    return tier


def floor_tier(ladder: Ladder, standing: Standing | None, now: datetime) -> TierDef | None:
    if standing is None or not standing.floor_code or standing.floor_until is None or standing.floor_until <= now:
        return None
    return ladder.find(standing.floor_code)


def current_tier(ladder: Ladder, standing: Standing | None, now: datetime, *, qualifying: int | None = None) -> TierDef:
    """The customer's tier now: the one they earned, or the staff floor while it lasts if higher."""
    earned = earned_tier(ladder, standing, qualifying=qualifying)
    floor = floor_tier(ladder, standing, now)
    return ladder.higher(floor, earned) if floor else earned


def held_tier(ladder: Ladder, standing: Standing | None) -> TierDef:
    """The tier the customer held with the floor they had, whether or not it has ended since:
    what the requalification job moves them from."""
    earned = earned_tier(ladder, standing)
    floor = ladder.find(standing.floor_code) if standing is not None and standing.floor_code else None
    return ladder.higher(floor, earned) if floor else earned


def tier_award_points(points: int, multiplier: Decimal) -> int:
    """A qualifying credit's tier award: floor(S x (multiplier - 1)), exactly."""
    return math.floor(points * (multiplier - 1))


# ---- the ladder's grammar -------------------------------------------------------------------------

MAX_TIERS = 20
MAX_BENEFITS = 20
MAX_TIER_MULTIPLIER = 100


def _multiplier_check(multiplier: Decimal) -> Decimal:
    if not 1 <= multiplier <= MAX_TIER_MULTIPLIER:
        raise Invalid(f"At least 1 and at most {MAX_TIER_MULTIPLIER}.")
    return multiplier


def _tier_whole(tier: dict[str, Any]) -> dict[str, Any]:
    if tier["retain_points"] > tier["entry_points"]:
        raise Invalid({"retain_points": ["At most entry_points."]})
    tier.setdefault("multiplier", Decimal(1))
    return tier


def _tiers_check(tiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Codes and entry points are checked across the ladder, which is ranked by entry points."""
    if not tiers:
        return tiers
    codes = [tier["code"] for tier in tiers]
    if len(set(codes)) != len(codes):
        raise Invalid("Each tier's code must be unique.")
    entries = [tier["entry_points"] for tier in tiers]
    if len(set(entries)) != len(entries):
        raise Invalid("Each tier's entry_points must differ: they rank the ladder.")
    if min(entries) != 0:
        raise Invalid("The lowest tier's entry_points must be 0: every customer has a tier.")
    return sorted(tiers, key=lambda tier: tier["entry_points"])


def _kinds_check(kinds: list[str]) -> list[str]:
    if len(set(kinds)) != len(kinds):
        raise Invalid("Each kind once.")
    return kinds


TIER = Object(
    {
        "code": Text(max_length=30, checks=[pattern(r"^[a-z0-9_-]+$", "Lowercase letters, digits, _ and - only.")]),
        "name": visible_text(max_length=100),
        "entry_points": Integer(min_value=0, max_value=MAX_BIGINT),
        "retain_points": Integer(min_value=0, max_value=MAX_BIGINT),
        "multiplier": rule_decimal(required=False),
        "benefits": ListOf(visible_text(max_length=200), max_length=MAX_BENEFITS, default=list),
    },
    each={"multiplier": _multiplier_check},
    whole=_tier_whole,
)
LADDER = Object(
    {
        "tiers": ObjectList(TIER, max_length=MAX_TIERS),
        "window_days": Integer(min_value=1, max_value=3660, default=DEFAULT_WINDOW_DAYS),
        "qualifying_kinds": ListOf(
            Choice(QUALIFIABLE_KINDS),
            default=list(DEFAULT_QUALIFYING_KINDS),
            max_length=len(QUALIFIABLE_KINDS),
        ),
    },
    each={"tiers": _tiers_check, "qualifying_kinds": _kinds_check},
    nul_refused=True,
)


def ladder_validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The whole ladder as staff set it (it replaces the one there was; no tiers: no ladder), its
    tiers ranked by entry points, or ``TierLadderInvalid`` naming what is wrong."""
    try:
        return LADDER.validate(definition)
    except Invalid as error:
        raise TierLadderInvalid(fields=plain_errors(error.detail)) from None

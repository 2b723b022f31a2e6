"""The program at work: earning rules written by staff (each change a new version), and the awards
an event earns through them, each its own ledger row naming the rule and version that made it.

What an event earns is the engine's (``rewards.program.engine``: the rules that apply, rate and
fixed awards, multipliers, caps); this module reads the active rules, holds the transaction and
posts the awards, with the tier award the customer's tier adds. A rule's grammar is
``rewards.program.validate``; its versions, ``rewards.program.versions``. Purchases and feedback
are events like orders and activities.
"""

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from rewards.errors import ActivityConflict, RuleChanged, RuleNotFound
from rewards.json_rows import json_rows_loader, json_rows_sql
from rewards.models import ERASED, Activity, Challenge, EventType, RewardKind, Rule, RuleStatus, RuleTrigger
from rewards.program.engine import (
    Award,
    ProgramEvent,
    awards_take,
    breakdown,
    counted_caps,
    segment_codes_named,
)
from rewards.program.language import TRIGGERS, decimal_text
from rewards.program.validate import rule_validated
from rewards.program.versions import first_version, next_version, rule_definition
from rewards.segments.membership import segments_of
from rewards.selectors import Balance, account_balance
from rewards.services import challenges, tiers
from rewards.services.ledger import Posting, kind_pending_days, points_credit, points_entry_check
from rewards.shapes import balance_fields, iso
from rewards.tiers import Ladder, TierDef, tier_award_points


@transaction.atomic
def rule_create(*, definition: Mapping[str, Any], by: str) -> Rule:
    """A new rule, version 1, from a definition the rules' grammar accepts (else a 400 naming
    what is wrong)."""
    return first_version(rule_validated(dict(definition)), by=by, now=timezone.now())


@transaction.atomic
def rule_edit(*, rule_id: int, changes: Mapping[str, Any], by: str, from_version: int | None = None) -> Rule:
    """Apply ``changes`` (any of a definition's keys) to the rule as it is now, under its row
    lock, so two racing edits both count. The whole result is validated; a change makes a new
    version, and an edit that changes nothing makes none. With ``from_version``, the edit is
    refused unless the rule is still at that version (an editor's read, changed and sent
    back, never undoes an edit made meanwhile)."""
    rule = Rule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise RuleNotFound()
    if from_version is not None and from_version != rule.version:
        raise RuleChanged(fields={"version": [f"The rule is at version {rule.version}, not {from_version}."]})
    validated = rule_validated({**rule_definition(rule), **changes})
    return next_version(rule, validated, by=by, now=timezone.now())


def rule_archive(*, rule_id: int, by: str) -> Rule:
    """Archive: the rule awards nothing more; its awards and versions stay."""
    return rule_edit(rule_id=rule_id, changes={"status": RuleStatus.ARCHIVED}, by=by)


# The trigger's active rules as one JSON value: with the ladder and the active challenges, what
# an event reads of the program (``PROGRAM_JSON``).
RULES_JSON = json_rows_sql("program_rules_active(%s)")
rules_loaded = json_rows_loader(Rule)


def rules_active(trigger: str) -> list[Rule]:
    """The trigger's active rules, in the order they run: one read per event, through the
    database function ``program_rules_active`` (its plan made once per connection). Read by
    hand: on the write path, the ORM's query compilation and row conversion would cost several
    times the read."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {RULES_JSON}", [trigger])
        return rules_loaded(cursor.fetchone()[0])


@dataclass(frozen=True)
class EventProgram:
    """What an event reads of the program before it posts: its trigger's active rules, the tier
    ladder (None: none is set) and its trigger's active challenges."""

    rules: list[Rule]
    ladder: Ladder | None
    challenges: list[Challenge]


# The three reads of ``event_program`` as the columns of one SELECT, the trigger their two
# parameters: a write that must run first (an order's counter) reads them in its own statement.
PROGRAM_JSON = f"{RULES_JSON}, {tiers.LADDER_JSON}, {challenges.CHALLENGES_JSON}"


def event_program_of(rules: Any, ladder: Any, active_challenges: Any) -> EventProgram:
    """The program from the three columns ``PROGRAM_JSON`` read."""
    return EventProgram(
        rules=rules_loaded(rules),
        ladder=tiers.ladder_of(ladder),
        challenges=challenges.challenges_loaded(active_challenges),
    )


def event_program(trigger: str) -> EventProgram:
    """The trigger's rules, the ladder and the trigger's challenges, in one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {PROGRAM_JSON}", [trigger, trigger])
        return event_program_of(*cursor.fetchone())


# ---- awards -----------------------------------------------------------------------------------


def _needs_transaction(rules: Sequence[Rule], ladder: Ladder | None) -> bool:
    """Several rows, a cap count or a tier's locks and counts must commit together, and a
    segment's membership is judged in the transaction that credits; one plain credit is its own
    statement (and inside the caller's transaction, no savepoint is needed)."""
    if connection.in_atomic_block:
        return False
    return (
        ladder is not None
        or len(rules) > 1
        or any(counted_caps(rule) for rule in rules)
        or bool(segment_codes_named(rules))
    )


def _with_segments(event: ProgramEvent, rules: Sequence[Rule], *, now: datetime) -> ProgramEvent:
    """The event with the customer's segments among those the rules name (none named: no read,
    so an event whose rules name no segment costs nothing more)."""
    codes = segment_codes_named(rules)
    if not codes:
        return event
    return replace(event, segments=segments_of(user_id=event.user_id, codes=codes, now=now))


@dataclass(frozen=True)
class TierAward:
    """What the customer's tier multiplier added to a qualifying event."""

    tier: TierDef
    points: int

    def fields(self) -> dict[str, Any]:
        return {
            "rule_id": None,
            "rule_name": f"{self.tier.name} tier",
            "version": None,
            "tier": self.tier.code,
            "points": self.points,
        }


@dataclass(frozen=True)
class Earned:
    """An event's awards and the ledger rows they wrote (none for an activity nothing rewarded),
    the tier award's row last."""

    awards: list[Award]
    postings: list[Posting]
    tier_award: TierAward | None = None
    # The balance after what the event wrote past its awards (a challenge it completed), if any.
    after: Balance | None = None

    @property
    def balance(self) -> Balance:
        """The customer's balance once everything the event wrote is in: what its answer shows."""
        return self.after or self.postings[-1].balance

    @property
    def points_awarded(self) -> int:
        return sum(award.points for award in self.awards) + (self.tier_award.points if self.tier_award else 0)

    def breakdown(self) -> list[dict[str, Any]]:
        return breakdown(self.awards) + ([self.tier_award.fields()] if self.tier_award else [])

    def answer_fields(self) -> dict[str, Any]:
        return {"points_awarded": self.points_awarded, "breakdown": self.breakdown()}


def _award_rows(awards: Sequence[Award], *, record_zero: bool) -> list[Award | None]:
    """The awards that get a ledger row: those of at least one point; with ``record_zero``,
    an event nothing rewarded still gets one zero-point row (``None``: no rule applied)."""
    written: list[Award | None] = [award for award in awards if award.points > 0]
    if not written and record_zero:
        written = [awards[0]] if awards else [None]
    return written


def _awards_checked(
    context: tiers.TierContext | None, event: ProgramEvent, awards: Sequence[Award], *, kind: str
) -> TierAward | None:
    """What the awards add up to at the customer's tier: the tier award (if the event qualifies)
    or None. An award or a tier award past the per-entry limit refuses the event, named on its
    trigger's field, a real event and its simulation alike."""
    field = TRIGGERS[event.trigger].entry_field
    for award in awards:
        points_entry_check(award.points, field=field)
    points = sum(award.points for award in awards)
    tier_award = _tier_award(context, points=points) if _qualifies(context, kind=kind, points=points) else None
    if tier_award is not None:
        points_entry_check(tier_award.points, field=field)
    return tier_award


def event_earn(
    event: ProgramEvent,
    *,
    kind: str,
    description: str,
    app: Model | None,
    record_zero: bool,
    credited_at: datetime | None = None,
    event_extra: Callable[[int], Mapping[str, Any]] | None = None,
    program: EventProgram | None = None,
) -> Earned:
    """What an event earns, posted: the awards of the active rules of its trigger, together.

    A ledger row and lot per award of at least one point, of ``kind``, naming its rule and
    version, with the rule's own pending and validity days where it sets them. With
    ``record_zero``, an event nothing rewarded still writes one zero-point row, so every order,
    purchase and feedback is on the ledger. The first row writes its kind's event
    (``order.recorded`` for an order), the others ``points.earned``; each names its rule and
    carries ``event_extra(points_awarded)``. An award past the per-entry limit refuses the
    event (on its trigger's ``entry_field``) before anything is written. ``program``: what the
    event reads of the program (``event_program``) when the caller has read it already (an order
    with its counter; a referral runs the referral rules once per side).
    """
    program = event_program(event.trigger) if program is None else program
    rules, ladder = program.rules, program.ladder
    with transaction.atomic() if _needs_transaction(rules, ladder) else nullcontext():
        now = timezone.now()
        context = tiers.context_lock(ladder, event.user_id, now=now) if ladder else None
        if context is not None:
            event = replace(event, tier=context.tier.code)
        event = _with_segments(event, rules, now=now)
        awards = awards_take(event, rules)
        tier_award = _awards_checked(context, event, awards, kind=kind)
        points = sum(award.points for award in awards)
        qualifies = _qualifies(context, kind=kind, points=points)
        extra = dict(event_extra(points + (tier_award.points if tier_award else 0))) if event_extra else {}
        postings = []
        for index, award in enumerate(_award_rows(awards, record_zero=record_zero)):
            rule = award.rule if award else None
            if rule is not None:
                extra["rule"] = {"id": rule.pk, "name": rule.name, "version": rule.version}
            postings.append(
                points_credit(
                    user_id=event.user_id,
                    points=award.points if award else 0,
                    kind=kind,
                    description=description,
                    app=app,
                    credited_at=credited_at,
                    event_extra=extra or None,
                    rule=rule,
                    pending_days=rule.pending_days if rule else None,
                    validity_days=rule.validity_days if rule else None,
                    event_type=EventType.POINTS_EARNED if index else None,
                )
            )
        if qualifies:
            if tier_award is not None:
                extra.pop("rule", None)
                first_rule = next(award.rule for award in awards if award.points > 0)
                postings.append(
                    _tier_award_post(
                        tier_award,
                        user_id=event.user_id,
                        description=description,
                        app=app,
                        credited_at=credited_at,
                        # The award waits as the event's first award does.
                        pending_days=kind_pending_days(kind)
                        if first_rule.pending_days is None
                        else first_rule.pending_days,
                        extra=extra,
                    )
                )
            tiers.credit_qualify(
                context,
                user_id=event.user_id,
                occurred_at=event.occurred_at,
                credits=[
                    (posting.reward.id, _credited(posting)) for posting in postings if posting.reward.kind == kind
                ],
                now=now,
                app=app,
            )
    return Earned(awards=awards, postings=postings, tier_award=tier_award)


def _qualifies(context: tiers.TierContext | None, *, kind: str, points: int) -> bool:
    """An event whose credits count toward the tiers: a ladder is set, its kind qualifies, and
    it earned something."""
    return context is not None and context.ladder.qualifies(kind) and points > 0


def _tier_award(context: tiers.TierContext, *, points: int) -> TierAward | None:
    """What the customer's tier multiplier adds to a qualifying event that earned ``points``, at
    the tier they have before it (none under one point)."""
    award = tier_award_points(points, context.tier.multiplier)
    return TierAward(tier=context.tier, points=award) if award > 0 else None


def _credited(posting: Posting) -> int:
    return posting.reward.points_earned + posting.reward.pending_change


def _tier_award_post(
    award: TierAward,
    *,
    user_id: int,
    description: str,
    app: Model | None,
    credited_at: datetime | None,
    pending_days: int,
    extra: dict[str, Any],
) -> Posting:
    """The tier award's own row and lot (kind ``tier``, its event ``points.earned``)."""
    return points_credit(
        user_id=user_id,
        points=award.points,
        kind=RewardKind.TIER,
        description=f"{award.tier.name} tier x{decimal_text(award.tier.multiplier)}: {description}",
        app=app,
        credited_at=credited_at,
        event_extra={
            **extra,
            "tier": {
                "code": award.tier.code,
                "name": award.tier.name,
                "multiplier": decimal_text(award.tier.multiplier),
            },
        },
        pending_days=pending_days,
        event_type=EventType.POINTS_EARNED,
    )


class _Simulated(Exception):
    def __init__(self, awards: list[Award]) -> None:
        self.awards = awards


def event_simulate(event: ProgramEvent) -> Earned:
    """What ``event`` would earn now, caps and the customer's tier included, writing nothing:
    the awards are taken exactly as a real event takes them, then rolled back, and refused as
    the event would be (an award past the per-entry limit). (The kind of an event's credits is
    its trigger's name.)"""
    program = event_program(event.trigger)
    rules, ladder = program.rules, program.ladder
    context = tiers.context_read(ladder, event.user_id, now=timezone.now()) if ladder else None
    if context is not None:
        event = replace(event, tier=context.tier.code)
    event = _with_segments(event, rules, now=timezone.now())
    try:
        with transaction.atomic():
            raise _Simulated(awards_take(event, rules))
    except _Simulated as simulated:
        tier_award = _awards_checked(context, event, simulated.awards, kind=event.trigger)
        return Earned(awards=simulated.awards, postings=[], tier_award=tier_award)


# ---- the events of rewards-api ----------------------------------------------------------------


def purchase_event(*, user_id: int, amount: Decimal) -> ProgramEvent:
    return ProgramEvent(trigger=RuleTrigger.PURCHASE, user_id=user_id, occurred_at=timezone.now(), money=amount)


def feedback_event(*, user_id: int) -> ProgramEvent:
    return ProgramEvent(trigger=RuleTrigger.FEEDBACK, user_id=user_id, occurred_at=timezone.now())


def activity_event(
    *, user_id: int, name: str, occurred_at: datetime | None, properties: Mapping[str, Any]
) -> ProgramEvent:
    return ProgramEvent(
        trigger=RuleTrigger.ACTIVITY,
        user_id=user_id,
        occurred_at=occurred_at or timezone.now(),
        activity_name=name,
        properties=properties,
    )


def purchase_record(*, user_id: int, amount: Decimal, description: str, app: Model | None) -> Earned:
    event = purchase_event(user_id=user_id, amount=amount)
    program = event_program(event.trigger)
    counted = program.challenges
    # The challenges it moves commit with its points (no transaction needed without them).
    with transaction.atomic() if counted else nullcontext():
        earned = event_earn(
            event, kind=RewardKind.PURCHASE, description=description, app=app, record_zero=True, program=program
        )
        if counted:
            first = earned.postings[0]
            completed = challenges.event_count(
                event,
                source=challenges.Source("purchase", first.reward.id),
                stands_at=first.available_at,
                app=app,
                challenges=counted,
            )
            earned = replace(earned, after=completed.balance)
    return earned


def feedback_submit(*, user_id: int, description: str, app: Model | None) -> Earned:
    return event_earn(
        feedback_event(user_id=user_id),
        kind=RewardKind.FEEDBACK,
        description=description,
        app=app,
        record_zero=True,
    )


@dataclass(frozen=True)
class ActivityOutcome:
    activity: Activity
    created: bool


def _activity_fingerprint(**body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def activity_record(
    *,
    app: Model,
    user_id: int,
    name: str,
    activity_id: str,
    properties: Mapping[str, Any],
    occurred_at: datetime | None = None,
) -> ActivityOutcome:
    """Record a custom event (a photo review, a survey) once per ``activity_id`` of the
    application, and award what the activity rules give for it (nothing is fine: it is still
    recorded). The same activity again answers as it was first answered; another body under the
    same activity_id is refused. Racing duplicates meet the unique key: one wins whole."""
    fingerprint = _activity_fingerprint(user_id=user_id, name=name, occurred_at=occurred_at, properties=properties)
    try:
        with transaction.atomic():
            event = activity_event(user_id=user_id, name=name, occurred_at=occurred_at, properties=properties)
            program = event_program(event.trigger)
            earned = event_earn(
                event,
                kind=RewardKind.ACTIVITY,
                description=f"Activity: {name}",
                app=app,
                record_zero=False,
                program=program,
            )
            balance = earned.postings[-1].balance if earned.postings else account_balance(user_id=user_id)
            answer = {
                "activity": {
                    "activity_id": activity_id,
                    "name": name,
                    "user_id": user_id,
                    "occurred_at": iso(event.occurred_at),
                    "properties": dict(properties),
                },
                **earned.answer_fields(),
                **balance_fields(balance),
            }
            activity = Activity.objects.create(
                application=app,
                activity_id=activity_id,
                user_id=user_id,
                name=name,
                occurred_at=event.occurred_at,
                properties=dict(properties),
                fingerprint=fingerprint,
                points_awarded=earned.points_awarded,
                answer=answer,
                created_at=timezone.now(),
            )
            completed = challenges.event_count(
                event,
                source=challenges.Source("activity", activity.pk),
                stands_at=earned.postings[0].available_at if earned.postings else timezone.now(),
                app=app,
                challenges=program.challenges,
            )
            if completed.balance is not None:
                # The answer (kept for replays) shows the balance after the completion's points.
                activity.answer = {**answer, **balance_fields(completed.balance)}
                Activity.objects.filter(pk=activity.pk).update(answer=activity.answer)
        return ActivityOutcome(activity=activity, created=True)
    except IntegrityError:
        existing = Activity.objects.filter(application=app, activity_id=activity_id).first()
        if existing is None:
            raise
        if existing.fingerprint == ERASED:
            # Its properties were erased with the customer's personal data: a replay is compared
            # on what the erasure kept, so it cannot tell a right guess at them from a wrong one.
            same = (existing.user_id, existing.name) == (user_id, name) and occurred_at in (None, existing.occurred_at)
        else:
            same = existing.fingerprint == fingerprint
        if not same:
            raise ActivityConflict() from None
        return ActivityOutcome(activity=existing, created=False)

"""Birthdays: customers (or the shop for them) set one, and a daily job gives the active
``birthday`` earning rules once a year, on the day, in the program's time zone.

- 29 February counts as 28 February in other years.
- A birthday set or changed less than ``BIRTHDAY_WAIT_DAYS`` before it earns nothing that year:
  no one gets a bonus by moving their birthday to next week.
- The job reads only today's birthdays (an index on month and day), in batches locked with
  ``SKIP LOCKED``, and marks each customer's year as it awards it, in the same transaction:
  it is idempotent, safe to run beside itself, and runs hourly so a missed run costs nothing.
"""

import calendar
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import DomainError
from rewards.errors import InvalidBirthday
from rewards.models import Birthday, RewardKind, RuleTrigger
from rewards.program.engine import ProgramEvent, program_time
from rewards.services.program import event_earn, rules_active

logger = logging.getLogger(__name__)

BIRTHDAY_WAIT_DAYS = 30
BATCH_SIZE = 500
_LEAP_YEAR = 2000  # any leap year: 29 February is a birthday


def birthday_in(year: int, *, month: int, day: int) -> date:
    """The birthday's date in ``year``: 29 February is 28 February in other years."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def birthday_next(*, month: int, day: int, today: date) -> date:
    """The birthday's next date, today included."""
    this_year = birthday_in(today.year, month=month, day=day)
    return this_year if this_year >= today else birthday_in(today.year + 1, month=month, day=day)


def birthday_first_rewarded(birthday: Birthday) -> date:
    """The first birthday that can earn: at least BIRTHDAY_WAIT_DAYS after it was set or changed."""
    return birthday_next(
        month=birthday.month, day=birthday.day, today=birthday.changed_on + timedelta(days=BIRTHDAY_WAIT_DAYS)
    )


def birthday_set(*, user_id: int, month: int, day: int, now: datetime | None = None) -> Birthday:
    """Store a customer's birthday. Setting the same date again changes nothing (its wait does not
    start over); a new date starts the wait."""
    try:
        date(_LEAP_YEAR, month, day)
    except ValueError:
        raise InvalidBirthday(
            f"{month}/{day} is not a date.", fields={"day": [f"Month {month} has no day {day}."]}
        ) from None
    now = now or timezone.now()
    today = program_time(now).date()
    fresh = {"month": month, "day": day, "changed_on": today, "created_at": now, "updated_at": now}
    try:
        with transaction.atomic():
            birthday, created = Birthday.objects.get_or_create(user_id=user_id, defaults=fresh)
    except IntegrityError:  # a racing first set: the other one created it
        birthday, created = Birthday.objects.get(user_id=user_id), False
    if created:
        return birthday
    with transaction.atomic():
        birthday = Birthday.objects.select_for_update().get(user_id=user_id)
        if (birthday.month, birthday.day) != (month, day):
            birthday.month, birthday.day, birthday.changed_on, birthday.updated_at = month, day, today, now
            birthday.save(update_fields=["month", "day", "changed_on", "updated_at"])
    return birthday


@dataclass
class BirthdaysReport:
    day: date
    awarded: int = 0  # customers whose birthday this year is done (a capped rule may have given 0)
    points: int = 0
    failed: set[int] = field(default_factory=set)


def _due_today(today: date):
    """Birthdays on ``today`` (29 February on a 28 February of a common year) not yet rewarded
    this year, and set or changed long enough before."""
    dates = Q(month=today.month, day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        dates |= Q(month=2, day=29)
    return (
        Birthday.objects.filter(dates, changed_on__lte=today - timedelta(days=BIRTHDAY_WAIT_DAYS))
        .filter(Q(awarded_year__isnull=True) | Q(awarded_year__lt=today.year))
        .order_by("user_id")
    )


def birthdays_award(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> BirthdaysReport:
    """Give today's birthdays their rules' awards. With no active birthday rule, nothing is
    marked: a rule switched on later that day still reaches them."""
    now = now or timezone.now()
    today = program_time(now).date()
    report = BirthdaysReport(day=today)
    if not rules_active(RuleTrigger.BIRTHDAY):
        return report
    while True:
        with transaction.atomic():
            batch = list(
                _due_today(today).exclude(user_id__in=report.failed).select_for_update(skip_locked=True)[:batch_size]
            )
            for birthday in batch:
                _award(birthday, now=now, report=report)
        if len(batch) < batch_size:
            break
    return report


def _award(birthday: Birthday, *, now: datetime, report: BirthdaysReport) -> None:
    """One customer's birthday, in a savepoint: a customer whose award fails (a balance at its
    limit) is reported and left, and the batch goes on."""
    try:
        with transaction.atomic():
            event = ProgramEvent(trigger=RuleTrigger.BIRTHDAY, user_id=birthday.user_id, occurred_at=now)
            earned = event_earn(
                event,
                kind=RewardKind.BIRTHDAY,
                description="Happy birthday!",
                app=None,
                record_zero=False,
            )
            Birthday.objects.filter(user_id=birthday.user_id).update(awarded_year=report.day.year, updated_at=now)
    except (DomainError, IntegrityError):
        logger.exception("Birthday of customer %s not rewarded", birthday.user_id)
        report.failed.add(birthday.user_id)
        return
    report.awarded += 1
    report.points += earned.points_awarded

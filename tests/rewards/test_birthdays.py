"""Birthdays: set through the API, rewarded by the daily job once a year, on the day, in the
program's time zone; 29 February on 28 February in common years; a 30-day wait after a change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from rewards import services
from rewards.models import Birthday, Event, Reward
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

USER = 4401
BIRTHDAY_RULE = {
    "name": "Birthday gift",
    "trigger": "birthday",
    "status": "active",
    "effect": {"type": "fixed", "points": 100},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def gift(db):
    return services.rule_create(definition=BIRTHDAY_RULE, by="test")


def put(client, **body):
    return client.put("/rewards-api/birthday/", {"user_id": USER, **body}, format="json")


def test_a_birthday_is_set_and_answers_when_it_first_earns(shop):
    response = put(shop, month=12, day=25)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["month"], body["day"]) == (12, 25)
    stored = Birthday.objects.get(user_id=USER)
    assert body["first_rewarded"] >= (stored.changed_on + timedelta(days=30)).isoformat()


@pytest.mark.parametrize(("month", "day"), [(2, 30), (4, 31), (13, 1), (0, 5), (6, 0), (2, "29")])
def test_a_date_that_does_not_exist_is_400_and_writes_nothing(shop, month, day):
    response = put(shop, month=month, day=day)

    assert response.status_code == 400
    assert not Birthday.objects.exists()


def test_29_february_is_a_birthday(shop):
    assert put(shop, month=2, day=29).status_code == 200


def test_the_job_rewards_a_birthday_once_on_the_day(gift):
    services.birthday_set(user_id=USER, month=6, day=15, now=at("2027-01-10T12:00:00"))

    before = services.birthdays_award(now=at("2027-06-14T23:59:59"))
    on_the_day = services.birthdays_award(now=at("2027-06-15T08:00:00"))
    again = services.birthdays_award(now=at("2027-06-15T20:00:00"))

    assert (before.awarded, on_the_day.awarded, again.awarded) == (0, 1, 0)
    [row] = Reward.objects.filter(user_id=USER)
    assert (row.kind, row.points_earned, row.rule_id) == ("birthday", 100, gift.pk)
    assert account_balance(user_id=USER).total_points == 100
    assert Event.objects.get(reward=row).data["rule"]["name"] == "Birthday gift"
    next_year = services.birthdays_award(now=at("2028-06-15T08:00:00"))
    assert next_year.awarded == 1 and account_balance(user_id=USER).total_points == 200
    assert ledger_drift() == []


def test_a_birthday_set_or_changed_less_than_30_days_before_earns_nothing_that_year(gift):
    services.birthday_set(user_id=USER, month=6, day=15, now=at("2027-05-20T12:00:00"))  # 26 days before
    services.birthday_set(user_id=USER + 1, month=6, day=15, now=at("2027-05-16T12:00:00"))  # 30 days before
    services.birthday_set(user_id=USER + 2, month=6, day=15, now=at("2027-01-01T12:00:00"))
    services.birthday_set(user_id=USER + 2, month=6, day=15, now=at("2027-06-01T12:00:00"))  # the same date again

    report = services.birthdays_award(now=at("2027-06-15T08:00:00"))

    assert report.awarded == 2
    assert [account_balance(user_id=u).total_points for u in (USER, USER + 1, USER + 2)] == [0, 100, 100]
    assert services.birthdays_award(now=at("2028-06-15T08:00:00")).awarded == 3


def test_moving_a_birthday_starts_the_wait_again(gift):
    services.birthday_set(user_id=USER, month=1, day=1, now=at("2027-01-10T12:00:00"))
    services.birthday_set(user_id=USER, month=7, day=1, now=at("2027-06-20T12:00:00"))

    assert services.birthdays_award(now=at("2027-07-01T08:00:00")).awarded == 0
    assert services.birthdays_award(now=at("2028-07-01T08:00:00")).awarded == 1


def test_29_february_counts_as_28_february_in_common_years(gift):
    services.birthday_set(user_id=USER, month=2, day=29, now=at("2026-01-01T12:00:00"))

    common_year = [services.birthdays_award(now=at(f"2027-02-{d}T08:00:00")).awarded for d in (27, 28)]
    leap_year = [services.birthdays_award(now=at(f"2028-02-{d}T08:00:00")).awarded for d in (28, 29)]

    assert common_year == [0, 1]
    assert leap_year == [0, 1]


def test_the_day_is_the_programs_day(gift, settings):
    settings.PROGRAM_TIME_ZONE = "Pacific/Auckland"  # UTC+13 in December
    services.birthday_set(user_id=USER, month=12, day=2, now=at("2027-01-01T12:00:00"))

    still_the_first_in_auckland = services.birthdays_award(now=at("2027-12-01T10:59:00"))
    the_second_in_auckland = services.birthdays_award(now=at("2027-12-01T11:00:00"))

    assert (still_the_first_in_auckland.awarded, the_second_in_auckland.awarded) == (0, 1)


def test_with_no_birthday_rule_nothing_is_marked_and_a_rule_switched_on_later_that_day_still_gives(db):
    services.birthday_set(user_id=USER, month=6, day=15, now=at("2027-01-10T12:00:00"))

    assert services.birthdays_award(now=at("2027-06-15T08:00:00")).awarded == 0
    services.rule_create(definition=BIRTHDAY_RULE, by="test")

    assert services.birthdays_award(now=at("2027-06-15T09:00:00")).awarded == 1
    assert Birthday.objects.get(user_id=USER).awarded_year == 2027


def test_a_customer_session_sets_its_own_birthday_only(shop_app):
    from loyalty.customers import customer_session_issue

    session = customer_session_issue(user_id=USER, app=shop_app)
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {session.token}")

    assert put(client, month=3, day=4).status_code == 200
    other = client.put("/rewards-api/birthday/", {"user_id": USER + 1, "month": 3, "day": 4}, format="json")
    assert other.status_code == 403 and not Birthday.objects.filter(user_id=USER + 1).exists()


def test_the_command_runs_the_job(gift, capsys):
    call_command("birthdays")
    assert "birthday(s) rewarded" in capsys.readouterr().out

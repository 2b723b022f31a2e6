"""A customer's points at any moment: loyalty-api/customers/<user_id>/balance?as_of= and
rewards-api/get-points with as_of answer the available, pending and owed points then, from the
one computation the liability report uses; at random moments they tie to it exactly."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.models import AccessLevel
from loyalty.services import order_record, order_return
from rewards import reports, services
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 8900


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def reader(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_READ, name="reader"))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def balance(program, user_id: int, as_of: str | None = None) -> dict:
    response = program.get(f"/loyalty-api/customers/{user_id}/balance", {} if as_of is None else {"as_of": as_of})
    assert response.status_code == 200, response.json()
    return response.json()


def figures(answer: dict) -> tuple[int, int, int]:
    return answer["available_points"], answer["pending_points"], answer["owed_points"]


def test_a_known_history_at_moments_between_its_rows(program, reader, settings, clock):
    """100 earned; an order's 60 pending for 5 days, then released; a 100 redemption; the
    order returned after it, its 60 taken back."""
    settings.ORDER_POINTS_PENDING_DAYS = 5
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=20)
    clock.now = t0
    services.points_earn(user_id=USER, points=100, description="Welcome", app=None)
    clock.now = t0 + timedelta(days=1)
    order_record(order_id=1, user_id=USER, total_cost=1200, completed_at=int(clock.now.timestamp()), app=None)
    clock.now = t0 + timedelta(days=7)
    services.points_lifecycle_run()
    clock.now = t0 + timedelta(days=8)
    services.coupon_redeem(user_id=USER, points=100, amount=Decimal("10"), description="c", app=None)
    clock.now = t0 + timedelta(days=9)
    order_return(order_id=1, app=None)
    clock.now = None

    moments = {
        t0 - timedelta(seconds=1): (0, 0, 0),
        t0 + timedelta(hours=1): (100, 0, 0),
        t0 + timedelta(days=3): (100, 60, 0),  # the order's points on their way
        t0 + timedelta(days=7, hours=1): (160, 0, 0),  # released
        t0 + timedelta(days=8, hours=1): (60, 0, 0),
        t0 + timedelta(days=9, hours=1): (0, 0, 0),  # 60 taken back from 60
    }
    for moment, expected in moments.items():
        answer = balance(program, USER, stamp(moment))
        assert (answer["user_id"], answer["as_of"]) == (USER, stamp(moment))
        assert figures(answer) == expected, moment
        same = reader.get("/rewards-api/get-points/", {"user_id": USER, "as_of": stamp(moment)}).json()
        assert same == {"success": True, **answer}
    # An offset names the same moment as its UTC time.
    local = (t0 + timedelta(days=3)).astimezone(timezone.get_fixed_timezone(-300)).isoformat()
    assert figures(balance(program, USER, local)) == (100, 60, 0)
    # A day is its end (UTC), as the liability's as_of.
    day = (t0 + timedelta(days=3)).date()
    assert balance(program, USER, day.isoformat())["as_of"] == stamp(reports.end_of_day(day))
    assert figures(balance(program, USER, "0001-01-01")) == figures(balance(program, USER, "0001-01-01T00:00:00Z"))


def test_owed_points_then_and_the_balance_now(program, reader):
    services.points_earn(user_id=USER, points=30, description="seed", app=None)
    services.points_adjust(user_id=USER, points=-50, reason="duplicate", staff="ops")
    now = account_balance(user_id=USER)

    answer = balance(program, USER)  # no as_of: now
    assert figures(answer) == (0, 0, 20) and now.total_points == -20
    today = timezone.now().date().isoformat()
    posted = reader.post("/rewards-api/get-points/", {"user_id": USER, "as_of": today}, format="json")
    assert figures(posted.json()) == (0, 0, 20)
    # Without as_of, get-points answers as it always has.
    assert reader.get("/rewards-api/get-points/", {"user_id": USER}).json()["total_points"] == -20


@pytest.mark.parametrize("seed", [7, 8])
def test_at_random_moments_each_customers_points_are_the_liabilitys_figures(program, settings, clock, seed):
    """Earnings, orders (pending, released, returned), redemptions and adjustments both ways,
    over 40 days; then at random moments and days, each customer's as_of points equal the
    liability's per-customer figures, and at the end of a day they add up to its report."""
    rng = random.Random(seed)
    users = [USER + i for i in range(5)]
    settings.ORDER_POINTS_PENDING_DAYS = 4
    settings.POINTS_VALIDITY_DAYS = 15
    start = timezone.now().replace(microsecond=0) - timedelta(days=45)
    orders: list[int] = []
    clock.now = start
    for user in users:
        services.points_earn(user_id=user, points=100, description="Welcome", app=None)
    for step in range(80):
        clock.now = start + timedelta(hours=12 * step + rng.randrange(12))
        user, action = rng.choice(users), rng.randrange(6)
        if action == 0:
            services.points_earn(user_id=user, points=rng.randrange(1, 200), description="Bonus", app=None)
        elif action == 1:
            orders.append(order_id := 5000 + step)
            completed_at = int(clock.now.timestamp())
            cost = rng.randrange(100, 4000)
            order_record(order_id=order_id, user_id=user, total_cost=cost, completed_at=completed_at, app=None)
        elif action == 2 and orders:
            order_return(order_id=orders.pop(rng.randrange(len(orders))), app=None)
        elif action == 3 and account_balance(user_id=user).total_points >= 50:
            services.coupon_redeem(user_id=user, points=50, amount=Decimal("5"), description="c", app=None)
        elif action == 4:
            services.points_adjust(user_id=user, points=rng.choice([-60, 35]), reason="mix", staff="ops")
        else:
            services.points_lifecycle_run()
    clock.now = None
    assert ledger_drift() == []

    now = timezone.now()
    moments = [start + (now - start) * rng.random() for _ in range(12)] + [start - timedelta(hours=1), now]
    for moment in moments:
        everyone = reports.customers_as_of(at=moment)
        for user in users:
            expected = figures(everyone[user].fields()) if user in everyone else (0, 0, 0)
            assert figures(balance(program, user, stamp(moment))) == expected, (moment, user)

    days = sorted({(start + timedelta(days=rng.randrange(46))).date() for _ in range(6)} | {now.date()})
    for day in days:
        report = program.get("/loyalty-api/reports/liability", {"as_of": day.isoformat()}).json()
        points = [figures(balance(program, user, day.isoformat())) for user in users]
        everyone = reports.customers_as_of(at=reports.end_of_day(day))
        assert points == [figures(everyone[user].fields()) if user in everyone else (0, 0, 0) for user in users], day
        assert tuple(map(sum, zip(*points, strict=True))) == figures(report), day
    # Today's figures are the balances themselves.
    for user in users:
        now_balance = account_balance(user_id=user)
        available, pending, owed = figures(balance(program, user))
        assert (available - owed, pending) == (now_balance.total_points, now_balance.pending_points)


@pytest.mark.parametrize(
    "as_of",
    [
        "",
        "2026-12-07T10:00:00",  # no offset: no moment
        "2026-12-07 10:00:00Z",
        "2026-12-07T10:00Z",
        "2026-02-30",
        "2026-12-07T25:00:00Z",
        "20261207",
        "yesterday",
        "9999-12-31",
        "2999-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
        "\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0667",
    ],
)
def test_a_bad_as_of_is_a_json_400(program, reader, as_of):
    services.points_earn(user_id=USER, points=5, description="seed", app=None)
    for response in (
        program.get(f"/loyalty-api/customers/{USER}/balance", {"as_of": as_of}),
        reader.get("/rewards-api/get-points/", {"user_id": USER, "as_of": as_of}),
    ):
        assert response.status_code == 400, (as_of, response.content)
        error = response.json()["error"]
        assert (error["code"], list(error["fields"])) == ("validation_error", ["as_of"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # Real moments, written right, that fall outside the calendar once in UTC.
        (
            "as_of=0001-01-01T00:00:00%2B05:00",
            "This moment is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC.",
        ),
        (
            "as_of=9999-12-31T23:59:59-05:00",
            "This moment is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC.",
        ),
        # A + left as is in a query string is a space when read.
        (
            "as_of=2026-12-07T10:00:00+05:00",
            "A moment's + offset must be sent as %2B in a query string (a + there reads as a space).",
        ),
        ("as_of=2026-12-07Tnoon", "A day YYYY-MM-DD or a moment YYYY-MM-DDTHH:MM:SSZ (or with an offset) is required."),
    ],
)
def test_a_bad_as_of_says_what_is_wrong_with_it(program, query, message):
    response = program.get(f"/loyalty-api/customers/{USER}/balance?{query}")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {"as_of": [message]}


def test_a_customer_never_seen_is_404_and_the_level_is_the_programs(program, reader):
    missing = program.get("/loyalty-api/customers/424242/balance")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "customer_not_found")
    assert reader.get(f"/loyalty-api/customers/{USER}/balance").status_code == 403
    assert program.get(f"/loyalty-api/customers/{USER}x/balance").status_code == 404

"""Reports from the ledger and the lots: liability with expiry buckets that add up, a
rollforward that ties out (also over a random mix of every kind of write), breakage by month;
JSON and CSV; only for the program level. And a customer's own data: export and erasure."""

import csv
import io
import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import F, Sum

from loyalty.models import AccessLevel, PersonalDataErasure
from loyalty.services import order_record, order_return
from rewards import services
from rewards.models import Account, Event, Reward
from rewards.selectors import account_balance, ledger_drift
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

USER = 8800


@pytest.fixture
def program(db):
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def known(settings, clock):
    """Every balance known: 100 credited in January 2026 and expired 11 days later; 500
    available that expire in 60 days; an order's 100 on their way."""
    settings.POINTS_VALIDITY_DAYS = 10
    clock.now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    services.points_earn(user_id=USER, points=100, description="January bonus", app=None)
    clock.now = datetime(2026, 1, 16, 12, tzinfo=UTC)
    services.points_lifecycle_run()
    clock.now = None
    settings.POINTS_VALIDITY_DAYS = 60
    services.points_earn(user_id=USER, points=500, description="Welcome bonus", app=None)
    settings.ORDER_POINTS_PENDING_DAYS = 14
    order_record(order_id=1, user_id=USER, total_cost=2000, completed_at=int(datetime.now(UTC).timestamp()), app=None)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_liability_of_a_known_ledger(program, known):
    answer = program.get("/loyalty-api/reports/liability").json()

    assert (answer["available_points"], answer["pending_points"], answer["owed_points"]) == (500, 100, 0)
    assert answer["expiring"] == {
        "within_30_days": 0,
        "within_90_days": 500,
        "within_365_days": 0,
        "later": 0,
        "never": 0,
    }
    assert sum(answer["expiring"].values()) == answer["available_points"]
    assert (answer["point_value"], answer["value"]) == ("0.01", "5.00")
    assert answer["catalog_point_value"] == "0.100000"  # $5 for 50 points
    before = program.get("/loyalty-api/reports/liability", {"as_of": "2026-01-10"}).json()
    assert (before["available_points"], before["expiring"]["within_30_days"]) == (100, 100)


def test_rollforward_ties_out_over_all_time_and_today_alone(program, known):
    every = program.get("/loyalty-api/reports/rollforward", {"from": "2000-01-01", "to": today()}).json()
    alone = program.get("/loyalty-api/reports/rollforward", {"from": today(), "to": today()}).json()

    assert (every["opening"], every["closing"]) == (0, 500)
    assert every["movements"] == {"earn": 600, "expiry": -100, "order": 0}
    assert every["opening"] + sum(every["movements"].values()) == every["closing"]
    assert (alone["opening"], alone["movements"], alone["closing"]) == (0, {"earn": 500, "order": 0}, 500)
    assert (
        alone["closing"]
        == Account.objects.aggregate(total=Sum(F("total_points_earned") - F("total_points_redeemed")))["total"]
    )


def test_breakage_shows_the_expired_month(program, known):
    months = {month["month"]: month for month in program.get("/loyalty-api/reports/breakage").json()["months"]}

    assert months["2026-01"] == {
        "month": "2026-01",
        "issued": 100,
        "redeemed": 0,
        "expired": 100,
        "open": 0,
        "breakage_rate": "1.0000",
    }
    this_month = months[datetime.now(UTC).strftime("%Y-%m")]
    assert (this_month["issued"], this_month["open"], this_month["breakage_rate"]) == (600, 600, None)


def test_each_report_comes_as_csv(program, known):
    tables = {
        name: program.get(f"/loyalty-api/reports/{name}", {"format": "csv"})
        for name in ("liability", "rollforward", "breakage")
    }

    for response in tables.values():
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = {name: list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")))) for name, r in tables.items()}
    assert ["available_points", "500"] in rows["liability"] and ["value", "5.00"] in rows["liability"]
    today = datetime.now(UTC).date().isoformat()
    assert rows["rollforward"][0] == ["from", "to", "line", "points"]
    assert rows["rollforward"][-1] == [today, today, "closing", "500"]
    assert ["2026-01", "100", "0", "100", "0", "1.0000"] in rows["breakage"]


def test_reports_are_for_the_program_level_and_refuse_bad_dates(shop, program):
    assert shop.get("/loyalty-api/reports/liability").status_code == 403
    assert shop.get("/loyalty-api/reports/breakage", {"format": "csv"}).status_code == 403
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    bad = [
        program.get("/loyalty-api/reports/liability", {"as_of": tomorrow}),
        program.get("/loyalty-api/reports/liability", {"as_of": "2026-02-30"}),
        program.get("/loyalty-api/reports/rollforward", {"from": "2026-03-02", "to": "2026-03-01"}),
        program.get("/loyalty-api/reports/rollforward", {"from": "yesterday", "format": "csv"}),
        program.get("/loyalty-api/reports/breakage", {"format": "xml"}),
    ]
    assert [r.status_code for r in bad] == [400] * 5
    assert bad[4].json()["error"]["fields"] == {"format": ["json or csv."]}
    assert bad[3]["Content-Type"].startswith("application/json") and bad[3].json()["error"]["fields"]["from"]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("liability", {"as_of": ""}, "as_of"),
        ("liability", {"as_of": "2026-W49-1"}, "as_of"),
        ("liability", {"as_of": "20261207"}, "as_of"),
        ("liability", {"as_of": "\u0662\u0660\u0662\u0666-\u0661\u0662-\u0660\u0667"}, "as_of"),  # Arabic-Indic
        ("liability", {"as_of": "2026-341"}, "as_of"),
        ("liability", {"as_of": "2026-12-07T00:00"}, "as_of"),
        ("liability", {"as_of": " 2026-12-07"}, "as_of"),
        ("liability", {"as_of": "2026-12-07\n"}, "as_of"),
        ("liability", {"as_of": "9999-12-31"}, "as_of"),
        ("rollforward", {"from": ""}, "from"),
        ("rollforward", {"to": "", "format": "csv"}, "to"),
        ("rollforward", {"from": "2026-W01-1"}, "from"),
        ("rollforward", {"from": "20260101", "to": "2026-01-02"}, "from"),
        ("rollforward", {"to": "\u0662\u0660\u0662\u0666-\u0660\u0661-\u0660\u0662"}, "to"),
        ("rollforward", {"to": "9999-12-31"}, "to"),
        ("rollforward", {"from": "9999-12-31"}, "from"),
        ("rollforward", {"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ],
)
def test_report_dates_are_yyyy_mm_dd_up_to_today_and_nothing_else(program, path, query, field):
    """A blank parameter is a 400 (not today), and so is any other way to write a day."""
    response = program.get(f"/loyalty-api/reports/{path}", query)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == ("validation_error", [field])


def test_report_dates_at_the_edges_of_the_calendar_answer(program, known):
    """Year 1 is a day like any other (its day before is not computed); after today is a 400 above."""
    every = program.get("/loyalty-api/reports/rollforward", {"from": "0001-01-01"}).json()
    year_one = program.get("/loyalty-api/reports/rollforward", {"from": "0001-01-01", "to": "0001-01-01"}).json()
    liability = program.get("/loyalty-api/reports/liability", {"as_of": "0001-01-01"}).json()
    csv_answer = program.get("/loyalty-api/reports/rollforward", {"from": "0001-01-01", "format": "csv"})

    assert (every["from"], every["to"], every["opening"], every["closing"]) == ("0001-01-01", today(), 0, 500)
    assert every["movements"] == {"earn": 600, "expiry": -100, "order": 0}
    assert (year_one["opening"], year_one["movements"], year_one["closing"]) == (0, {}, 0)
    assert (liability["as_of"], liability["available_points"], sum(liability["expiring"].values())) == (
        "0001-01-01",
        0,
        0,
    )
    assert csv_answer.status_code == 200
    assert csv_answer["Content-Disposition"] == f'attachment; filename="rollforward-0001-01-01-to-{today()}.csv"'


def cps714_source(tmp_path, rows: list[tuple]):
    """A predecessor's file of (reward_id, user_id, earned, redeemed, description, is_active,
    earned_date, redeemed_date) rows."""
    from tests.rewards.test_import_cps714 import source_file

    return str(source_file(tmp_path / "cps714.sqlite3", rows))


def balances_sum() -> int:
    return Account.objects.aggregate(total=Sum(F("total_points_earned") - F("total_points_redeemed")))["total"]


def test_a_row_dated_after_today_is_in_todays_reports_as_in_the_balances(program, settings, tmp_path):
    """An imported row dated 2030 is in the balance now, so today's reports count it: a report
    ending today counts every row, one ending earlier the rows up to its end."""
    from rewards import reports
    from rewards.importers.cps714 import cps714_import

    settings.POINTS_VALIDITY_DAYS = 60  # counted from the import: every lot expires in 60 days
    cps714_import(
        cps714_source(
            tmp_path,
            [
                (1, 601, 100, 0, "Old points", 1, "2024-01-05 10:00:00", None),
                (2, 602, 70, 0, "Dated ahead", 1, "2030-01-05 10:00:00", None),
            ],
        )
    )
    services.points_earn(user_id=603, points=5, description="Today", app=None)
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()

    closing = program.get("/loyalty-api/reports/rollforward", {"from": "2000-01-01"}).json()
    alone = program.get("/loyalty-api/reports/rollforward").json()
    liability = program.get("/loyalty-api/reports/liability").json()
    until_yesterday = program.get("/loyalty-api/reports/rollforward", {"from": "2000-01-01", "to": yesterday}).json()
    liability_yesterday = program.get("/loyalty-api/reports/liability", {"as_of": yesterday}).json()

    assert balances_sum() == 175
    assert (closing["opening"], closing["movements"], closing["closing"]) == (0, {"earn": 175}, 175)
    assert (alone["opening"], alone["movements"], alone["closing"]) == (100, {"earn": 75}, 175)
    assert (liability["available_points"], liability["pending_points"], liability["owed_points"]) == (175, 0, 0)
    assert liability["expiring"] == {
        "within_30_days": 0,
        "within_90_days": 175,
        "within_365_days": 0,
        "later": 0,
        "never": 0,
    }
    assert (until_yesterday["movements"], until_yesterday["closing"]) == ({"earn": 100}, 100)
    assert until_yesterday["closing"] + sum(alone["movements"].values()) == closing["closing"]
    assert (liability_yesterday["available_points"], liability_yesterday["expiring"]["within_90_days"]) == (100, 100)
    assert reports.daily(days=3).liability == [100, 100, 175]  # the dashboard's chart ends on the balances
    assert ledger_drift() == []


def test_a_report_goes_by_when_a_row_was_posted_not_when_its_order_was_completed(program, settings):
    settings.ORDER_POINTS_PENDING_DAYS = 0
    completed = datetime.now(UTC) - timedelta(days=3)
    order_record(order_id=77, user_id=USER, total_cost=2000, completed_at=int(completed.timestamp()), app=None)
    day = completed.date().isoformat()

    that_day = program.get("/loyalty-api/reports/rollforward", {"from": day, "to": day}).json()
    today_alone = program.get("/loyalty-api/reports/rollforward").json()
    liability_that_day = program.get("/loyalty-api/reports/liability", {"as_of": day}).json()

    row = Reward.objects.get(kind="order")
    points = row.points_earned
    assert points > 0 and row.created_at.date() == datetime.now(UTC).date()
    assert (that_day["movements"], that_day["closing"], liability_that_day["available_points"]) == ({}, 0, 0)
    assert (today_alone["opening"], today_alone["movements"], today_alone["closing"]) == (0, {"order": points}, points)


def test_a_liability_in_the_past_keeps_never_expiring_points_in_never(program, tmp_path):
    """Imported rows keep their own dates, their lots are written at the import: as of a day
    before the import, the lots are there from their rows' dates."""
    from rewards.importers.cps714 import cps714_import

    cps714_import(
        cps714_source(
            tmp_path,
            [
                (1, 601, 100, 0, "Old points", 1, "2024-01-05 10:00:00", None),
                (2, 601, 0, 30, "Spent", 1, None, "2024-02-10 12:00:00"),
                (3, 602, 40, 0, "Later points", 1, "2024-06-01 10:00:00", None),
            ],
        )
    )

    january = program.get("/loyalty-api/reports/liability", {"as_of": "2024-01-31"}).json()
    next_year = program.get("/loyalty-api/reports/liability", {"as_of": "2025-01-01"}).json()

    never = {"within_30_days": 0, "within_90_days": 0, "within_365_days": 0, "later": 0}
    assert (january["available_points"], january["expiring"]) == (100, {**never, "never": 100})
    assert (next_year["available_points"], next_year["expiring"]) == (110, {**never, "never": 110})
    assert balances_sum() == 110


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_rollforward_ties_out_over_a_random_mix_of_every_kind_of_write(program, settings, clock, tmp_path, seed):
    """Earnings, purchases, feedback, orders and their returns, redemptions, voids, staff
    adjustments both ways, an import, releases and expiry, in a random order over 60 days."""
    from rewards.importers.balances_csv import balances_csv_import

    rng = random.Random(seed)
    users = [9100 + i for i in range(4)]
    start = datetime(2026, 2, 1, 9, tzinfo=UTC)
    settings.POINTS_VALIDITY_DAYS = 20
    settings.ORDER_POINTS_PENDING_DAYS = 5
    coupons: list[str] = []
    orders: list[int] = []
    for step in range(60):
        clock.now = start + timedelta(days=step, hours=rng.randrange(24))
        user = rng.choice(users)
        action = rng.randrange(9)
        if action == 0:
            services.points_earn(user_id=user, points=rng.randrange(1, 300), description="Bonus", app=None)
        elif action == 1:
            services.purchase_record(user_id=user, amount=Decimal(rng.randrange(1, 90)), description="P", app=None)
        elif action == 2:
            services.feedback_submit(user_id=user, description="F", app=None)
        elif action == 3:
            orders.append(order_id := 1000 + step)
            order_record(
                order_id=order_id,
                user_id=user,
                total_cost=rng.randrange(100, 5000),
                completed_at=int(clock.now.timestamp()),
                app=None,
            )
        elif action == 4 and orders:
            order_return(order_id=orders.pop(rng.randrange(len(orders))), app=None)
        elif action == 5 and account_balance(user_id=user).total_points >= 50:
            coupons.append(
                services.coupon_redeem(
                    user_id=user, points=50, amount=Decimal("5"), description="c", app=None
                ).redeemed_item.item_code
            )
        elif action == 6 and coupons:
            services.coupon_void(item_code=coupons.pop(rng.randrange(len(coupons))), reason="mix", app=None)
        elif action == 7:
            services.points_adjust(user_id=user, points=rng.choice([-40, 25]), reason="mix", staff="ops")
        else:
            services.points_lifecycle_run()
        if step == 30:
            (tmp_path / "balances.csv").write_text(f"{9200 + seed},{rng.randrange(1, 500)}\n")
            balances_csv_import(tmp_path / "balances.csv")
    clock.now = None
    services.points_lifecycle_run(now=start + timedelta(days=90))

    first = start.date() - timedelta(days=1)
    cuts = sorted({first, start.date() + timedelta(days=rng.randrange(60)), datetime.now(UTC).date()})
    for day_from, day_to in itertools.pairwise(cuts):
        report = program.get("/loyalty-api/reports/rollforward", {"from": day_from, "to": day_to}).json()
        assert report["opening"] + sum(report["movements"].values()) == report["closing"]
    whole = program.get("/loyalty-api/reports/rollforward", {"from": first, "to": today()}).json()
    balances = Account.objects.aggregate(total=Sum(F("total_points_earned") - F("total_points_redeemed")))["total"]
    assert whole["opening"] == 0 and whole["closing"] == balances
    liability = program.get("/loyalty-api/reports/liability").json()
    assert liability["available_points"] - liability["owed_points"] == balances
    assert sum(liability["expiring"].values()) == liability["available_points"]
    assert ledger_drift() == []


# ---- a customer's own data -------------------------------------------------------------------------


def test_export_then_erase_twice_keeps_every_balance(program, shop):
    services.birthday_set(user_id=USER, month=4, day=9)
    services.points_earn(user_id=USER, points=300, description="Apology for the late parcel to 12 Elm St", app=None)
    order_record(order_id=5, user_id=USER, total_cost=2000, completed_at=1_700_000_000, app=None)
    services.coupon_redeem(user_id=USER, points=50, amount=Decimal("5"), description="$5 coupon", app=None)
    friend = shop.post("/rewards-api/referral-code/", {"user_id": USER}, format="json").json()["code"]
    shop.post("/rewards-api/referrals/", {"user_id": USER + 1, "code": friend}, format="json")
    before = account_balance(user_id=USER)

    exported = program.get(f"/loyalty-api/customers/{USER}/export").json()
    first = program.delete(f"/loyalty-api/customers/{USER}/personal-data").json()
    second = program.delete(f"/loyalty-api/customers/{USER}/personal-data").json()

    assert exported["birthday"] == {"month": 4, "day": 9}
    assert exported["referral"] == {"code": friend, "referred_by_user_id": None, "referred_user_ids": [USER + 1]}
    assert {row["reward_description"] for row in exported["ledger"]} >= {"Apology for the late parcel to 12 Elm St"}
    assert [o["order_id"] for o in exported["orders"]] == [5] and len(exported["coupons"]) == 1
    assert len(exported["lots"]) == 2
    assert first["erased"]["birthday"] == 1 and first["erased"]["referral_links"] == 1
    assert first["erased"]["ledger_descriptions"] == 3
    assert not any(second["erased"].values()) and second["message"] == "Nothing personal was left to erase."
    assert set(Reward.objects.filter(user_id=USER).values_list("reward_description", flat=True)) == {"[erased]"}
    assert not Event.objects.filter(user_id=USER, data__reward__reward_description__contains="Elm").exists()
    assert account_balance(user_id=USER) == before
    assert PersonalDataErasure.objects.get().erased_by == "application program"
    after = program.get(f"/loyalty-api/customers/{USER}/export").json()
    assert (after["birthday"], after["referral"]["code"], len(after["erasures"])) == (None, None, 1)
    assert ledger_drift() == []


def test_customer_data_is_for_the_program_level_and_unknown_customers_are_404(shop, program):
    services.points_earn(user_id=USER, points=10, description="x", app=None)

    assert shop.get(f"/loyalty-api/customers/{USER}/export").status_code == 403
    assert shop.delete(f"/loyalty-api/customers/{USER}/personal-data").status_code == 403
    unknown = program.get("/loyalty-api/customers/424242/export")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "customer_not_found")
    assert program.get("/loyalty-api/customers/abc/export").status_code == 404

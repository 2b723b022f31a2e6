"""Taking over the CLP API: a source PostgreSQL database in its layout (applications, users,
orders), imported; balances, orders, counters and the report checked; then the API on them."""

import stat
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.models import AccessLevel, Application, Order, OrderCounter
from loyalty.services import clp as clp_module
from loyalty.services import order_record
from loyalty.services.clp import clp_import
from rewards.importers.base import ImportRefused
from rewards.models import Account, Event, EventType, ImportedRow, Reward
from rewards.selectors import account_balance, ledger_drift
from rewards.services import points_earn
from tests.conftest import client_for
from tests.import_sources import CLP_SCHEMA

APP_A, APP_B = uuid.UUID(int=0xA1), uuid.UUID(int=0xB2)
T1 = int(datetime(2024, 3, 1, 9, tzinfo=UTC).timestamp())
T2 = int(datetime(2024, 4, 1, 9, tzinfo=UTC).timestamp())


@pytest.fixture
def clp_source(source_database) -> tuple[str, object]:
    """An empty CLP database: its URL and a connection to fill it."""
    url, source = source_database
    with source.cursor() as cursor:
        cursor.execute(CLP_SCHEMA)
    return url, source


def fill(source, *, applications=(), users=(), orders=()) -> None:
    with source.cursor() as cursor:
        cursor.executemany("INSERT INTO applications VALUES (%s, %s, %s)", applications)
        cursor.executemany("INSERT INTO users VALUES (%s, %s, %s)", users)
        cursor.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", orders)


@pytest.fixture
def realistic(clp_source, shop_app) -> str:
    url, source = clp_source
    # An order this service already recorded, whose order_id the CLP also used.
    order_record(order_id=7777, user_id=500, total_cost=100, completed_at=T1, app=shop_app)
    fill(
        source,
        applications=[(str(APP_A), "Web shop", "s" * 64), (str(APP_B), "Warehouse", "t" * 64)],
        users=[
            (201, 123.7, 1),  # two orders kept, one deleted
            (202, 0.1 * 3 * 100, 3),  # 30.000000000000004: a float's 30
            (203, -12.5, 0),  # below zero in the CLP
            (206, None, None),  # nothing known
            (-5, 10.0, 0),  # no such customer
        ],
        orders=[
            (9001, 201, 1000, T1),
            (9002, 201, 500.0, T2),
            (9003, 202, 20, T1),
            (9004, 204, 80, T2),  # a customer missing from users
            (9005, 202, 12.5, None),  # a fractional cost and no time
            (7777, 203, 300, T2),  # clashes with this service's order
            (9006, 201, -3, T1),  # a negative cost
        ],
    )
    return url


def problems(report) -> list[str]:
    return sorted(anomaly.problem for anomaly in report.anomalies)


def test_balances_orders_and_counters_come_over_with_a_report(realistic, db):
    report = clp_import(realistic).report

    assert {user: account_balance(user_id=user).total_points for user in (201, 202, 203, 204, 206)} == {
        201: 123,
        202: 30,
        203: -12,  # a fraction is dropped towards zero: never against the customer
        204: 0,
        206: 0,
    }
    assert Account.objects.get(user_id=203).points_owed == 12
    assert not Account.objects.filter(user_id=-5).exists()
    imported = Order.objects.filter(imported_from="clp").order_by("order_id")
    # Their points came over in the balances: no award rows of their own.
    assert [(o.order_id, o.user_id, o.total_cost, o.points_awarded, o.awards.count()) for o in imported] == [
        (9001, 201, 1000, 50, 0),
        (9002, 201, 500, 25, 0),
        (9003, 202, 20, 1, 0),
        (9004, 204, 80, 4, 0),
        (9005, 202, 12, 0, 0),
    ]
    assert imported[0].completed_at == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert imported[0].coefficient == Decimal("1")
    assert Order.objects.get(order_id=7777).user_id == 500  # the existing order stays
    counters = {c.user_id: (c.orders_placed, c.orders_returned) for c in OrderCounter.objects.all()}
    assert counters == {500: (1, 0), 201: (3, 1), 202: (5, 3), 203: (0, 0), 204: (1, 0), 206: (0, 0)}
    # One ledger row per non-zero balance, of kind import; the orders did not earn again.
    rows = Reward.objects.filter(imported_from="clp").order_by("user_id")
    assert [(r.user_id, r.kind, r.points_earned, r.points_redeemed) for r in rows] == [
        (201, "import", 123, 0),
        (202, "import", 30, 0),
        (203, "import", 0, 12),
    ]
    assert ledger_drift() == []
    assert report.counts["customers"] == 5
    assert report.counts["orders"] == 5
    assert report.counts["returned orders (deleted in the CLP)"] == 4
    assert report.counts["balances with a fraction dropped"] == 2
    assert (report.counts["points credited"], report.counts["points debited"]) == (153, 12)
    assert report.counts["applications in the source"] == 2
    assert problems(report) == [
        "balance below zero",
        "completed_at is not a unix time",
        "current_balance is empty or not a number",
        "order_id already used by an order of this service",
        "orders of a customer the users table does not list",
        "total_cost is empty, negative or not a number",
        "total_cost is not a whole number",
        "user_id is not a positive integer",
    ]
    assert not Application.objects.filter(pk__in=[APP_A, APP_B]).exists()
    assert any("'Web shop'" in note for note in report.notes)
    imported_events = Event.objects.filter(type=EventType.POINTS_IMPORTED).order_by("user_id")
    assert [(e.user_id, e.data["points"], e.data["balance"]["total_points"]) for e in imported_events] == [
        (201, 123, 123),
        (202, 30, 30),
        (203, -12, -12),
        (204, 0, 0),
        (206, 0, 0),
    ]


def test_the_next_order_keeps_the_clp_coefficient_and_imported_orders_return(realistic, shop, db):
    clp_import(realistic)

    # 201: 3 placed, 1 returned: min(1, 1.2 - 1/4) = 0.95; 1000 * 0.05 * 0.95 = 47.5 -> 47.
    posted = shop.post(
        "/loyalty-api/orders",
        {"user_id": 201, "order_id": 9100, "total_cost": 1000, "completed_at": T2},
        format="json",
    ).json()
    assert (posted["points"], Decimal(str(posted["coefficient"]))) == (47, Decimal("0.95"))
    assert posted["total_points"] == 123 + 47
    # 202: 5 placed, 3 returned: 1.2 - 3/6 = 0.7.
    posted = shop.post(
        "/loyalty-api/orders",
        {"user_id": 202, "order_id": 9101, "total_cost": 100, "completed_at": T2},
        format="json",
    ).json()
    assert (posted["points"], Decimal(str(posted["coefficient"]))) == (3, Decimal("0.7"))
    # Returning an imported order takes back at most what it could have earned (coefficient 1).
    returned = shop.delete("/loyalty-api/orders/9001")
    assert returned.status_code == 200, returned.json()
    assert returned.json()["points_taken_back"] == 50
    assert account_balance(user_id=201).total_points == 123 + 47 - 50
    assert OrderCounter.objects.get(user_id=201).orders_returned == 2
    again = shop.delete("/loyalty-api/orders/9001")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_already_returned")
    # Posting an imported order again with its body is a safe retry.
    retry = shop.post(
        "/loyalty-api/orders",
        {"user_id": 202, "order_id": 9003, "total_cost": 20, "completed_at": T1},
        format="json",
    )
    assert retry.status_code == 200
    assert ledger_drift() == []


def test_a_second_run_imports_nothing_twice_and_a_dry_run_writes_nothing(realistic, db):
    dry = clp_import(realistic, dry_run=True).report
    assert not Order.objects.filter(imported_from="clp").exists() and not ImportedRow.objects.exists()

    first = clp_import(realistic).report
    rows, orders = Reward.objects.count(), Order.objects.count()
    counters = list(OrderCounter.objects.order_by("user_id").values_list("orders_placed", "orders_returned"))
    second = clp_import(realistic).report

    assert dry.counts == first.counts
    assert (Reward.objects.count(), Order.objects.count()) == (rows, orders)
    assert list(OrderCounter.objects.order_by("user_id").values_list("orders_placed", "orders_returned")) == counters
    assert second.counts["rows already imported"] == 5 + 7  # four valid users and -5, seven orders
    assert second.counts["orders"] == 0 and second.anomalies == []
    assert account_balance(user_id=201).total_points == 123


def test_a_customer_in_both_sources_ends_with_the_sum(clp_source, db):
    url, source = clp_source
    points_earn(user_id=301, points=40, description="From the rewards system", app=None)
    fill(source, users=[(301, 60.0, 0)])
    clp_import(url)

    assert account_balance(user_id=301).total_points == 100
    assert ledger_drift() == []


def test_applications_are_created_only_when_asked_with_fresh_tokens_in_a_private_file(realistic, tmp_path, db):
    tokens_file = tmp_path / "tokens.txt"
    call_command("import_clp", realistic, "--applications", "Can_Read", "--tokens-file", str(tokens_file))

    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    lines = [line.split("\t") for line in tokens_file.read_text().splitlines() if not line.startswith("#")]
    assert sorted((app_id, name) for app_id, name, _ in lines) == [(str(APP_A), "Web shop"), (str(APP_B), "Warehouse")]
    for app_id, _, token in lines:
        app = Application.objects.get(pk=app_id)
        assert app.access_level == AccessLevel.CAN_READ
        app.token = token
        assert client_for(app).get("/loyalty-api/user?user_id=201").json()["current_balance"] == 123
    # A second run creates nothing, and will not overwrite a tokens file.
    with pytest.raises(CommandError, match="Cannot create"):
        call_command("import_clp", realistic, "--applications", "Can_Read", "--tokens-file", str(tokens_file))
    call_command("import_clp", realistic, "--applications", "Can_Read", "--tokens-file", str(tmp_path / "again.txt"))
    assert Application.objects.filter(pk__in=[APP_A, APP_B]).count() == 2
    assert len((tmp_path / "again.txt").read_text().splitlines()) == 1  # the heading only


def test_a_failure_half_way_leaves_nothing_and_no_tokens_file(clp_source, tmp_path, db, monkeypatch):
    url, source = clp_source
    monkeypatch.setattr("loyalty.services.clp.BATCH_ROWS", 2)
    fill(
        source,
        applications=[(str(APP_A), "Web shop", "s")],
        users=[(401, 10, 0), (402, 10, 0), (403, 5, 0)],
        orders=[(9401, 401, 100, T1)],
    )
    tokens_file = tmp_path / "tokens.txt"
    counters_add = clp_module._counters_add
    batches = []

    def fails_in_the_second_batch(counters):
        batches.append(counters)
        if len(batches) == 2:
            raise ImportRefused("Customer 403: the database refused a write.")
        counters_add(counters)

    monkeypatch.setattr(clp_module, "_counters_add", fails_in_the_second_batch)

    with pytest.raises(CommandError, match="403"):
        call_command("import_clp", url, "--applications", "Can_Read", "--tokens-file", str(tokens_file))

    assert not Account.objects.filter(user_id__in=[401, 402, 403]).exists()
    assert not Order.objects.filter(order_id=9401).exists()
    assert not Application.objects.filter(pk=APP_A).exists()
    assert not ImportedRow.objects.exists()
    assert not tokens_file.exists()
    with pytest.raises(ImportRefused, match="--applications"):
        clp_import(url, applications_level="MasterApp")

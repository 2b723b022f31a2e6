"""The data migration that gives existing history its lots: replayed per customer, the
result passes check_ledger."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rewards.models import LotConsumption, PointLot
from rewards.selectors import account_balance, ledger_drift
from rewards.sqlfiles import install_sql, live_sql
from tests.rewards.test_sql_source import installed

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("rewards", "0006_ledger_names"), ("loyalty", "0003_customer_proxy")]
WHEN = datetime(2025, 1, 1, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_rows_become_lots_available_now_that_never_expire():
    old = migrate(BEFORE)
    Reward = old.get_model("rewards", "Reward")
    Account = old.get_model("rewards", "Account")

    def row(user_id, earned=0, redeemed=0, kind="earn"):
        return Reward.objects.create(
            user_id=user_id,
            kind=kind,
            points_earned=earned,
            points_redeemed=redeemed,
            reward_description=kind,
            created_at=WHEN,
        )

    # Customer 1: 100 + 50 earned, 120 redeemed: the first lot is spent, 30 left of the second.
    first, second = row(1, earned=100), row(1, earned=50)
    coupon = row(1, redeemed=120, kind="coupon")
    # Customer 2: 40 earned, an order return of 70 took them to -30, then 10 earned.
    row(2, earned=40)
    row(2, redeemed=70, kind="order_return")
    row(2, earned=10)
    Account.objects.create(user_id=1, total_points_earned=150, total_points_redeemed=120)
    Account.objects.create(user_id=2, total_points_earned=50, total_points_redeemed=70)

    migrate(latest())

    lots = {lot.credit_id: lot for lot in PointLot.objects.all()}
    assert lots[first.pk].remaining == 0 and lots[second.pk].remaining == 30
    assert all(not lot.pending and lot.expires_at is None for lot in lots.values())
    assert sorted(LotConsumption.objects.filter(debit_id=coupon.pk).values_list("points", flat=True)) == [20, 100]
    assert account_balance(user_id=1).total_points == 30
    assert account_balance(user_id=2).total_points == -20
    from rewards.models import Account as CurrentAccount

    assert CurrentAccount.objects.get(user_id=2).points_owed == 20
    assert ledger_drift() == []


def test_a_database_migrated_back_and_forth_has_the_live_functions():
    """Going back past every migration that installed SQL and forward again ends with the
    functions of rewards/sql/, as a fresh database does."""
    migrate(BEFORE)
    migrate(latest())
    before = installed()
    with connection.cursor() as cursor:
        cursor.execute(install_sql(live_sql()))
    assert installed() == before


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_the_chain_migration_chains_existing_rows_in_the_order_they_were_written():
    old = migrate([("rewards", "0026_owed_points_paid_once")])
    Reward = old.get_model("rewards", "Reward")
    Account = old.get_model("rewards", "Account")
    rows = [
        Reward.objects.create(
            user_id=user_id, kind="earn", points_earned=points, reward_description=f"row {points}", created_at=WHEN
        )
        for user_id, points in [(3, 10), (4, 5), (3, 20), (3, 30)]
    ]
    Account.objects.create(user_id=3, total_points_earned=60)
    Account.objects.create(user_id=4, total_points_earned=5)

    migrate(latest())

    from rewards.models import Account as Chained
    from rewards.models import Reward as Row
    from rewards.selectors import ledger_verify

    assert [(r.user_id, r.seq) for r in Row.objects.filter(pk__in=[r.pk for r in rows]).order_by("id")] == [
        (3, 1),
        (4, 1),
        (3, 2),
        (3, 3),
    ]
    assert {a.user_id: a.chain_seq for a in Chained.objects.all()} == {3: 3, 4: 1}
    assert ledger_verify(trusted_keys=None).problems == []

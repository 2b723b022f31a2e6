"""The rewards system's data read from a database URL (PostgreSQL) instead of an SQLite file."""

from datetime import UTC, datetime

from rewards.importers.cps714 import cps714_import
from rewards.models import RedeemedItem
from rewards.selectors import account_balance
from tests.import_sources import CPS714_SCHEMA


def test_the_source_can_be_a_database_url(source_database, db):
    url, source = source_database
    with source.cursor() as cursor:
        cursor.execute(
            CPS714_SCHEMA.replace("integer NOT NULL PRIMARY KEY AUTOINCREMENT", "bigint PRIMARY KEY")
            .replace("datetime", "timestamp with time zone")
            .replace("amount real", "amount double precision")
        )
        cursor.execute(
            "INSERT INTO rewards_reward VALUES (1, 501, 120, 0, 'Earned', true, '2024-01-05 10:00+00', NULL),"
            " (2, 501, 0, 100, 'Coupon', true, NULL, '2024-02-01 09:00+01')"
        )
        cursor.execute("INSERT INTO rewards_redeemeditem VALUES (2, 'PGCODE0000000001', '$10 coupon', 10.0)")

    report = cps714_import(url)

    assert account_balance(user_id=501).total_points == 20
    item = RedeemedItem.objects.get(item_code="PGCODE0000000001")
    assert item.reward.redeemed_date == datetime(2024, 2, 1, 8, tzinfo=UTC)
    assert item.catalog_item.points_cost == 100
    assert (report.counts["coupons unused"], report.anomalies) == (1, [])

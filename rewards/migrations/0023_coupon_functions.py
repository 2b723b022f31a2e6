"""Rewards with stock, limits and validity, and voiding a coupon (0023_coupon_functions.sql):
``ledger_debit`` writes a redemption's item whole (state, valid_until, what it counted),
``catalog_take`` takes a unit and a count under row locks, ``ledger_refund`` gives a coupon's
points back to the lots they came from; an event's item shows its state and valid_until. Redemptions already made get their state.

Going back restores ``ledger_debit`` and ``ledger_item_json`` as 0015 installed them."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import function_definition

HERE = Path(__file__).parent
FUNCTIONS = (HERE / "0023_coupon_functions.sql").read_text()


REVERSE = f"""
DROP FUNCTION ledger_refund, catalog_give_back, catalog_take, ledger_debit;
{function_definition(HERE / "0015_ledger_functions.sql", "ledger_debit")}
{function_definition(HERE / "0015_ledger_functions.sql", "ledger_item_json")}
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0022_catalog_limits"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]

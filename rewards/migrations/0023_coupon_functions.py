"""Rewards with stock, limits and validity, and voiding a coupon (0023_coupon_functions.sql):
``ledger_debit`` writes a redemption's item whole (state, valid_until, what it counted),
``catalog_take`` takes a unit and a count under row locks, ``ledger_refund`` gives a coupon's
points back to the lots they came from; an event's item shows its state and valid_until. Redemptions already made get their state.

Going back restores ``ledger_debit`` as 0015 installed it."""

import re
from pathlib import Path

from django.db import migrations

HERE = Path(__file__).parent
FUNCTIONS = (HERE / "0023_coupon_functions.sql").read_text()


def landed(name: str) -> str:
    """A function's definition as 0015_ledger_functions.sql installed it."""
    text = (HERE / "0015_ledger_functions.sql").read_text()
    return re.search(rf"^CREATE FUNCTION {name}\(.*?^END \$\$;", text, re.MULTILINE | re.DOTALL).group(0)


REVERSE = f"""
DROP FUNCTION ledger_refund, catalog_give_back, catalog_take, ledger_debit;
{landed("ledger_debit")}
CREATE OR REPLACE FUNCTION ledger_item_json(i rewards_redeemeditem) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('item_code', i.item_code, 'item_description', i.item_description, 'amount', i.amount)
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0022_catalog_limits"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]

"""Tiers' qualifying points end on today (0024_tier_window_end.sql): ``tier_qualifying_points``
and ``tier_qualify`` take the window's last day, so a credit dated in the future counts from
its own day, not before.

Going back restores both as 0021_tier_functions.sql installed them."""

import re
from pathlib import Path

from django.db import migrations

HERE = Path(__file__).parent
FUNCTIONS = (HERE / "0024_tier_window_end.sql").read_text()


def landed(name: str) -> str:
    """A function's definition as 0021_tier_functions.sql installed it."""
    text = (HERE / "0021_tier_functions.sql").read_text()
    return re.search(rf"^CREATE FUNCTION {name}\(.*?^(END )?\$\$;", text, re.MULTILINE | re.DOTALL).group(0)


REVERSE = f"""
DROP FUNCTION tier_qualify(bigint, date, date, date, bigint[], bigint[]);
DROP FUNCTION tier_qualifying_points(bigint, date, date);
{landed("tier_qualifying_points")}
{landed("tier_qualify")}
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0023_coupon_functions"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]

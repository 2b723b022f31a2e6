"""Tiers' qualifying points (0021_tier_functions.sql): ``tier_qualify`` records an event's
qualifying credits in the customer's day bucket and answers the window's sum
(``tier_qualifying_points``, the one sum of them);
``tier_take_back`` takes a return's share back out of them; ``tier_standing_lock`` locks a
customer's account and tier standing, in that order."""

from pathlib import Path

from django.db import migrations

FUNCTIONS = (Path(__file__).parent / "0021_tier_functions.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0020_tiers"),
    ]

    operations = [
        migrations.RunSQL(FUNCTIONS, "DROP FUNCTION tier_standing_lock, tier_take_back, tier_qualify, tier_qualifying_points;"),
    ]

"""Tiers' qualifying points end on today: ``tier_qualifying_points`` and ``tier_qualify`` take
the window's last day, so a credit dated in the future counts from its own day, not before.

Installs 0024_tier_window_end.sql: a frozen snapshot of what changed in rewards/sql/, never
edited (the live definitions are in rewards/sql/). Going back puts back the definitions the
migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0023_coupon_functions"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

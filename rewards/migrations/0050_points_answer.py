"""The ledger's functions as rewards/sql/ now defines them.

Installs 0050_points_answer.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0049_audit_chain_head_saved_again"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

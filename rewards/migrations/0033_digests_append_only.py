"""the signed digests and their heads are append-only by triggers defined in
rewards/sql/digests.sql

Installs 0033_digests_append_only.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0032_ledger_chain"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

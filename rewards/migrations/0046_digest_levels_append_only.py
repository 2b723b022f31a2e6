"""A digest's stored Merkle levels are append-only, as the digest (rewards/sql/digests.sql).

Installs 0046_digest_levels_append_only.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0045_digest_levels"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

"""The audit chain's head is saved again at commit when something ran the deferred save early (SET
CONSTRAINTS ALL IMMEDIATE) and the transaction chained more entries after
(rewards/sql/audit.sql).

Installs 0049_audit_chain_head_saved_again.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0048_challenge_progress_without_foreign_keys"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

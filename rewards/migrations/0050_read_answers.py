"""The hot reads' answers written whole by PostgreSQL (rewards/sql/answers.sql): get-points',
get-user-info's and get-all-history's, with a balance's shape in one place (ledger_balance_fields).

Installs 0050_read_answers.sql: a frozen snapshot of what changed in rewards/sql/, written by
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

"""The audit record's chain: audit_entry_form, audit_chain_link and its type audit_link,
audit_chain_head_save (rewards/sql/audit.sql).

Installs 0043_audit_chain_functions.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0042_audit_chain"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

"""Paying owed points first is one function, ledger_owed_pay, which every path that makes points
spendable calls: a credit, a release and a refund.

Installs 0026_owed_points_paid_once.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0025_birthday_erasable"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

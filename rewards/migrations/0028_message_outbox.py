"""Messages to customers: the trigger on rewards_event writes a message into the outbox
(rewards_message) in the event's transaction, for the events that have one and the customers
whose contact has an email and the topic on.

Installs 0028_message_outbox.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

from django.db import migrations

from rewards.sqlfiles import snapshot_install


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0027_messages"),
    ]

    operations = [
        snapshot_install(Path(__file__).with_suffix(".sql")),
    ]

"""Challenge progress and contributions keep their challenge without a foreign key constraint: its
check took a share lock on the challenge row in every event's transaction (a multixact for each,
under concurrency); check_ledger reports an orphan instead."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0047_challenge_progress_one_statement'),
    ]

    operations = [
        migrations.AlterField(
            model_name='challengecontribution',
            name='challenge',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.challenge'),
        ),
        migrations.AlterField(
            model_name='challengeprogress',
            name='challenge',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.challenge'),
        ),
    ]

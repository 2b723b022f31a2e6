"""The audit record's chain: each loyalty audit entry's link (pgh_seq, pgh_hash); chained and
triggered by rewards 0041 and loyalty 0014."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0012_audit_read_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='adjustmentsubmissionaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='adjustmentsubmissionaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='applicationaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='applicationaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='personaldataerasureaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='personaldataerasureaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='webhooksubscriptionaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='webhooksubscriptionaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
    ]

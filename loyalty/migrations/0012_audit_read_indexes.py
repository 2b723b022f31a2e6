"""The audit read's indexes (core/audit.py): each page is read by id or by time, and each of its
entries finds the one before it for the same object by (pgh_obj_id, pgh_id), which replaces the
object's own index."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0011_audit_history'),
    ]

    operations = [
        migrations.AlterField(
            model_name='adjustmentsubmissionaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='loyalty.adjustmentsubmission'),
        ),
        migrations.AlterField(
            model_name='applicationaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='loyalty.application'),
        ),
        migrations.AlterField(
            model_name='personaldataerasureaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='loyalty.personaldataerasure'),
        ),
        migrations.AlterField(
            model_name='webhooksubscriptionaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='loyalty.webhooksubscription'),
        ),
        migrations.AddIndex(
            model_name='adjustmentsubmissionaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='staff_adjustment_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='adjustmentsubmissionaudit',
            index=models.Index(fields=['pgh_created_at'], name='staff_adjustment_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='applicationaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='application_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='applicationaudit',
            index=models.Index(fields=['pgh_created_at'], name='application_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='personaldataerasureaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='personal_data_erasure_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='personaldataerasureaudit',
            index=models.Index(fields=['pgh_created_at'], name='personal_data_erasure_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='webhooksubscriptionaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='webhook_subscription_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='webhooksubscriptionaudit',
            index=models.Index(fields=['pgh_created_at'], name='webhook_subscription_pgh_at'),
        ),
    ]

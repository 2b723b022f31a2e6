"""The audit read's indexes (core/audit.py): each page is read by id or by time, and each of its
entries finds the one before it for the same object by (pgh_obj_id, pgh_id), which replaces the
object's own index."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0039_challenge_functions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='badgeaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.badge'),
        ),
        migrations.AlterField(
            model_name='catalogitemaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.catalogitem'),
        ),
        migrations.AlterField(
            model_name='ruleaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.rule'),
        ),
        migrations.AlterField(
            model_name='ruleversionaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.ruleversion'),
        ),
        migrations.AlterField(
            model_name='segmentaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.segment'),
        ),
        migrations.AlterField(
            model_name='tieraudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.tier'),
        ),
        migrations.AlterField(
            model_name='tierladderaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.tierladder'),
        ),
        migrations.AddIndex(
            model_name='badgeaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='badge_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='badgeaudit',
            index=models.Index(fields=['pgh_created_at'], name='badge_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='catalogitemaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='catalog_item_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='catalogitemaudit',
            index=models.Index(fields=['pgh_created_at'], name='catalog_item_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='ruleaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='rule_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='ruleaudit',
            index=models.Index(fields=['pgh_created_at'], name='rule_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='ruleversionaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='rule_version_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='ruleversionaudit',
            index=models.Index(fields=['pgh_created_at'], name='rule_version_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='segmentaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='segment_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='segmentaudit',
            index=models.Index(fields=['pgh_created_at'], name='segment_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='tieraudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='tier_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='tieraudit',
            index=models.Index(fields=['pgh_created_at'], name='tier_pgh_at'),
        ),
        migrations.AddIndex(
            model_name='tierladderaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='tier_ladder_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='tierladderaudit',
            index=models.Index(fields=['pgh_created_at'], name='tier_ladder_pgh_at'),
        ),
        migrations.AlterField(
            model_name='challengeaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.challenge'),
        ),
        migrations.AddIndex(
            model_name='challengeaudit',
            index=models.Index(fields=['pgh_obj', 'pgh_id'], name='challenge_pgh_obj'),
        ),
        migrations.AddIndex(
            model_name='challengeaudit',
            index=models.Index(fields=['pgh_created_at'], name='challenge_pgh_at'),
        ),
    ]

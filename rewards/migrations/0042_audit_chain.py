"""The audit record's chain, its columns: each audit entry's link (pgh_seq, pgh_hash), the chain's
head (one row), and the audit head each digest signs. The functions come next (0040), then the
entries already written are chained and the triggers installed (0041)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0041_challenge_reads'),
        ('loyalty', '0013_audit_chain'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditChainHead',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ('seq', models.BigIntegerField(default=0)),
                ('entry_id', models.BigIntegerField(null=True)),
                ('hash', models.BinaryField(default=b'\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00')),
            ],
        ),
        migrations.AddField(
            model_name='challengeaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='challengeaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='badgeaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='badgeaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='catalogitemaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='catalogitemaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='ledgerdigest',
            name='audit_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='ledgerdigest',
            name='audit_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='ruleaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='ruleaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='ruleversionaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='ruleversionaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='segmentaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='segmentaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='tieraudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='tieraudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='tierladderaudit',
            name='pgh_hash',
            field=models.BinaryField(null=True),
        ),
        migrations.AddField(
            model_name='tierladderaudit',
            name='pgh_seq',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddConstraint(
            model_name='auditchainhead',
            constraint=models.CheckConstraint(condition=models.Q(('id', 1)), name='audit_chain_head_one_row'),
        ),
    ]

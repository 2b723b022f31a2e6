"""Bulk awards to a segment: the award, its members fixed when it was asked, each member credited once; the event segment.award_done."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0010_personal_data_erasures'),
        ('rewards', '0030_segments'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.CharField(choices=[('points.earned', 'Points earned'), ('points.redeemed', 'Points redeemed or taken back'), ('coupon.used', 'Coupon used'), ('order.recorded', 'Order recorded'), ('order.returned', 'Order returned'), ('points.available', 'Pending points became available'), ('points.expired', 'Points expired'), ('points.expiring_soon', 'Points expiring soon'), ('application.revoked', 'Application revoked'), ('points.imported', 'Points imported from a predecessor system'), ('tier.upgraded', 'Tier upgraded'), ('tier.downgraded', 'Tier downgraded'), ('coupon.voided', 'Coupon voided (its points given back)'), ('coupon.expired', 'Coupon expired'), ('segment.award_done', 'A bulk award to a segment credited every member')], max_length=40),
        ),
        migrations.CreateModel(
            name='SegmentAward',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('award_id', models.CharField(max_length=100, unique=True)),
                ('segment_code', models.CharField(max_length=50)),
                ('points', models.PositiveIntegerField()),
                ('description', models.CharField(max_length=255)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=10)),
                ('members', models.PositiveIntegerField()),
                ('credited', models.PositiveIntegerField(default=0)),
                ('error', models.CharField(blank=True, default='', max_length=255)),
                ('created_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('asked_by', models.CharField(blank=True, max_length=150)),
                ('application', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loyalty.application')),
                ('segment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='awards', to='rewards.segment')),
            ],
        ),
        migrations.CreateModel(
            name='SegmentAwardCredit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('award', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.segmentaward')),
                ('credit', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.reward')),
            ],
        ),
        migrations.CreateModel(
            name='SegmentAwardMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('award', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rewards.segmentaward')),
            ],
        ),
        migrations.AddIndex(
            model_name='segmentaward',
            index=models.Index(condition=models.Q(('state__in', ['queued', 'running'])), fields=['id'], name='segment_award_unfinished'),
        ),
        migrations.AddConstraint(
            model_name='segmentaward',
            constraint=models.CheckConstraint(condition=models.Q(('credited__lte', models.F('members'))), name='segment_award_credited_le_members'),
        ),
        migrations.AddConstraint(
            model_name='segmentawardcredit',
            constraint=models.UniqueConstraint(fields=('award', 'user_id'), name='segment_award_credited_once'),
        ),
        migrations.AddConstraint(
            model_name='segmentawardmember',
            constraint=models.UniqueConstraint(fields=('award', 'user_id'), name='segment_award_member_once'),
        ),
    ]

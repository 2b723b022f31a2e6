"""Badges, and a customer's awards of them: never deleted, taken back with who and why."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0035_audit_segments_and_catalog_segment_codes'),
    ]

    operations = [
        migrations.CreateModel(
            name='Badge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=50, unique=True)),
                ('name', models.CharField(max_length=100)),
                ('description', models.CharField(blank=True, default='', max_length=500)),
                ('image_url', models.CharField(blank=True, default='', max_length=500)),
                ('created_at', models.DateTimeField()),
                ('updated_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['code'],
            },
        ),
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.CharField(choices=[('points.earned', 'Points earned'), ('points.redeemed', 'Points redeemed or taken back'), ('coupon.used', 'Coupon used'), ('order.recorded', 'Order recorded'), ('order.returned', 'Order returned'), ('points.available', 'Pending points became available'), ('points.expired', 'Points expired'), ('points.expiring_soon', 'Points expiring soon'), ('application.revoked', 'Application revoked'), ('points.imported', 'Points imported from a predecessor system'), ('tier.upgraded', 'Tier upgraded'), ('tier.downgraded', 'Tier downgraded'), ('coupon.voided', 'Coupon voided (its points given back)'), ('coupon.expired', 'Coupon expired'), ('badge.awarded', 'Badge awarded'), ('badge.revoked', 'Badge taken back')], max_length=40),
        ),
        migrations.CreateModel(
            name='BadgeAward',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('awarded_at', models.DateTimeField()),
                ('awarded_by', models.CharField(max_length=200)),
                ('reason', models.CharField(max_length=200)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_by', models.CharField(blank=True, default='', max_length=200)),
                ('revoke_reason', models.CharField(blank=True, default='', max_length=200)),
                ('badge', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='awards', to='rewards.badge')),
            ],
            options={
                'indexes': [models.Index(fields=['user_id', '-id'], name='badgeaward_user_newest')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('revoked_at__isnull', True)), fields=('user_id', 'badge'), name='badgeaward_held_once'), models.CheckConstraint(condition=models.Q(models.Q(('revoke_reason', ''), ('revoked_at__isnull', True), ('revoked_by', '')), models.Q(('revoked_at__isnull', False), models.Q(('revoked_by', ''), _negated=True), models.Q(('revoke_reason', ''), _negated=True)), _connector='OR'), name='badgeaward_revoked_with_who_and_why')],
            },
        ),
    ]

"""Challenges (audited), each customer's progress per period, the contributions that make it
exact, and completions once per period; the challenge kinds and events."""

import django.db.models.deletion
import pghistory.utils
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0037_audit_badges_and_event_types'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChallengeAudit',
            fields=[
                ('pgh_created_at', models.DateTimeField(auto_now_add=True)),
                ('pgh_label', models.TextField(help_text='The event label.')),
                ('pgh_id', models.BigIntegerField(db_default=models.Func(models.Value('audit_event_id'), function='nextval'), primary_key=True, serialize=False)),
                ('pgh_context', pghistory.utils.JSONField(null=True)),
                ('pgh_context_id', models.UUIDField(null=True)),
                ('id', models.BigIntegerField()),
                ('code', models.SlugField(db_index=False)),
                ('name', models.CharField(max_length=100)),
                ('description', models.CharField(blank=True, default='', max_length=500)),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('active', 'Active'), ('paused', 'Paused'), ('archived', 'Archived')], default='draft', max_length=10)),
                ('starts_at', models.DateTimeField(blank=True, null=True)),
                ('ends_at', models.DateTimeField(blank=True, null=True)),
                ('segment_codes', models.JSONField(blank=True, default=list)),
                ('goal', models.JSONField()),
                ('window', models.JSONField(blank=True, default=dict)),
                ('reward', models.JSONField()),
                ('trigger', models.CharField(choices=[('order', 'An order is recorded'), ('purchase', 'A purchase is recorded'), ('feedback', 'Feedback is submitted'), ('activity', 'An activity is recorded'), ('birthday', "The customer's birthday"), ('referral', "A referred customer's first order")], editable=False, max_length=20)),
                ('created_at', models.DateTimeField(editable=False)),
                ('updated_at', models.DateTimeField(editable=False)),
                ('updated_by', models.CharField(blank=True, editable=False, max_length=150)),
            ],
            options={
                'verbose_name': 'challenge audit entry',
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='ChallengeCompletion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('period_start', models.DateField()),
                ('completed_at', models.DateTimeField()),
                ('stands_at', models.DateTimeField()),
                ('value', models.BigIntegerField()),
                ('source', models.CharField(max_length=10)),
                ('source_id', models.BigIntegerField()),
                ('points', models.BigIntegerField(default=0)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='ChallengeContribution',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('period_start', models.DateField()),
                ('source', models.CharField(max_length=10)),
                ('source_id', models.BigIntegerField()),
                ('occurred_at', models.DateTimeField()),
                ('day', models.DateField()),
                ('amount', models.BigIntegerField()),
                ('taken_back', models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='ChallengeProgress',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('user_id', models.BigIntegerField()),
                ('period_start', models.DateField()),
                ('value', models.BigIntegerField(default=0)),
                ('updated_at', models.DateTimeField()),
            ],
            options={
                'verbose_name_plural': 'challenge progress',
            },
        ),
        migrations.AlterField(
            model_name='event',
            name='type',
            field=models.CharField(choices=[('points.earned', 'Points earned'), ('points.redeemed', 'Points redeemed or taken back'), ('coupon.used', 'Coupon used'), ('order.recorded', 'Order recorded'), ('order.returned', 'Order returned'), ('points.available', 'Pending points became available'), ('points.expired', 'Points expired'), ('points.expiring_soon', 'Points expiring soon'), ('application.revoked', 'Application revoked'), ('points.imported', 'Points imported from a predecessor system'), ('tier.upgraded', 'Tier upgraded'), ('tier.downgraded', 'Tier downgraded'), ('coupon.voided', 'Coupon voided (its points given back)'), ('coupon.expired', 'Coupon expired'), ('coupon.expiring_soon', 'Coupon about to expire'), ('message.sent', 'Message to a customer sent'), ('message.failed', 'Message to a customer failed'), ('segment.award_done', 'A bulk award to a segment credited every member'), ('badge.awarded', 'Badge awarded'), ('badge.revoked', 'Badge taken back'), ('challenge.completed', 'Challenge completed'), ('challenge.cancelled', 'Challenge completion cancelled by a return')], max_length=40),
        ),
        migrations.AlterField(
            model_name='reward',
            name='kind',
            field=models.CharField(choices=[('earn', 'Earned (event or bonus)'), ('purchase', 'Purchase'), ('feedback', 'Feedback'), ('order', 'Order'), ('order_return', 'Order returned'), ('coupon', 'Coupon redemption'), ('donation', 'Donation redemption'), ('adjustment', 'Staff adjustment'), ('release', 'Pending points became available'), ('expiry', 'Points expired'), ('import', 'Imported balance'), ('activity', 'Activity'), ('birthday', 'Birthday'), ('referral', 'Referral'), ('tier', 'Tier award'), ('refund', 'Points given back (a coupon voided or expired)'), ('challenge', 'Challenge completed'), ('challenge_cancel', 'Challenge completion cancelled')], max_length=20),
        ),
        migrations.CreateModel(
            name='Challenge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(unique=True)),
                ('name', models.CharField(max_length=100)),
                ('description', models.CharField(blank=True, default='', max_length=500)),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('active', 'Active'), ('paused', 'Paused'), ('archived', 'Archived')], default='draft', max_length=10)),
                ('starts_at', models.DateTimeField(blank=True, null=True)),
                ('ends_at', models.DateTimeField(blank=True, null=True)),
                ('segment_codes', models.JSONField(blank=True, default=list)),
                ('goal', models.JSONField()),
                ('window', models.JSONField(blank=True, default=dict)),
                ('reward', models.JSONField()),
                ('trigger', models.CharField(choices=[('order', 'An order is recorded'), ('purchase', 'A purchase is recorded'), ('feedback', 'Feedback is submitted'), ('activity', 'An activity is recorded'), ('birthday', "The customer's birthday"), ('referral', "A referred customer's first order")], editable=False, max_length=20)),
                ('created_at', models.DateTimeField(editable=False)),
                ('updated_at', models.DateTimeField(editable=False)),
                ('updated_by', models.CharField(blank=True, editable=False, max_length=150)),
            ],
            options={
                'ordering': ['code'],
                'indexes': [models.Index(condition=models.Q(('status', 'active')), fields=['trigger', 'id'], name='challenge_active')],
                'constraints': [models.CheckConstraint(condition=models.Q(('starts_at__isnull', True), ('ends_at__isnull', True), ('starts_at__lt', models.F('ends_at')), _connector='OR'), name='challenge_starts_before_it_ends')],
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='challenge',
            trigger=pgtrigger.compiler.Trigger(name='audit_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "rewards_challengeaudit" ("code", "created_at", "description", "ends_at", "goal", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reward", "segment_codes", "starts_at", "status", "trigger", "updated_at", "updated_by", "window") VALUES (NEW."code", NEW."created_at", NEW."description", NEW."ends_at", NEW."goal", NEW."id", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'insert\', NEW."id", NEW."reward", NEW."segment_codes", NEW."starts_at", NEW."status", NEW."trigger", NEW."updated_at", NEW."updated_by", NEW."window"); RETURN NULL;', hash='dd1b8b62bd06ec9f356c6a5c986d3371c51b6ff2', operation='INSERT', pgid='pgtrigger_audit_insert_fc466', table='rewards_challenge', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='challenge',
            trigger=pgtrigger.compiler.Trigger(name='audit_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "rewards_challengeaudit" ("code", "created_at", "description", "ends_at", "goal", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reward", "segment_codes", "starts_at", "status", "trigger", "updated_at", "updated_by", "window") VALUES (NEW."code", NEW."created_at", NEW."description", NEW."ends_at", NEW."goal", NEW."id", NEW."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'update\', NEW."id", NEW."reward", NEW."segment_codes", NEW."starts_at", NEW."status", NEW."trigger", NEW."updated_at", NEW."updated_by", NEW."window"); RETURN NULL;', hash='a927199936c92dfc5359b3393a5fbf6410e1727d', operation='UPDATE', pgid='pgtrigger_audit_update_a6fc0', table='rewards_challenge', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='challenge',
            trigger=pgtrigger.compiler.Trigger(name='audit_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "rewards_challengeaudit" ("code", "created_at", "description", "ends_at", "goal", "id", "name", "pgh_context", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "reward", "segment_codes", "starts_at", "status", "trigger", "updated_at", "updated_by", "window") VALUES (OLD."code", OLD."created_at", OLD."description", OLD."ends_at", OLD."goal", OLD."id", OLD."name", COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_metadata\', TRUE), \'\'), NULL)::JSONB, COALESCE(NULLIF(CURRENT_SETTING(\'pghistory.context_id\', TRUE), \'\'), NULL)::UUID, NOW(), \'delete\', OLD."id", OLD."reward", OLD."segment_codes", OLD."starts_at", OLD."status", OLD."trigger", OLD."updated_at", OLD."updated_by", OLD."window"); RETURN NULL;', hash='ac79b1904791b4cd8ab27608ecf9218df315218a', operation='DELETE', pgid='pgtrigger_audit_delete_d93c2', table='rewards_challenge', when='AFTER')),
        ),
        migrations.AddField(
            model_name='challengeaudit',
            name='pgh_obj',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='rewards.challenge'),
        ),
        migrations.AddField(
            model_name='challengecompletion',
            name='badge_award',
            field=models.OneToOneField(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.badgeaward'),
        ),
        migrations.AddField(
            model_name='challengecompletion',
            name='cancel_reward',
            field=models.OneToOneField(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.reward'),
        ),
        migrations.AddField(
            model_name='challengecompletion',
            name='challenge',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='completions', to='rewards.challenge'),
        ),
        migrations.AddField(
            model_name='challengecompletion',
            name='reward',
            field=models.OneToOneField(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.reward'),
        ),
        migrations.AddField(
            model_name='challengecontribution',
            name='challenge',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.challenge'),
        ),
        migrations.AddField(
            model_name='challengeprogress',
            name='challenge',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='rewards.challenge'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='challengeaudit',
            trigger=pgtrigger.compiler.Trigger(name='append_only', sql=pgtrigger.compiler.UpsertTriggerSql(func="RAISE EXCEPTION 'pgtrigger: Cannot update or delete rows from % table', TG_TABLE_NAME;", hash='2ed8b16c5e7fd59d0e8ab278079f52795891a2fe', operation='UPDATE OR DELETE', pgid='pgtrigger_append_only_1c66b', table='rewards_challengeaudit', when='BEFORE')),
        ),
        migrations.AddIndex(
            model_name='challengecompletion',
            index=models.Index(fields=['user_id', 'challenge'], name='challenge_completion_user'),
        ),
        migrations.AddConstraint(
            model_name='challengecompletion',
            constraint=models.UniqueConstraint(condition=models.Q(('cancelled_at__isnull', True)), fields=('challenge', 'user_id', 'period_start'), name='challenge_completed_once_per_period'),
        ),
        migrations.AddIndex(
            model_name='challengecontribution',
            index=models.Index(fields=['challenge', 'user_id', 'period_start', 'day'], name='challenge_contribution_day'),
        ),
        migrations.AddConstraint(
            model_name='challengecontribution',
            constraint=models.UniqueConstraint(fields=('source', 'source_id', 'challenge'), name='challenge_contribution_once'),
        ),
        migrations.AddConstraint(
            model_name='challengecontribution',
            constraint=models.CheckConstraint(condition=models.Q(('taken_back__gte', 0), ('taken_back__lte', models.F('amount'))), name='challenge_contribution_taken_back_within'),
        ),
        migrations.AddIndex(
            model_name='challengeprogress',
            index=models.Index(fields=['user_id'], name='challenge_progress_user'),
        ),
        migrations.AddConstraint(
            model_name='challengeprogress',
            constraint=models.UniqueConstraint(fields=('challenge', 'user_id', 'period_start'), name='challenge_progress_once_per_period'),
        ),
        migrations.AddConstraint(
            model_name='challengeprogress',
            constraint=models.CheckConstraint(condition=models.Q(('value__gte', 0)), name='challenge_progress_not_negative'),
        ),
    ]

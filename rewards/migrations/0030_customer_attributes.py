"""Customer attributes: a flat object per customer (text, numbers, booleans) that segments select on."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0028_message_outbox'),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerAttributes',
            fields=[
                ('user_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('attributes', models.JSONField(default=dict)),
                ('updated_at', models.DateTimeField()),
            ],
            options={
                'verbose_name_plural': 'customer attributes',
            },
        ),
    ]

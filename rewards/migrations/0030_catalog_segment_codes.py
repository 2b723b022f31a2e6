"""A catalog item may be limited to the members of segments (segment_codes; empty: everyone)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0030_segment_awards'),
    ]

    operations = [
        migrations.AddField(
            model_name='catalogitem',
            name='segment_codes',
            field=models.JSONField(blank=True, db_default=[], default=list),
        ),
    ]

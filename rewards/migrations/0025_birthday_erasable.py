"""A birthday's date may be erased (with the customer's personal data) while the row keeps
``awarded_year``, so a birthday set again earns nothing more in a year already awarded."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0023_coupon_functions'),
    ]

    operations = [
        migrations.AlterField(
            model_name='birthday',
            name='day',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='birthday',
            name='month',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name='birthday',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('day__isnull', True), ('month__isnull', True)), models.Q(('day__isnull', False), ('month__isnull', False)), _connector='OR'), name='birthday_date_whole_or_erased'),
        ),
    ]

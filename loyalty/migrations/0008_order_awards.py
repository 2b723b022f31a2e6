"""Orders earn through earning rules: each rule's award is its own ledger row (``OrderAward``),
replacing the order's one ``reward``; orders may carry items and a channel; applications may
manage the program (``Can_Manage_Program``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0007_adjustment_submissions"),
        ("rewards", "0015_ledger_functions"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="breakdown",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="order",
            name="channel",
            field=models.CharField(blank=True, default="", max_length=50),
        ),
        migrations.AddField(
            model_name="order",
            name="items",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="application",
            name="access_level",
            field=models.CharField(
                choices=[
                    ("Can_Read", "Can read balances and history"),
                    ("Can_Modify_Orders", "Can change points (orders, earn, redeem)"),
                    ("MasterApp", "Manages applications only"),
                    ("Can_Manage_Program", "Manages the program: rules, tiers, catalog, reports"),
                ],
                max_length=20,
            ),
        ),
        migrations.CreateModel(
            name="OrderAward",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
                ("points", models.BigIntegerField()),
                (
                    "credit",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="rewards.reward"
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="awards", to="loyalty.order"
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        # Every order recorded so far had one credit: it becomes the order's one award.
        migrations.RunSQL(
            "INSERT INTO loyalty_orderaward (order_id, credit_id, user_id, points)"
            " SELECT order_id, reward_id, user_id, points_awarded FROM loyalty_order"
            " WHERE reward_id IS NOT NULL ORDER BY order_id",
            "UPDATE loyalty_order o SET reward_id = a.credit_id FROM loyalty_orderaward a WHERE a.order_id = o.order_id;"
            " DELETE FROM loyalty_orderaward",
        ),
        migrations.RemoveField(
            model_name="order",
            name="reward",
        ),
    ]

"""The base points policy as three active earning rules, from the settings that held it until now
(ORDER_POINTS_RATE, PURCHASE_POINTS_PER_UNIT, FEEDBACK_POINTS), so every figure stays what it was:
an order of 2000 gives 100 points, a purchase of $10.00 gives 20, feedback gives 10. They run
first (priority 0); staff change them like any rule. A setting of 0 seeds no rule."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BY = "the base policy (migration)"


def base_rules() -> list[dict]:
    rules = []
    if settings.ORDER_POINTS_RATE > 0:
        rules.append(
            {
                "name": "Points for orders",
                "trigger": "order",
                "effect": {"type": "rate", "value": str(settings.ORDER_POINTS_RATE)},
            }
        )
    if settings.PURCHASE_POINTS_PER_UNIT > 0:
        rules.append(
            {
                "name": "Points for purchases",
                "trigger": "purchase",
                "effect": {"type": "rate", "value": str(settings.PURCHASE_POINTS_PER_UNIT)},
            }
        )
    if settings.FEEDBACK_POINTS > 0:
        rules.append(
            {
                "name": "Points for feedback",
                "trigger": "feedback",
                "effect": {"type": "fixed", "points": settings.FEEDBACK_POINTS},
            }
        )
    return rules


def seed(apps, schema_editor) -> None:
    Rule = apps.get_model("rewards", "Rule")
    RuleVersion = apps.get_model("rewards", "RuleVersion")
    now = timezone.now()
    for fields in base_rules():
        definition = {
            "activity_name": "",
            "status": "active",
            "starts_at": None,
            "ends_at": None,
            "priority": 0,
            "exclusive": False,
            "conditions": [],
            "caps": {},
            "pending_days": None,
            "validity_days": None,
            **fields,
        }
        rule = Rule.objects.create(**definition, version=1, created_at=now, updated_at=now, updated_by=BY)
        RuleVersion.objects.create(rule=rule, version=1, definition=definition, created_at=now, created_by=BY)


def unseed(apps, schema_editor) -> None:
    Rule = apps.get_model("rewards", "Rule")
    RuleVersion = apps.get_model("rewards", "RuleVersion")
    seeded = Rule.objects.filter(updated_by=BY, version=1)
    RuleVersion.objects.filter(rule__in=seeded).delete()
    seeded.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0017_program_functions"),
    ]

    operations = [migrations.RunPython(seed, unseed)]

from decimal import Decimal

from django.db import migrations

# The four options of the rewards page (seed 000).
DEFAULT_CATALOG = [
    ("coupon", 50, Decimal("5.00"), "$5 coupon"),
    ("coupon", 100, Decimal("10.00"), "$10 coupon"),
    ("donation", 50, Decimal("5.00"), "$5 charity donation"),
    ("donation", 100, Decimal("10.00"), "$10 charity donation"),
]


def add_default_catalog(apps, schema_editor):
    CatalogItem = apps.get_model("rewards", "CatalogItem")
    for kind, points, amount, description in DEFAULT_CATALOG:
        CatalogItem.objects.get_or_create(
            kind=kind, points_cost=points, amount=amount, defaults={"description": description}
        )


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]

    operations = [migrations.RunPython(add_default_catalog, migrations.RunPython.noop)]

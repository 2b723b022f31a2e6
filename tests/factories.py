from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from loyalty.models import AccessLevel, Application
from loyalty.services import application_create, order_coefficient
from rewards.models import CatalogItem, Rule, RuleTrigger
from rewards.program.engine import ProgramEvent, points_wanted


class ApplicationFactory(DjangoModelFactory[Application]):
    """An application made by the real service; the raw token is on ``app.token``."""

    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"app-{n}")
    access_level = AccessLevel.CAN_MODIFY_ORDERS

    @classmethod
    def _create(cls, model_class, *args, name: str, access_level: str, **kwargs) -> Application:
        if access_level == AccessLevel.MASTER_APP:
            from loyalty.services import master_app_ensure

            app, token, _ = master_app_ensure(name=name)
        else:
            issued = application_create(name=name, access_level=access_level)
            app, token = issued.app, issued.token
        app.token = token
        return app


class CatalogItemFactory(DjangoModelFactory[CatalogItem]):
    class Meta:
        model = CatalogItem

    kind = "coupon"
    points_cost = factory.Sequence(lambda n: 1000 + n)
    amount = Decimal("25.00")
    description = factory.LazyAttribute(lambda o: f"{o.amount} {o.kind}")


def base_order_points(*, total_cost: int, placed: int, returned: int) -> int:
    """What the seeded base order rule (rate 0.05) asks for an order, by the rules' own
    arithmetic: floor(total_cost x 0.05 x the penalty coefficient)."""
    rule = Rule(trigger=RuleTrigger.ORDER, effect={"type": "rate", "value": "0.05"}, caps={}, conditions=[])
    event = ProgramEvent(
        trigger=RuleTrigger.ORDER,
        user_id=1,
        occurred_at=timezone.now(),
        money=Decimal(total_cost),
        coefficient=order_coefficient(placed=placed, returned=returned),
    )
    return points_wanted(rule, event, rate_points=0)


def base_purchase_points(amount: Decimal) -> int:
    """What the seeded base purchase rule (rate 2) asks for a purchase."""
    rule = Rule(trigger=RuleTrigger.PURCHASE, effect={"type": "rate", "value": "2"}, caps={}, conditions=[])
    event = ProgramEvent(trigger=RuleTrigger.PURCHASE, user_id=1, occurred_at=timezone.now(), money=amount)
    return points_wanted(rule, event, rate_points=0)

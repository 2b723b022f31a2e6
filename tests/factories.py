from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from loyalty.models import AccessLevel, Application
from loyalty.services import application_create
from rewards.models import CatalogItem


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

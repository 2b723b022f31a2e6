"""Small helpers shared by the API views of both apps."""

from typing import Any

from django.conf import settings
from rest_framework import serializers


def validated(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict[str, Any]:
    """Validate input or raise DRF's ValidationError (answered as a 400 by the error handler)."""
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def points_text(points: int) -> str:
    """ "1 point", "2,500 points": the unit of every message about points."""
    return f"{points:,} point" if points == 1 else f"{points:,} points"


def money_text(amount) -> str:
    """An amount in the shop's currency, as messages show it ("$5.00")."""
    return f"{settings.CURRENCY_SYMBOL}{amount:,.2f}"

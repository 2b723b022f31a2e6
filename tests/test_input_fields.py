"""An input serializer's fields are copied per instance by ``core.fields.unbound_copy``, not by
DRF's deep copy: each copy must be the field DRF's copy would be, and belong to its instance only."""

import copy
from typing import Any

import pytest
from rest_framework import serializers

from core.fields import Input, unbound_copy
from loyalty.serializers import CustomerSessionInput, OrderCreateInput
from rewards.serializers import EarnPointsInput


def every_input() -> list[type[Input]]:
    import loyalty.serializers  # noqa: F401 - every input class, declared
    import rewards.serializers  # noqa: F401

    found, pending = [], [Input]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [cls for cls in found if cls._declared_fields]


def settings_of(field: serializers.Field) -> dict[str, Any]:
    """What a field is, compared by value: its validators by kind, bound and message."""
    state = dict(vars(field))
    state.pop("_creation_counter")  # the order of declaration, renumbered by every copy
    state["_kwargs"] = repr(state["_kwargs"])  # a list's child: a deep copy, compared by what it shows
    state["_validators"] = [
        (type(v), getattr(v, "limit_value", None), str(getattr(v, "message", ""))) for v in field.validators
    ]
    state["error_messages"] = {key: str(value) for key, value in field.error_messages.items()}
    for key, value in state.items():
        if isinstance(value, serializers.Field):  # a list's child, deep-copied as DRF does
            state[key] = type(value)
    return state


@pytest.mark.parametrize("input_class", every_input(), ids=lambda cls: cls.__name__)
def test_each_copy_is_what_a_deep_copy_would_be(input_class):
    for name, declared in input_class._declared_fields.items():
        assert settings_of(unbound_copy(declared)) == settings_of(copy.deepcopy(declared)), name


def test_a_copy_is_its_instance_s_own():
    first, second = EarnPointsInput(data={}), EarnPointsInput(data={})
    declared = EarnPointsInput._declared_fields["points_earned"]

    first_field, second_field = first.fields["points_earned"], second.fields["points_earned"]
    first_field.validators.append(lambda value: None)

    assert first_field is not second_field and first_field is not declared
    assert first_field.parent is first and second_field.parent is second
    assert declared.parent is None and declared.field_name is None
    assert len(first_field.validators) == len(second_field.validators) + 1 == len(declared.validators) + 1
    assert first_field.error_messages is not declared.error_messages


def test_validation_through_the_copies_is_as_strict(settings):
    too_many = EarnPointsInput(data={"user_id": 0, "points_earned": 10**12, "reward_description": " "})
    settings.CUSTOMER_SESSION_TTL_SECONDS = 60
    session = CustomerSessionInput(data={"user_id": 1, "ttl_seconds": 61})
    order = OrderCreateInput(
        data={"user_id": 1, "order_id": 2, "total_cost": 3, "completed_at": 4, "items": [{"sku": "a", "quantity": 0}]}
    )

    assert not too_many.is_valid()
    assert {key: [str(e) for e in errors] for key, errors in too_many.errors.items()} == {
        "user_id": ["Ensure this value is greater than or equal to 1."],
        "points_earned": ["Ensure this value is less than or equal to 1000000000."],
        "reward_description": ["This field may not be blank."],
    }
    assert not session.is_valid()
    assert [str(e) for e in session.errors["ttl_seconds"]] == ["Ensure this value is less than or equal to 60."]
    assert not order.is_valid()
    assert order.errors["items"] == {
        0: {"quantity": ["Ensure this value is greater than or equal to 1."], "price": ["This field is required."]}
    }

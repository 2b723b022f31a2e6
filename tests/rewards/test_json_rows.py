"""The write path's reads of the program as JSON (rewards/json_rows.py): the active rules and
challenges come back exactly as the ORM loads them, in the order they run; and a redemption's
code draw."""

import string
from datetime import UTC, datetime

import pytest

from rewards.models import Challenge, Rule
from rewards.services.challenges import challenges_active
from rewards.services.ledger import item_code_generate
from rewards.services.program import event_program, rules_active

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 3, 4, 5, 6, 7, 120000, tzinfo=UTC)  # a fraction of a second, trailing zeros


def fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def rule(name: str, *, priority: int, status: str = "active", **extra) -> Rule:
    return Rule.objects.create(
        name=name,
        trigger="order",
        status=status,
        priority=priority,
        effect={"type": "rate", "rate": 1.5, "per": [1, "2.50"]},
        conditions=[{"field": "total_cost", "op": "gte", "value": 10.25}],
        created_at=MOMENT,
        updated_at=MOMENT,
        **extra,
    )


def test_the_active_rules_read_as_json_are_the_rows_the_orm_loads_in_the_order_they_run():
    late = rule("late", priority=20, starts_at=MOMENT, validity_days=30, caps={"per_customer": {"points": 5}})
    first = rule("first", priority=10, ends_at=datetime(2999, 1, 1, tzinfo=UTC), pending_days=0, exclusive=True)
    tie = rule("tie", priority=20)
    rule("draft", priority=1, status="draft")

    read = rules_active("order")

    # (the migrations' base order rule is among them)
    assert [r.pk for r in read if r.pk in (first.pk, late.pk, tie.pk)] == [first.pk, late.pk, tie.pk]
    orm = Rule.objects.filter(trigger="order", status="active").order_by("priority", "id")
    assert [fields(r) for r in read] == [fields(r) for r in orm]
    late_read = next(r for r in read if r.pk == late.pk)
    first_read = next(r for r in read if r.pk == first.pk)
    assert late_read.starts_at == MOMENT and late_read.starts_at.utcoffset().total_seconds() == 0
    assert first_read.effect["rate"] == 1.5 and first_read.conditions[0]["value"] == 10.25
    assert all(not r._state.adding and r._state.db == "default" for r in read)
    Rule.objects.filter(trigger="order").update(status="archived")
    assert rules_active("order") == []


def test_the_active_challenges_read_as_json_are_the_rows_the_orm_loads():
    def challenge(code: str, status: str = "active", **extra) -> Challenge:
        return Challenge.objects.create(
            code=code,
            name=code.title(),
            status=status,
            trigger="order",
            goal={"metric": "orders", "target": 3},
            window={"period": "month"},
            reward={"points": 7},
            created_at=MOMENT,
            updated_at=MOMENT,
            **extra,
        )

    second = challenge("zeta", segment_codes=["vip"], starts_at=MOMENT)
    first = challenge("alpha")
    challenge("archived", status="archived")

    read = challenges_active("order")

    assert [c.pk for c in read] == [second.pk, first.pk]  # by id, as challenges_active runs them
    assert [fields(c) for c in read] == [fields(Challenge.objects.get(pk=c.pk)) for c in (second, first)]

    program = event_program("order")
    assert [fields(r) for r in program.rules] == [fields(r) for r in rules_active("order")]
    assert [c.pk for c in program.challenges] == [second.pk, first.pk]
    assert program.ladder is None


def test_a_redemption_code_is_sixteen_characters_of_a_to_z_and_digits_every_one_drawn():
    codes = [item_code_generate() for _ in range(5000)]

    assert {len(code) for code in codes} == {16}
    assert set("".join(codes)) == set(string.ascii_uppercase + string.digits)
    assert len(set(codes)) == len(codes)

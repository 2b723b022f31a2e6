"""The rules' language is written once (rewards/program/language.py): the admin form, the
validator and the engine read its condition fields, ops and triggers, and no other module of
the project spells them."""

import ast
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from core.exceptions import InvalidInput
from rewards.forms import FIELD_LABELS, OP_LABELS, PROPERTY, RuleAdminForm
from rewards.models import RuleTrigger
from rewards.program import language
from rewards.program.engine import EventItem, ProgramEvent, condition_holds
from rewards.program.validate import RULE, rule_validated
from rewards.services.ledger import kind_pending_days

ROOT = Path(__file__).resolve().parent.parent.parent
MONDAY = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _rule(trigger: str, condition: dict) -> dict:
    effect = {"type": "fixed", "points": 5, **({"role": "referrer"} if trigger == RuleTrigger.REFERRAL else {})}
    return {
        "name": "R",
        "trigger": trigger,
        "activity_name": "photo" if trigger == RuleTrigger.ACTIVITY else "",
        "effect": effect,
        "conditions": [condition],
    }


def test_the_triggers_are_the_models_and_each_says_what_its_events_carry():
    assert set(language.TRIGGERS) == set(RuleTrigger.values)
    assert set(RULE.fields["trigger"].choices) == set(RuleTrigger.values)
    assert {"order", "referral"} == language.ORDER_TRIGGERS
    assert {"order", "referral", "purchase"} == language.RATE_TRIGGERS
    assert {name: spec.entry_field for name, spec in language.TRIGGERS.items()} == {
        "order": "total_cost",
        "referral": "total_cost",
        "purchase": "amount",
        "feedback": "points",
        "birthday": "points",
        "activity": "properties",
    }


def test_the_ledger_waits_an_orders_days_for_the_credits_of_the_order_triggers(settings):
    settings.ORDER_POINTS_PENDING_DAYS, settings.CREDIT_PENDING_DAYS = 14, {"purchase": 3}
    assert {kind: kind_pending_days(kind) for kind in (*language.ORDER_TRIGGERS, "purchase", "feedback")} == {
        "order": 14,
        "referral": 14,
        "purchase": 3,
        "feedback": 0,
    }


def test_the_admin_form_offers_the_languages_fields_and_ops_in_its_words():
    form = RuleAdminForm()
    offered = [value for value, _ in form.fields["condition_1_field"].choices if value]
    assert offered == [*language.FIELDS, PROPERTY]
    assert {
        **{name: spec.label for name, spec in language.FIELDS.items()},
        PROPERTY: language.PROPERTIES_SPEC.label,
    } == FIELD_LABELS
    assert [value for value, _ in form.fields["condition_1_op"].choices if value] == list(language.OPS)
    assert OP_LABELS["gte"] == "is at least" and OP_LABELS["not_in"] == "is none of (a, b, …)"


@pytest.mark.parametrize("name", [*language.FIELDS, "properties.stars"])
def test_the_validator_takes_each_field_on_exactly_the_triggers_the_language_gives_it(name):
    spec = language.field_spec(name)
    value = "x" if spec.kind == language.TEXT else 3
    accepted = set()
    for trigger in RuleTrigger.values:
        try:
            rule_validated(_rule(trigger, {"field": name, "op": "eq", "value": value}))
            accepted.add(trigger)
        except InvalidInput as error:
            assert error.fields == {
                "conditions": [
                    f"0: field: {name} is not a field of {trigger} events (it is of: "
                    f"{', '.join(sorted(spec.triggers))})."
                ]
            }
    assert accepted == spec.triggers


def test_the_validator_names_the_languages_fields_and_ops_when_refusing_others():
    with pytest.raises(InvalidInput) as unknown:
        rule_validated(_rule("order", {"field": "colour", "op": "eq", "value": "red"}))
    known = ", ".join([*language.FIELDS, "properties.<name>"])
    assert unknown.value.fields == {"conditions": [f"0: field: Unknown field 'colour'; the fields are: {known}."]}
    assert list(RULE.fields["conditions"].child.fields["op"].choices) == list(language.OPS)
    with pytest.raises(InvalidInput) as weekday:
        rule_validated(_rule("order", {"field": "weekday", "op": "eq", "value": 8}))
    assert weekday.value.fields == {"conditions": ["0: value: A weekday is 1 (Monday) to 7 (Sunday)."]}


def test_the_engine_reads_every_field_where_the_language_says_it_is():
    item = EventItem(sku="A-1", category="shoes", quantity=2, price=30)
    order = ProgramEvent(
        trigger="order",
        user_id=1,
        occurred_at=MONDAY,
        money=Decimal("120.00"),
        channel="web",
        items=(item,),
        orders_placed=4,
        tier="gold",
    )
    purchase = ProgramEvent(trigger="purchase", user_id=1, occurred_at=MONDAY, money=Decimal("9.50"))
    activity = ProgramEvent(
        trigger="activity", user_id=1, occurred_at=MONDAY, activity_name="photo", properties={"stars": 5}
    )
    wanted = {
        "total_cost": (order, 120),
        "amount": (purchase, Decimal("9.5")),
        "channel": (order, "web"),
        "item.sku": (order, "A-1"),
        "item.category": (order, "shoes"),
        "customer.orders_placed": (order, 4),
        "customer.tier": (order, "gold"),
        "weekday": (order, 1),
    }
    assert set(wanted) == set(language.FIELDS)
    for name, (event, value) in wanted.items():
        assert condition_holds({"field": name, "op": "eq", "value": value}, event), name
        assert not condition_holds({"field": name, "op": "ne", "value": value}, event), name
    # An event of another trigger has no money of this one: only the negated ops hold.
    assert not condition_holds({"field": "total_cost", "op": "gte", "value": 0}, purchase)
    assert condition_holds({"field": "amount", "op": "not_in", "value": [0]}, order)
    assert condition_holds({"field": "properties.stars", "op": "gt", "value": 4}, activity)
    assert not condition_holds({"field": "properties.stars", "op": "in", "value": [1, 2]}, activity)


def _literals(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_other_module_spells_the_fields_ops_or_their_words():
    """Words only the language has: the dotted fields, the ops that are not plain English, and
    every label the admin form shows."""
    own = {
        *(name for name in language.FIELDS if "." in name),
        *(op for op in language.OPS if op not in ("in", "eq", "ne", "gt", "lt")),
        *(spec.label for spec in language.FIELDS.values()),
        *(spec.words for spec in language.OP_SPECS.values() if " " in spec.words),
    }
    home = ROOT / "rewards" / "program" / "language.py"
    assert own <= _literals(home)
    spelt_elsewhere = {
        str(path.relative_to(ROOT)): sorted(own & _literals(path))
        for package in ("rewards", "loyalty", "core")
        for path in (ROOT / package).rglob("*.py")
        if path != home and "migrations" not in path.parts and own & _literals(path)
    }
    assert spelt_elsewhere == {}

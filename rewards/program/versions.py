"""Rule versions: a rule's definition as JSON holds it, and the version each change makes.

Every change to a rule makes a new version, kept whole in ``RuleVersion``; an award names the
version that made it. An edit that changes nothing makes none. The callers
(``rewards.services.program``) hold the rule's row lock and the transaction.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rewards.models import Rule, RuleVersion
from rewards.shapes import iso

# What a rule's definition holds: what the API takes, a version keeps and an edit starts from.
RULE_FIELDS = (
    "name",
    "trigger",
    "activity_name",
    "status",
    "starts_at",
    "ends_at",
    "priority",
    "exclusive",
    "conditions",
    "effect",
    "caps",
    "pending_days",
    "validity_days",
)


def rule_definition(rule: Rule) -> dict[str, Any]:
    """A rule's definition as JSON holds it: what a version keeps and an edit starts from."""
    definition = {name: getattr(rule, name) for name in RULE_FIELDS}
    definition["starts_at"], definition["ends_at"] = iso(rule.starts_at), iso(rule.ends_at)
    return definition


def version_record(rule: Rule, *, by: str) -> None:
    """Keep the rule's current version whole."""
    RuleVersion.objects.create(
        rule=rule, version=rule.version, definition=rule_definition(rule), created_at=rule.updated_at, created_by=by
    )


def first_version(validated: Mapping[str, Any], *, by: str, now: datetime) -> Rule:
    """A new rule at version 1, saved with its version."""
    rule = Rule(**validated, version=1, created_at=now, updated_at=now, updated_by=by)
    rule.save()
    version_record(rule, by=by)
    return rule


def next_version(rule: Rule, validated: Mapping[str, Any], *, by: str, now: datetime) -> Rule:
    """The rule with ``validated`` applied: a new version when its definition changed, else the
    rule as it was (no version, nothing saved)."""
    before = rule_definition(rule)
    for name, value in validated.items():
        setattr(rule, name, value)
    if rule_definition(rule) == before:
        return rule
    rule.version += 1
    rule.updated_at = now
    rule.updated_by = by
    rule.save()
    version_record(rule, by=by)
    return rule

"""The earning rule form staff fill in in admin: plain fields for the effect, the caps and up to
five conditions, turned into the rule definition the API takes and checked by the same
grammar (``rewards.program.validate``), so a rule saved here is exactly one the API would accept.
The tier ladder's and the catalog's forms likewise check with the API's grammar of each."""

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone

from core.exceptions import InvalidInput
from core.limits import MAX_BIGINT
from core.validation import has_visible_character
from rewards.errors import BadgeAlreadyHeld
from rewards.models import (
    Badge,
    BadgeAward,
    CapPeriod,
    CatalogItem,
    Challenge,
    RewardKind,
    Rule,
    RuleStatus,
    RuleTrigger,
    Segment,
    Tier,
    TierChange,
    TierLadder,
)
from rewards.program import language
from rewards.program.validate import rule_validated
from rewards.program.versions import RULE_FIELDS
from rewards.segments.language import segment_validated
from rewards.services.badges import BADGE_FIELDS, badge_validated
from rewards.services.catalog import catalog_item_validated
from rewards.services.challenges import CHALLENGE_KEYS, challenge_validated
from rewards.tiers import DEFAULT_QUALIFYING_KINDS, QUALIFIABLE_KINDS, ladder_validated

CONDITION_ROWS = 5
PROPERTY = "properties"

# The form's words for each op and condition field are the language's own.
OP_WORDS = {op: spec.words for op, spec in language.OP_SPECS.items()}
# A list is typed with commas between its values, as the label shows.
OP_LABELS = {op: f"{words} (a, b, …)" if op in language.LIST_OPS else words for op, words in OP_WORDS.items()}
# The condition fields, then an activity's property.
FIELD_LABELS = {
    **{name: spec.label for name, spec in language.FIELDS.items()},
    PROPERTY: language.PROPERTIES_SPEC.label,
}
EFFECT_LABELS = {
    "rate": "Points per unit of money spent",
    "fixed": "A fixed number of points",
    "multiplier": "Multiply the event's points-per-money awards",
}


def add_refusal(form: forms.BaseForm, error: InvalidInput) -> None:
    """A service's refusal on the form: each message on its field when the form has one, else
    at the top of the form."""
    for field, messages in error.fields.items():
        form.add_error(field if field in form.fields else None, messages)


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value_text(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _value_parsed(text: str, *, field: str, op: str) -> Any:
    """What staff typed, as the definition holds it: numbers as numbers (for number fields and
    properties), true/false for properties, a list for "one of"."""
    if op in language.LIST_OPS:
        return [_value_parsed(part.strip(), field=field, op="eq") for part in text.split(",") if part.strip()]
    spec = language.field_spec(field)
    if spec is not None and spec.kind != language.TEXT:
        if spec.kind == language.ANY and text in ("true", "false"):
            return text == "true"
        try:
            return Decimal(text)
        except InvalidOperation:
            if spec.kind == language.NUMBER:
                return text  # the validator says it must be a number
    return text


# ---- a rule in words: the list's columns and each saved version ---------------------------------


def award_text(effect: dict[str, Any]) -> str:
    """ "50 points", "x2", "0.05 per unit of matching items" (and whose award, for referrals)."""
    if effect["type"] == "fixed":
        text = f"{effect['points']} points"
    elif effect["type"] == "multiplier":
        text = f"x{effect['value']}"
    else:
        text = f"{effect['value']} per unit{' of matching items' if effect.get('scope') else ''}"
    return f"{text}, to the {effect['role']}" if effect.get("role") else text


def caps_text(caps: dict[str, Any]) -> str:
    """ "100 per customer a month, budget 5000", or "—"."""
    parts = []
    if "per_event" in caps:
        parts.append(f"{caps['per_event']} per event")
    if "per_customer" in caps:
        period = caps.get("period", "ever")
        parts.append(f"{caps['per_customer']} per customer{'' if period == 'ever' else f' a {period}'}")
    if "budget" in caps:
        parts.append(f"budget {caps['budget']}")
    return ", ".join(parts) or "—"


def condition_text(condition: dict[str, Any]) -> str:
    """A condition as the form words it: "Order total is at least 100"."""
    field = condition["field"]
    if field.startswith(language.PROPERTIES_PREFIX):
        subject = f"Property '{field[len(language.PROPERTIES_PREFIX) :]}'"
    else:
        subject = FIELD_LABELS.get(field, field)
    return f"{subject} {OP_WORDS.get(condition['op'], condition['op'])} {_value_text(condition['value'])}"


def _moment_text(value: str | None) -> str | None:
    return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M} UTC" if value else None


def rule_in_words(definition: dict[str, Any]) -> dict[str, list[str]]:
    """A rule's definition (as a version keeps it) in the form's words, part by part."""
    trigger = RuleTrigger(definition["trigger"]).label
    if definition.get("activity_name"):
        trigger += f" ({definition['activity_name']})"
    dates = [
        text
        for text in (
            _moment_text(definition.get("starts_at")) and f"from {_moment_text(definition['starts_at'])}",
            _moment_text(definition.get("ends_at")) and f"until {_moment_text(definition['ends_at'])}",
        )
        if text
    ]
    running = [
        f"priority {definition.get('priority', 100)}",
        *(["exclusive"] if definition.get("exclusive") else []),
        *dates,
    ]
    lots = [
        f"{label} {definition[key]} days"
        for key, label in (("pending_days", "pending"), ("validity_days", "valid"))
        if definition.get(key) is not None
    ]
    return {
        "rule": [definition["name"], f"{trigger}, {RuleStatus(definition['status']).label.lower()}", *running],
        "award": [award_text(definition["effect"])],
        "conditions": [condition_text(condition) for condition in definition.get("conditions") or []] or ["always"],
        "caps": [caps_text(definition.get("caps") or {})],
        "lots": lots or ["as the settings say"],
    }


# The rule's own fields the form edits as they are; effect, caps and conditions are built.
MODEL_FIELDS = tuple(name for name in RULE_FIELDS if name not in ("conditions", "effect", "caps"))


class RuleAdminForm(forms.ModelForm):
    effect_type = forms.ChoiceField(label="Kind of award", choices=EFFECT_LABELS.items())
    effect_value = forms.CharField(
        label="Rate or multiplier",
        required=False,
        help_text="Points per unit of money (0.05 gives 5 points for 100), or the multiplier (2 doubles).",
    )
    effect_points = forms.IntegerField(label="Points", required=False, min_value=1, help_text="For a fixed award.")
    effect_matching_items = forms.BooleanField(
        label="Only the matching items",
        required=False,
        help_text="A rate on orders: of the price x quantity of the items the item conditions match.",
    )
    effect_role = forms.ChoiceField(
        label="Referral role",
        required=False,
        choices=[("", "—"), *((role, role) for role in language.REFERRAL_ROLES)],
        help_text="Referral rules: whose award this is.",
    )
    cap_per_event = forms.IntegerField(label="At most per event", required=False, min_value=1)
    cap_per_customer = forms.IntegerField(label="At most per customer", required=False, min_value=1)
    cap_period = forms.ChoiceField(
        label="…per", required=False, choices=[("", "—"), *CapPeriod.choices], help_text="Default: ever."
    )
    cap_budget = forms.IntegerField(label="Budget (all customers, ever)", required=False, min_value=1)
    # The version the form was opened at: saving over a newer one is refused, so one staff
    # user never undoes another's edit made meanwhile.
    from_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Rule
        fields = MODEL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.update(self._initial_from(self.instance), from_version=self.instance.version)

    @staticmethod
    def _initial_from(rule: Rule) -> dict[str, Any]:
        effect, caps = rule.effect, rule.caps
        initial = {
            "effect_type": effect["type"],
            "effect_value": effect.get("value", ""),
            "effect_points": effect.get("points"),
            "effect_matching_items": effect.get("scope") == language.RATE_SCOPE_MATCHING_ITEMS,
            "effect_role": effect.get("role", ""),
            **{f"cap_{key}": caps.get(key) for key in language.CAP_KEYS},
        }
        for row, condition in enumerate(rule.conditions, start=1):
            field = condition["field"]
            is_property = field.startswith(language.PROPERTIES_PREFIX)
            initial[f"condition_{row}_field"] = PROPERTY if is_property else field
            initial[f"condition_{row}_property"] = field[len(language.PROPERTIES_PREFIX) :] if is_property else ""
            initial[f"condition_{row}_op"] = condition["op"]
            initial[f"condition_{row}_value"] = _value_text(condition["value"])
        return initial

    def definition(self) -> dict[str, Any]:
        """The rule as the API takes it, from what staff filled in."""
        data = self.cleaned_data
        effect: dict[str, Any] = {"type": data["effect_type"]}
        if data["effect_type"] == "fixed":
            effect["points"] = data.get("effect_points")
        else:
            effect["value"] = (data.get("effect_value") or "").strip()
        if data.get("effect_matching_items"):
            effect["scope"] = language.RATE_SCOPE_MATCHING_ITEMS
        if data.get("effect_role"):
            effect["role"] = data["effect_role"]
        caps = {key: data[f"cap_{key}"] for key in language.CAP_KEYS if data.get(f"cap_{key}") not in (None, "")}
        conditions = []
        for row in range(1, CONDITION_ROWS + 1):
            field = data.get(f"condition_{row}_field")
            if not field:
                continue
            if field == PROPERTY:
                field = language.PROPERTIES_PREFIX + data.get(f"condition_{row}_property", "").strip()
            op = data.get(f"condition_{row}_op") or "eq"
            conditions.append(
                {"field": field, "op": op, "value": _value_parsed(data[f"condition_{row}_value"], field=field, op=op)}
            )
        return {
            **{name: data.get(name) for name in MODEL_FIELDS},
            "activity_name": data.get("activity_name") or "",
            "conditions": conditions,
            "effect": effect,
            "caps": caps,
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        opened_at = cleaned.get("from_version")
        if self.instance.pk and opened_at is not None and opened_at != self.instance.version:
            self.add_error(
                None,
                f"This rule was changed since you opened it (it is now version {self.instance.version}, by "
                f"{self.instance.updated_by}): open it again and make your change there.",
            )
            return cleaned
        definition = self.definition()
        for name in ("starts_at", "ends_at"):
            if definition[name] is not None:
                definition[name] = definition[name].isoformat()
        self.rule_definition = definition  # what save_model hands to the service
        try:
            rule_validated(definition)
        except InvalidInput as error:
            for key, messages in error.fields.items():
                if key in self.fields:
                    self.add_error(key, messages)
                elif key == "conditions":  # "0: field: ..." is the form's condition 1
                    self.add_error(None, [re.sub(r"^(\d+): ", _condition_row, message) for message in messages])
                else:
                    self.add_error(None, [f"{key.capitalize()}: {message}" for message in messages])
        return cleaned


def _condition_fields(row: int) -> dict[str, forms.Field]:
    return {
        f"condition_{row}_field": forms.ChoiceField(
            label=f"Condition {row}", required=False, choices=[("", "—"), *FIELD_LABELS.items()]
        ),
        f"condition_{row}_property": forms.CharField(
            label=f"Condition {row}'s property name",
            required=False,
            max_length=50,
            widget=forms.TextInput(attrs={"placeholder": "property name"}),
        ),
        f"condition_{row}_op": forms.ChoiceField(
            label=f"Condition {row}'s operator", required=False, choices=[("", "—"), *OP_LABELS.items()]
        ),
        f"condition_{row}_value": forms.CharField(
            label=f"Condition {row}'s value",
            required=False,
            max_length=1000,
            widget=forms.TextInput(attrs={"placeholder": "value"}),
        ),
    }


# The condition rows are declared fields like the others (admin's fieldsets name them).
for _row in range(1, CONDITION_ROWS + 1):
    for _name, _field in _condition_fields(_row).items():
        RuleAdminForm.base_fields[_name] = RuleAdminForm.declared_fields[_name] = _field


def _condition_row(match: re.Match) -> str:
    return f"Condition {int(match.group(1)) + 1}: "


# ---- tiers ----------------------------------------------------------------------------------------


class TierAdminForm(forms.ModelForm):
    """One tier of the ladder, its benefits one per line."""

    benefits_text = forms.CharField(
        label="Benefits (one per line)", required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 30})
    )

    class Meta:
        model = Tier
        fields = ["code", "name", "entry_points", "retain_points", "multiplier"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["benefits_text"].initial = "\n".join(self.instance.benefits or [])

    def tier_definition(self) -> dict[str, Any]:
        data = self.cleaned_data
        benefits = [line.strip() for line in data.get("benefits_text", "").splitlines() if line.strip()]
        return {
            "code": data.get("code"),
            "name": data.get("name"),
            "entry_points": data.get("entry_points"),
            "retain_points": data.get("retain_points"),
            "multiplier": str(data.get("multiplier") or 1),
            "benefits": benefits,
        }

    def validate_unique(self) -> None:
        # The ladder is replaced whole: codes and entries are checked across it, by its grammar.
        pass


class TierFormSet(forms.BaseInlineFormSet):
    """The ladder's tiers, checked whole by the API's grammar (``ladder_validated``) with the
    ladder's settings from the form above them."""

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        tiers = [
            form.tier_definition() for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        definition = {
            "tiers": tiers,
            "window_days": self.instance.window_days,
            "qualifying_kinds": list(self.instance.qualifying_kinds or []),
        }
        try:
            ladder_validated(definition)
        except InvalidInput as error:
            raise forms.ValidationError(
                [message for messages in error.fields.values() for message in messages]
            ) from None
        if not tiers:
            raise forms.ValidationError("A ladder has at least one tier, entered at 0 points.")
        self.ladder_definition = definition


class TierLadderAdminForm(forms.ModelForm):
    qualifying_kinds = forms.MultipleChoiceField(
        choices=[(kind, RewardKind(kind).label) for kind in QUALIFIABLE_KINDS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(DEFAULT_QUALIFYING_KINDS),
        help_text="The credits whose points count toward the tiers.",
    )

    class Meta:
        model = TierLadder
        fields = ["window_days", "qualifying_kinds"]
        help_texts = {"window_days": "The qualifying points count the credits of the last this many days."}


class TierFloorForm(forms.ModelForm):
    """A staff floor: the customer has at least this tier until this date, for this reason."""

    tier = forms.ChoiceField(choices=())
    until = forms.DateTimeField(help_text="The customer keeps at least this tier until then.")

    class Meta:
        model = TierChange
        fields = ["user_id", "reason"]
        help_texts = {"reason": "Why: it is recorded with the change."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(tier.code, tier.name) for tier in Tier.objects.order_by("entry_points")]
        self.fields["reason"].required = True

    def clean_until(self) -> datetime:
        until = self.cleaned_data["until"]
        if until <= timezone.now():
            raise forms.ValidationError("A floor ends in the future.")
        return until


# ---- catalog items ----------------------------------------------------------------------------------


class CatalogItemAdminForm(forms.ModelForm):
    """A catalog item, checked by the API's grammar (``catalog_item_validated``); its tiers as text."""

    tier_codes_text = forms.CharField(
        label="Only for the tiers", required=False, help_text="Tier codes, comma-separated; empty: every customer."
    )
    segment_codes_text = forms.CharField(
        label="Only for the segments",
        required=False,
        help_text="Segment codes, comma-separated (a member of any may redeem it); empty: every customer.",
    )

    class Meta:
        model = CatalogItem
        fields = [
            "kind",
            "description",
            "points_cost",
            "amount",
            "is_active",
            "stock",
            "per_customer_limit",
            "limit_period",
            "available_from",
            "available_until",
            "coupon_valid_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tier_codes_text"].initial = ", ".join(self.instance.tier_codes or [])
        self.fields["segment_codes_text"].initial = ", ".join(self.instance.segment_codes or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        definition = {
            "kind": data["kind"],
            "points_cost": data["points_cost"],
            "amount": str(data["amount"]),
            "description": data["description"],
            "active": data["is_active"],
            "stock": data.get("stock"),
            "per_customer_limit": data.get("per_customer_limit"),
            "limit_period": data["limit_period"],
            "available_from": data["available_from"].isoformat() if data.get("available_from") else None,
            "available_until": data["available_until"].isoformat() if data.get("available_until") else None,
            "tier_codes": [code.strip() for code in data.get("tier_codes_text", "").split(",") if code.strip()],
            "segment_codes": [code.strip() for code in data.get("segment_codes_text", "").split(",") if code.strip()],
            "coupon_valid_days": data.get("coupon_valid_days"),
        }
        try:
            catalog_item_validated(definition)
        except InvalidInput as error:
            add_refusal(self, error)
            return data
        self.catalog_definition = definition
        return data


class SegmentAdminForm(forms.ModelForm):
    """A segment, checked by the segments' own language (``segment_validated``), as the API is."""

    class Meta:
        model = Segment
        fields = ["code", "name", "description", "conditions"]
        help_texts = {
            "conditions": 'A JSON list, e.g. [{"field": "tier", "op": "eq", "value": "gold"}, '
            '{"field": "spent", "op": "gt", "value": 500, "window_days": 365}]; empty: every customer.',
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["code"].disabled = True  # the name everything targets it by

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        definition = {
            key: data.get(key) if data.get(key) is not None else "" for key in ("code", "name", "description")
        }
        definition["conditions"] = data.get("conditions") or []
        try:
            self.segment_definition = segment_validated(definition)
        except InvalidInput as error:
            add_refusal(self, error)
        return data


# ---- badges -----------------------------------------------------------------------------------------


class BadgeAdminForm(forms.ModelForm):
    """A badge, checked by the API's grammar (``badge_validated``); its code is set once."""

    class Meta:
        model = Badge
        fields = ["code", "name", "description", "image_url"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["code"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        definition = {name: data.get(name) or "" for name in BADGE_FIELDS}
        if self.instance.pk is not None:
            definition["code"] = self.instance.code
        try:
            badge_validated(definition)
        except InvalidInput as error:
            add_refusal(self, error)
            return data
        self.badge_definition = definition
        return data


class BadgeGiveForm(forms.ModelForm):
    """Staff give a customer a badge, saying why (recorded on the award with their name)."""

    class Meta:
        model = BadgeAward
        fields = ["user_id", "badge", "reason"]
        help_texts = {"reason": "Why: it is recorded on the award with your user name."}

    def clean_user_id(self) -> int:
        user_id = self.cleaned_data["user_id"]
        if not 0 < user_id <= MAX_BIGINT:
            raise forms.ValidationError("A customer is a positive whole user_id.")
        return user_id

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        badge, user_id = data.get("badge"), data.get("user_id")
        if badge and user_id and BadgeAward.objects.filter(user_id=user_id, badge=badge, revoked_at=None).exists():
            self.add_error("badge", BadgeAlreadyHeld.default_message)
        return data


class BadgeTakeBackForm(forms.ModelForm):
    """Staff take a badge back, saying why; the award stays, with who and why."""

    take_back_reason = forms.CharField(
        max_length=200, required=False, help_text="Why it is taken back; saving with a reason takes it back."
    )

    class Meta:
        model = BadgeAward
        fields = []

    def clean_take_back_reason(self) -> str:
        reason = self.cleaned_data["take_back_reason"]
        if reason and not has_visible_character(reason):
            raise forms.ValidationError("A reason shows something.")
        if self.instance.revoked_at is None and not reason:
            raise forms.ValidationError("Say why the badge is taken back.")
        return reason


# ---- challenges -------------------------------------------------------------------------------------


class ChallengeAdminForm(forms.ModelForm):
    """A challenge, checked by the challenges' own grammar (``challenge_validated``), as the API
    is; its code is set once."""

    class Meta:
        model = Challenge
        fields = list(CHALLENGE_KEYS)  # what the API's definition holds, in its order
        help_texts = {
            "goal": 'A JSON object, e.g. {"metric": "orders", "target": 3, "conditions": '
            '[{"field": "item.category", "op": "eq", "value": "shoes"}]}; metrics: orders, spend, purchases, '
            "activities (with activity_name), streak_days (with event: order, purchase or activity).",
            "window": '{"period": "week"|"month"|"year"}, {"days": 30} (a rolling window), or {} (once, ever).',
            "reward": '{"points": 50, "badge": "star"}: either or both.',
            "segment_codes": 'A JSON list of segment codes, e.g. ["gold"]; empty: every customer.',
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["code"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        definition = {name: data.get(name) for name in CHALLENGE_KEYS}
        for name in ("code", "name", "description"):
            definition[name] = definition[name] or ""
        definition["segment_codes"] = definition["segment_codes"] or []
        definition["window"] = definition["window"] or {}
        if self.instance.pk is not None:
            definition["code"] = self.instance.code
        try:
            self.challenge_definition = challenge_validated(definition)
        except InvalidInput as error:
            add_refusal(self, error)
        return data

"""Input and output shapes of rewards-api/. Field names are those of the rewards system this service replaces."""

from datetime import date, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.fields import (
    MAX_BIGINT,
    AsOfField,
    DomainValidated,
    Input,
    NoUnknownKeysMixin,
    NulRefusedMixin,
    QueryDateTimeField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDecimalField,
    StrictIntegerField,
    money_field,
    points_field,
    text_field,
    user_id_field,
)
from core.limits import MAX_POINTS_PER_ENTRY
from core.validation import Invalid
from rewards import tiers as tiers_module
from rewards.models import (
    DESCRIPTION_MAX_LENGTH,
    CapPeriod,
    CatalogKind,
    MessageLanguage,
    RedeemedItem,
    Reward,
    RuleStatus,
    RuleTrigger,
)
from rewards.program import language
from rewards.program.validate import (
    MAX_CONDITIONS,
    MAX_RULE_DAYS,
    RULE_DECIMAL_PLACES,
    RULE_NUMBER_DIGITS,
    activity_properties,
    rule_validated,
)
from rewards.selectors import EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT
from rewards.services.badges import BADGE_CODE_MESSAGE
from rewards.services.catalog import MAX_CATALOG_COUNT, MAX_TIER_CODES, catalog_item_validated
from rewards.tiers import MAX_BENEFITS, MAX_TIERS, ladder_validated

# ---- inputs -------------------------------------------------------------------

CURSOR_PATTERN = r"^[1-9][0-9]{0,18}$"


class EarnPointsInput(Input):
    user_id = user_id_field()
    points_earned = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)


class PurchaseInput(Input):
    user_id = user_id_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    amount = money_field(required=False)
    price = money_field(required=False, help_text="Alias of amount.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        amount, price = attrs.pop("amount", None), attrs.pop("price", None)
        if amount is None and price is None:
            raise serializers.ValidationError({"amount": ["This field is required."]})
        if amount is not None and price is not None and amount != price:
            raise serializers.ValidationError({"price": ["price is an alias of amount; they differ."]})
        attrs["amount"] = amount if amount is not None else price
        return attrs


class FeedbackInput(Input):
    user_id = user_id_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)


class RedeemCouponInput(Input):
    user_id = user_id_field()
    points_redeemed = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    coupon_amount = money_field()


class RedeemDonationInput(Input):
    user_id = user_id_field()
    points_redeemed = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    donation_amount = money_field()


class UseCouponInput(Input):
    item_code = text_field(max_length=64)


class VoidCouponInput(Input):
    item_code = text_field(max_length=64)
    reason = text_field(max_length=200, help_text="Why: it is on the refund's ledger row and event.")


class UserQueryInput(Input):
    user_id = user_id_field()


def _not_after_today(as_of: date | datetime) -> None:
    """An ``as_of`` no later than the end of today (UTC): what is after it has not happened."""
    from rewards import reports  # reports reads the tiers, whose service validates with this module

    today = reports.utc_today()
    # A day is compared as a day: the end of 9999-12-31 is past what a datetime holds.
    late = as_of > reports.end_of_day(today) if isinstance(as_of, datetime) else as_of > today
    if late:
        raise serializers.ValidationError("Not after today (UTC).")


def as_of_field(**kwargs: Any) -> AsOfField:
    return AsOfField(
        required=False,
        validators=[_not_after_today],
        help_text="A day YYYY-MM-DD (its end, UTC) or a moment 2026-12-07T10:00:00Z: the points then.",
        **kwargs,
    )


class BalanceQueryInput(UserQueryInput):
    """get-points: a customer's points now, or with ``as_of`` at that moment."""

    as_of = as_of_field()


class AsOfQueryInput(Input):
    as_of = as_of_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("as_of", timezone.now())  # default: now
        return attrs


class BalanceAsOfOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    as_of = serializers.DateTimeField(help_text="The moment (UTC): a day's is the end of it.")
    available_points = serializers.IntegerField(help_text="Spendable then (0 while owing).")
    pending_points = serializers.IntegerField(help_text="Credited then, not yet available.")
    owed_points = serializers.IntegerField(help_text="What the customer owed then (below zero).")


class HistoryQueryInput(UserQueryInput):
    limit = StrictIntegerField(min_value=1, max_value=HISTORY_MAX_LIMIT, default=HISTORY_DEFAULT_LIMIT)
    cursor = StrictCharField(
        required=False,
        allow_blank=False,
        max_length=19,
        validators=[RegexValidator(CURSOR_PATTERN, "Not a cursor from a previous page.")],
        help_text="next_cursor from the previous page.",
    )

    def validate_cursor(self, value: str) -> int:
        # Rows are older than any cursor past the last id; no id is past the bigint range.
        return min(int(value), MAX_BIGINT)


# ---- outputs ------------------------------------------------------------------


class RedeemedItemOutput(serializers.ModelSerializer):
    valid_until = serializers.DateTimeField(
        allow_null=True, help_text="A coupon: usable until then (null: it never expires)."
    )

    class Meta:
        model = RedeemedItem
        fields = ["item_code", "item_description", "amount", "state", "valid_until"]


class RewardRowOutput(serializers.ModelSerializer):
    """A ledger row as written: the fields every write response carries."""

    class Meta:
        model = Reward
        fields = [
            "id",
            "user_id",
            "kind",
            "points_earned",
            "points_redeemed",
            "reward_description",
            "pending_change",
            "earned_date",
            "redeemed_date",
            "is_active",
        ]


class RewardHistoryOutput(serializers.ModelSerializer):
    rule_name = serializers.CharField(
        source="rule.name", default=None, allow_null=True, help_text="The earning rule whose award this row is."
    )
    # The schema only: the rows are shaped by answer_history_row (rewards/sql/answers.sql).
    pending_status = serializers.ChoiceField(
        choices=["on_the_way", "arrived", "cancelled"],
        allow_null=True,
        read_only=True,
        help_text="A credit that was pending: `on_the_way` (its points still are), `arrived` (they became "
        "available), or `cancelled` (a return took them all back first); null for every other row.",
    )
    available_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="A credit whose points are still on the way: when they become available (else null).",
    )

    class Meta:
        model = Reward
        fields = [
            "id",
            "kind",
            "points_earned",
            "points_redeemed",
            "pending_change",
            "earned_date",
            "redeemed_date",
            "reward_description",
            "rule_name",
            "pending_status",
            "available_at",
        ]


class RedemptionOutput(serializers.ModelSerializer):
    redeemed_item = RedeemedItemOutput()

    class Meta:
        model = Reward
        fields = ["id", "kind", "is_active", "redeemed_date", "points_redeemed", "reward_description", "redeemed_item"]


class CatalogItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    points_cost = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    description = serializers.CharField()
    active = serializers.BooleanField(source="is_active")
    stock = serializers.IntegerField(allow_null=True, help_text="Units in all (null: no limit).")
    stock_left = serializers.IntegerField(allow_null=True, help_text="Units left to redeem (null: no limit).")
    per_customer_limit = serializers.IntegerField(allow_null=True)
    limit_period = serializers.CharField()
    available_from = serializers.DateTimeField(allow_null=True)
    available_until = serializers.DateTimeField(allow_null=True)
    tier_codes = serializers.ListField(child=serializers.CharField(), help_text="Empty: every tier.")
    segment_codes = serializers.ListField(
        child=serializers.CharField(), help_text="Empty: every customer; else the members of any of them."
    )
    coupon_valid_days = serializers.IntegerField(allow_null=True, help_text="Null: its coupons never expire.")


class CatalogInput(NulRefusedMixin, DomainValidated, Input):
    """A catalog item as staff set it (``loyalty-api/catalog``; admin uses the same checks)."""

    # These fields document it (the schema); the catalog's grammar checks it.
    domain_validator = staticmethod(catalog_item_validated)

    kind = StrictChoiceField(choices=CatalogKind.choices)
    points_cost = StrictIntegerField(min_value=1, max_value=MAX_POINTS_PER_ENTRY)
    amount = money_field()
    description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    active = StrictBooleanField(default=True)
    stock = StrictIntegerField(min_value=0, max_value=MAX_CATALOG_COUNT, allow_null=True, default=None)
    per_customer_limit = StrictIntegerField(min_value=1, max_value=MAX_CATALOG_COUNT, allow_null=True, default=None)
    limit_period = StrictChoiceField(choices=CapPeriod.choices, default=CapPeriod.EVER)
    available_from = serializers.DateTimeField(allow_null=True, default=None)
    available_until = serializers.DateTimeField(allow_null=True, default=None)
    tier_codes = serializers.ListField(
        child=StrictCharField(max_length=30), max_length=MAX_TIER_CODES, default=list, help_text="Empty: every tier."
    )
    segment_codes = serializers.ListField(
        child=StrictCharField(max_length=50),
        max_length=20,
        default=list,
        help_text="Segments whose members may redeem it (any of them); empty: every customer.",
    )
    coupon_valid_days = StrictIntegerField(min_value=1, max_value=36_500, allow_null=True, default=None)


class BadgeInput(Input):
    """A badge as staff define it (``loyalty-api/badges``); its code is set once, when created.
    These fields document it (the schema); the badge's grammar checks it, in the service."""

    code = StrictCharField(max_length=50, help_text=f"{BADGE_CODE_MESSAGE}")
    name = text_field(max_length=100)
    description = StrictCharField(max_length=500, allow_blank=True, trim_whitespace=False, default="")
    image_url = StrictCharField(
        max_length=500,
        allow_blank=True,
        default="",
        help_text="An https:// URL or a path on this service (/static/...); optional.",
    )


class BadgePatchInput(BadgeInput):
    """What a PATCH may change: name, description, image_url (the code is the badge's name in the path)."""

    code = None


class BadgeOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BadgeListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    badges = BadgeOutput(many=True)


class BadgeHeldOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    image_url = serializers.CharField()
    awarded_at = serializers.DateTimeField()


class CustomerChallengeOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    metric = serializers.CharField()
    target = serializers.IntegerField()
    progress = serializers.IntegerField(help_text="In the period now (a streak: the days in a row up to today).")
    left = serializers.IntegerField(help_text="What is left to reach the target (0 once completed).")
    window = serializers.JSONField()
    period_start = serializers.DateField(allow_null=True)
    period_ends_at = serializers.DateTimeField(allow_null=True, help_text="When the period (or the challenge) ends.")
    ends_at = serializers.DateTimeField(allow_null=True)
    reward = serializers.JSONField()
    completed = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)


class CustomerChallengesOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    challenges = CustomerChallengeOutput(many=True)
    badges = BadgeHeldOutput(many=True)


class BalancePartsOutput(serializers.Serializer):
    """The schema of ``balance_fields``."""

    total_points = serializers.IntegerField(help_text="Available: what can be spent now (below zero while owed).")
    total_points_earned = serializers.IntegerField()
    total_points_redeemed = serializers.IntegerField()
    pending_points = serializers.IntegerField(help_text="Credited, not yet available (inside a return window).")
    next_available_at = serializers.DateTimeField(allow_null=True, help_text="When the next pending points arrive.")
    expiring_points = serializers.IntegerField(help_text="Available points that expire within the notice window.")
    next_expiry_at = serializers.DateTimeField(allow_null=True, help_text="When the soonest available points expire.")


# ---- response documents (OpenAPI) ------------------------------------------------


class CustomerTierOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    multiplier = serializers.CharField()
    benefits = serializers.ListField(child=serializers.CharField())
    since = serializers.DateTimeField(allow_null=True, help_text="When the customer reached it (null at the lowest).")
    requalify_at = serializers.DateTimeField(
        allow_null=True, help_text="When the qualifying points are checked against retain_points (null at the lowest)."
    )
    floor_until = serializers.DateTimeField(allow_null=True, help_text="Set by staff: the tier is kept until then.")


class NextTierOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    entry_points = serializers.IntegerField()


class TierProgressOutput(serializers.Serializer):
    qualifying_points = serializers.IntegerField()
    next_tier = NextTierOutput(allow_null=True)
    points_to_next = serializers.IntegerField(allow_null=True)
    points_to_retain = serializers.IntegerField()


class BalanceOutput(BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    tier = CustomerTierOutput(allow_null=True, help_text="The customer's tier; null while no ladder is set.")
    tier_progress = TierProgressOutput(allow_null=True, help_text="Progress to the next tier; null with no ladder.")


class PostingOutput(RewardRowOutput, BalancePartsOutput):
    """A write's answer: the new balance and the ledger row written."""

    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    item_code = serializers.CharField(required=False, help_text="Redemptions only: the coupon or receipt code.")
    redeemed_item = RedeemedItemOutput(required=False, help_text="Redemptions only.")

    class Meta(RewardRowOutput.Meta):
        fields = [
            "success",
            "message",
            *BalancePartsOutput().fields,
            *RewardRowOutput.Meta.fields,
            "item_code",
            "redeemed_item",
        ]


class VoidCouponOutput(RedeemedItemOutput, BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    points_refunded = serializers.IntegerField(help_text="The coupon's points, given back to the lots they came from.")
    points_expired = serializers.IntegerField(
        help_text="Of those, the points whose lots had expired meanwhile: they expired again at once."
    )
    reward = RewardRowOutput(help_text="The refund's ledger row.")

    class Meta(RedeemedItemOutput.Meta):
        fields = [
            "success",
            "message",
            "user_id",
            "points_refunded",
            "points_expired",
            *RedeemedItemOutput.Meta.fields,
            *BalancePartsOutput().fields,
            "reward",
        ]


class CatalogItemSavedOutput(CatalogItemOutput):
    success = serializers.BooleanField(default=True)


class UseCouponOutput(RedeemedItemOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    is_active = serializers.BooleanField()

    class Meta(RedeemedItemOutput.Meta):
        fields = ["success", "message", "user_id", "is_active", *RedeemedItemOutput.Meta.fields]


class ShownCatalogItemOutput(CatalogItemOutput):
    limit_left = serializers.IntegerField(
        allow_null=True, required=False, help_text="To a customer session: redemptions left in the limit period."
    )


class CatalogOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    catalog = ShownCatalogItemOutput(many=True)


class PageOutput(serializers.Serializer):
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page.")


class RedemptionsOutput(PageOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    redemption_history = RedemptionOutput(many=True)


class UserInfoOutput(BalanceOutput, PageOutput):
    badges = BadgeHeldOutput(many=True, help_text="The badges the customer holds, oldest first.")
    reward_history = RewardHistoryOutput(many=True)


class AllHistoryOutput(PageOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    reward_history = RewardHistoryOutput(many=True)


class EventsQueryInput(Input):
    after = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, default=0, help_text="The last event id you have.")
    limit = StrictIntegerField(min_value=1, max_value=EVENTS_MAX_LIMIT, default=EVENTS_DEFAULT_LIMIT)


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    data = serializers.DictField(help_text="The ledger row, the balance after it, and what the type adds.")


class EventsOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    events = EventOutput(many=True)
    has_more = serializers.BooleanField()
    next_after = serializers.IntegerField(help_text="Pass as `after` for the next page.")


# ---- earning rules ------------------------------------------------------------------------------

RULE_DECIMAL_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,6})?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": RULE_DECIMAL_PATTERN,
        "example": "0.05",
        "description": "A decimal with at most 6 places, as text (a JSON number is accepted too).",
    }
)
class RuleDecimalField(StrictDecimalField):
    """A rate or a multiplier: a decimal string ("0.05") or number, at most 6 places."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=RULE_NUMBER_DIGITS, decimal_places=RULE_DECIMAL_PLACES, **kwargs)


class ConditionInput(NoUnknownKeysMixin, Input):
    field = StrictCharField(
        max_length=100,
        help_text=f"{language.FIELD_NAMES_TEXT}.",
    )
    op = StrictChoiceField(choices=language.OPS)
    value = serializers.JSONField(
        encoder=DjangoJSONEncoder, help_text="A number, a text or (for in and not_in) a list of them."
    )


class EffectInput(NoUnknownKeysMixin, Input):
    type = StrictChoiceField(choices=language.EFFECT_TYPES)
    value = RuleDecimalField(required=False, help_text="rate: points per unit of money; multiplier: at least 1.")
    points = StrictIntegerField(min_value=1, max_value=MAX_POINTS_PER_ENTRY, required=False, help_text="fixed only.")
    scope = StrictChoiceField(
        choices=[language.RATE_SCOPE_MATCHING_ITEMS],
        required=False,
        help_text="rate only: of the matching items' price x quantity instead of the whole total_cost.",
    )
    role = StrictChoiceField(choices=language.REFERRAL_ROLES, required=False, help_text="referral rules only.")


class CapsInput(NoUnknownKeysMixin, Input):
    per_event = StrictIntegerField(min_value=1, max_value=MAX_BIGINT, required=False)
    per_customer = StrictIntegerField(min_value=1, max_value=MAX_BIGINT, required=False)
    period = StrictChoiceField(choices=CapPeriod.choices, required=False, help_text="Of per_customer; default ever.")
    budget = StrictIntegerField(min_value=1, max_value=MAX_BIGINT, required=False)


class RuleInput(NulRefusedMixin, DomainValidated, Input):
    """An earning rule, validated whole: by the API (create, and edit merged into the rule as
    it is) and by the admin form alike."""

    # These fields document it (the schema); the rules' grammar (rewards.program.validate) checks it.
    domain_validator = staticmethod(rule_validated)

    name = text_field(max_length=100)
    trigger = StrictChoiceField(choices=RuleTrigger.choices)
    activity_name = StrictCharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The activity's name; activity rules only.",
    )
    status = StrictChoiceField(choices=RuleStatus.choices, required=False, default=RuleStatus.DRAFT)
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ends_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    priority = StrictIntegerField(min_value=-1_000_000, max_value=1_000_000, required=False, default=100)
    exclusive = StrictBooleanField(required=False, default=False)
    conditions = ConditionInput(many=True, required=False, default=list, max_length=MAX_CONDITIONS)
    effect = EffectInput()
    caps = CapsInput(required=False, default=dict)
    pending_days = StrictIntegerField(
        min_value=0, max_value=MAX_RULE_DAYS, required=False, allow_null=True, default=None
    )
    validity_days = StrictIntegerField(
        min_value=1, max_value=MAX_RULE_DAYS, required=False, allow_null=True, default=None
    )


class EffectOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=language.EFFECT_TYPES)
    value = serializers.RegexField(
        RULE_DECIMAL_PATTERN, required=False, help_text="rate or multiplier: the exact decimal, as text."
    )
    points = serializers.IntegerField(required=False, help_text="fixed only.")
    scope = serializers.ChoiceField(choices=[language.RATE_SCOPE_MATCHING_ITEMS], required=False)
    role = serializers.ChoiceField(choices=language.REFERRAL_ROLES, required=False)


class RuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    trigger = serializers.ChoiceField(choices=RuleTrigger.choices)
    activity_name = serializers.CharField()
    status = serializers.ChoiceField(choices=RuleStatus.choices)
    starts_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    priority = serializers.IntegerField()
    exclusive = serializers.BooleanField()
    conditions = ConditionInput(many=True)
    effect = EffectOutput()
    caps = CapsInput()
    pending_days = serializers.IntegerField(allow_null=True)
    validity_days = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField()


class AwardOutput(serializers.Serializer):
    rule_id = serializers.IntegerField(allow_null=True, help_text="Null for the tier award.")
    rule_name = serializers.CharField(help_text="The rule's name, or the tier's (\"Silver tier\").")
    version = serializers.IntegerField(allow_null=True)
    tier = serializers.CharField(required=False, help_text="The tier award only: the tier whose multiplier gave it.")
    points = serializers.IntegerField()


class AwardsOutput(serializers.Serializer):
    points_awarded = serializers.IntegerField(help_text="The sum of the breakdown's points.")
    breakdown = AwardOutput(many=True, help_text="Each matching rule's award, in the order the rules ran.")


class EarnedOutput(PostingOutput, AwardsOutput):
    """An earning event's answer: its first ledger row, the balance after all of its rows, and
    what each matching rule awarded."""

    class Meta(PostingOutput.Meta):
        fields = [*PostingOutput.Meta.fields, "points_awarded", "breakdown"]


class ActivityInput(NulRefusedMixin, Input):
    user_id = user_id_field()
    name = text_field(max_length=100, help_text="What happened: the activity rules' activity_name.")
    activity_id = text_field(max_length=100, help_text="Unique per application: a retry with it is safe.")
    occurred_at = serializers.DateTimeField(required=False, help_text="When it happened; default now.")
    properties = serializers.DictField(
        required=False,
        default=dict,
        help_text="A flat object of texts, numbers and booleans, which rules may look at (properties.<name>).",
    )

    def validate_properties(self, properties: dict[str, Any]) -> dict[str, Any]:
        try:
            return activity_properties(properties)
        except Invalid as error:
            raise serializers.ValidationError(error.detail) from None


class ActivityOutput(AwardsOutput, BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    activity = serializers.DictField(help_text="activity_id, name, user_id, occurred_at, properties.")


class BirthdayInput(Input):
    user_id = user_id_field()
    month = StrictIntegerField(min_value=1, max_value=12)
    day = StrictIntegerField(min_value=1, max_value=31, help_text="29 February counts as 28 February in other years.")


class BirthdayOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    month = serializers.IntegerField()
    day = serializers.IntegerField()
    next_birthday = serializers.DateField(help_text="The birthday's next date (today included).")
    first_rewarded = serializers.DateField(
        help_text="The first birthday that can earn: at least 30 days after it was set or changed."
    )


class CustomerAttributesOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    attributes = serializers.DictField(
        child=serializers.JSONField(), help_text="Every attribute: a text, a number or a boolean each."
    )


# ---- tiers -----------------------------------------------------------------------------------


class TierInput(NoUnknownKeysMixin, Input):
    code = StrictCharField(
        max_length=30, validators=[RegexValidator(r"^[a-z0-9_-]+$", "Lowercase letters, digits, _ and - only.")]
    )
    name = text_field(max_length=100)
    entry_points = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, help_text="Qualifying points to reach it.")
    retain_points = StrictIntegerField(
        min_value=0, max_value=MAX_BIGINT, help_text="Qualifying points to keep it at requalification."
    )
    multiplier = RuleDecimalField(
        required=False,
        help_text="At least 1 (default 1): a qualifying credit of S points adds a tier award of "
        "floor(S x (multiplier - 1)).",
    )
    benefits = serializers.ListField(
        child=text_field(max_length=200),
        max_length=MAX_BENEFITS,
        default=list,
        help_text="What the tier gives, in words.",
    )


class TierLadderInput(NulRefusedMixin, DomainValidated, Input):
    """The whole ladder: it replaces the one there was (no tiers: no ladder)."""

    # These fields document it (the schema); the ladder's grammar (rewards.tiers) checks it.
    domain_validator = staticmethod(ladder_validated)

    tiers = TierInput(many=True, max_length=MAX_TIERS, help_text="Ranked by entry_points; the lowest enters at 0.")
    window_days = StrictIntegerField(
        min_value=1, max_value=3660, default=365, help_text="The qualifying points count the last this many days."
    )
    qualifying_kinds = serializers.ListField(
        child=StrictChoiceField(choices=[(kind, kind) for kind in tiers_module.QUALIFIABLE_KINDS]),
        default=list(tiers_module.DEFAULT_QUALIFYING_KINDS),
        max_length=len(tiers_module.QUALIFIABLE_KINDS),
        help_text="The credit kinds whose points count toward the tiers.",
    )


class TierOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    entry_points = serializers.IntegerField()
    retain_points = serializers.IntegerField()
    multiplier = serializers.CharField(help_text="A decimal, as text.")
    benefits = serializers.ListField(child=serializers.CharField())


class TierLadderOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    tiers = TierOutput(many=True)
    window_days = serializers.IntegerField(allow_null=True)
    qualifying_kinds = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)
    updated_by = serializers.CharField(allow_null=True)


# ---- messages: contact and consent --------------------------------------------------------------


class TopicsInput(NoUnknownKeysMixin, Input):
    points_expiring = StrictBooleanField(required=False)
    tier_changes = StrictBooleanField(required=False)
    coupons = StrictBooleanField(required=False)
    challenges = StrictBooleanField(required=False)
    birthday = StrictBooleanField(required=False)
    marketing = StrictBooleanField(required=False)


class ContactInput(NulRefusedMixin, NoUnknownKeysMixin, Input):
    email = serializers.EmailField(
        max_length=254, allow_blank=True, required=False, help_text="Empty: no email (nothing is sent)."
    )
    language = StrictChoiceField(choices=MessageLanguage.values, required=False)
    topics = TopicsInput(
        required=False,
        help_text="Some or all topics (booleans); those not named keep their value. A new contact: every topic "
        "on but marketing.",
    )


class TopicsOutput(serializers.Serializer):
    points_expiring = serializers.BooleanField()
    tier_changes = serializers.BooleanField()
    coupons = serializers.BooleanField()
    challenges = serializers.BooleanField()
    birthday = serializers.BooleanField()
    marketing = serializers.BooleanField()


class ContactOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    email = serializers.CharField(help_text="Empty: none (nothing is sent).")
    language = serializers.CharField(allow_null=True, help_text="null: the customer set none.")
    topics = TopicsOutput()


# ---- the ledger's digests -----------------------------------------------------------------------

DIGESTS_MAX_LIMIT = 1000


class DigestsQueryInput(Input):
    """``from`` and ``to`` (``from`` is a Python keyword, so declared in ``get_fields``)."""

    to = QueryDateTimeField(required=False, help_text="Digests cut at or before this moment (ISO 8601).")
    after = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, default=0, help_text="The last digest id you have.")
    limit = StrictIntegerField(min_value=1, max_value=DIGESTS_MAX_LIMIT, default=100)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = QueryDateTimeField(required=False, help_text="Digests cut at or after this moment (ISO 8601).")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Not after `to`."]})
        return attrs


class DigestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    cut_at = serializers.CharField(help_text="When it was cut: UTC with microseconds, as its hash reads it.")
    previous_hash = serializers.CharField(help_text="The digest before it's hash (hex; 64 zeros for the first).")
    heads_count = serializers.IntegerField(help_text="How many customer chain heads it holds (those that moved).")
    heads_root = serializers.CharField(help_text="The Merkle root of those heads, in user_id order (hex).")
    audit_seq = serializers.IntegerField(
        allow_null=True, help_text="The audit chain's head when it was cut: its seq (null before the chain began)."
    )
    audit_hash = serializers.CharField(allow_null=True, help_text="The audit chain's head: its hash (hex).")
    hash = serializers.CharField(help_text="SHA-256 of its canonical form (hex): what is signed.")
    public_key = serializers.CharField(help_text="The Ed25519 public key that signed it (hex).")
    signature = serializers.CharField(help_text="The Ed25519 signature of `hash`'s 32 bytes (hex).")


class DigestsOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    digests = DigestOutput(many=True)
    has_more = serializers.BooleanField()
    next_after = serializers.IntegerField(help_text="Pass as `after` for the next page.")


class PublicKeyOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    algorithm = serializers.CharField(help_text="Ed25519.")
    public_key = serializers.CharField(allow_null=True, help_text="The key new digests are signed with (hex).")
    retired_public_keys = serializers.ListField(
        child=serializers.CharField(), help_text="Keys older digests were signed with (hex), still trusted."
    )

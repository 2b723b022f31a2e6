"""Input and output shapes of loyalty-api/. Field names are the CLP contract's."""

from datetime import date
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.audit import AUDIT_PAGE_MAX, AUDIT_SUBJECTS
from core.fields import (
    MAX_BIGINT,
    Input,
    NoUnknownKeysMixin,
    NulRefusedMixin,
    StrictCharField,
    StrictChoiceField,
    StrictDateField,
    StrictIntegerField,
    StrictUUIDField,
    points_field,
    text_field,
    user_id_field,
    with_settings_max,
)
from loyalty.models import Application, Order, WebhookSubscription
from loyalty.services import CLIENT_ACCESS_LEVELS
from rewards import reports
from rewards.models import EventType, RuleStatus, RuleTrigger
from rewards.program import language
from rewards.program.engine import EventItem
from rewards.serializers import (
    ActivityInput,
    AwardOutput,
    BalancePartsOutput,
    CustomerTierOutput,
    FeedbackInput,
    PurchaseInput,
    RewardHistoryOutput,
    RuleInput,
    RuleOutput,
    TierProgressOutput,
)

# 9999-12-31T23:59:59Z: the last second a datetime can hold.
MAX_UNIX_SECONDS = 253_402_300_799

_LEVELS = [level.value for level in CLIENT_ACCESS_LEVELS]


class ApplicationCreateInput(Input):
    application_name = text_field(max_length=30)
    access_level = StrictChoiceField(choices=_LEVELS)


class ApplicationUpdateInput(Input):
    app_id = StrictUUIDField()
    new_access_level = StrictChoiceField(choices=_LEVELS)


class ApplicationDeleteInput(Input):
    app_id = StrictUUIDField()


class ApplicationOutput(serializers.ModelSerializer):
    application_name = serializers.CharField(source="name")

    class Meta:
        model = Application
        fields = ["app_id", "application_name", "access_level", "created_at"]


class UserQueryInput(Input):
    user_id = user_id_field()


MAX_ORDER_ITEMS = 200


class OrderItemInput(NoUnknownKeysMixin, Input):
    sku = text_field(max_length=100)
    category = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    quantity = StrictIntegerField(min_value=1, max_value=1_000_000)
    price = StrictIntegerField(min_value=0, max_value=MAX_BIGINT, help_text="Per unit, in total_cost's unit.")

    def to_internal_value(self, data: Any) -> EventItem:
        return EventItem(**super().to_internal_value(data))


@extend_schema_field(OrderItemInput(many=True, max_length=MAX_ORDER_ITEMS))
class OrderItemsField(serializers.Field):
    """An order's items, checked by ``OrderItemInput`` only when the order has some: a nested
    serializer would be built and copied for every order, items or not (the hot path)."""

    default_error_messages = {"invalid": f"A list of at most {MAX_ORDER_ITEMS} items is required."}

    def to_internal_value(self, data: Any) -> list[EventItem]:
        if not isinstance(data, list) or len(data) > MAX_ORDER_ITEMS:
            self.fail("invalid")
        items = OrderItemInput(data=data, many=True)
        if not items.is_valid():
            raise serializers.ValidationError(items.errors)
        return items.validated_data


class OrderCreateInput(NulRefusedMixin, Input):
    user_id = user_id_field()
    order_id = StrictIntegerField(min_value=1, max_value=MAX_BIGINT)
    total_cost = StrictIntegerField(min_value=0, max_value=MAX_BIGINT)
    completed_at = StrictIntegerField(min_value=0, max_value=MAX_UNIX_SECONDS, help_text="Unix seconds.")
    items = OrderItemsField(
        required=False,
        help_text="What the order held, for rules on items; price x quantity adds up to at most total_cost.",
    )
    channel = StrictCharField(max_length=50, required=False, allow_blank=True, help_text="web, app, store...")


class OrderPartialReturnInput(Input):
    returned_cost = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=MAX_BIGINT,
        help_text="The part of total_cost that came back; without it, all that is left of the order.",
    )


class OrderDeleteInput(OrderPartialReturnInput):
    order_id = StrictIntegerField(min_value=1, max_value=MAX_BIGINT)


class OrderOutput(serializers.ModelSerializer):
    completed_at = serializers.SerializerMethodField()
    coefficient = serializers.DecimalField(max_digits=7, decimal_places=6)
    breakdown = AwardOutput(many=True, help_text="Each matching order rule's award, as the order was first answered.")
    returned = serializers.BooleanField(source="is_returned")

    class Meta:
        model = Order
        fields = [
            "order_id",
            "user_id",
            "total_cost",
            "completed_at",
            "coefficient",
            "points_awarded",
            "breakdown",
            "returned",
            "returned_cost",
        ]

    def get_completed_at(self, order: Order) -> int:
        return int(order.completed_at.timestamp())


class CustomerSessionInput(Input):
    user_id = user_id_field()
    ttl_seconds = StrictIntegerField(
        required=False,
        min_value=60,
        help_text="Shorter than the configured lifetime if you like; never longer.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        with_settings_max(self.fields["ttl_seconds"], settings.CUSTOMER_SESSION_TTL_SECONDS)


# ---- response documents (OpenAPI) ------------------------------------------------


class ApplicationCreatedOutput(ApplicationOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    token = serializers.CharField(help_text="Shown once; only its SHA-256 is stored.")

    class Meta(ApplicationOutput.Meta):
        fields = ["success", "message", *ApplicationOutput.Meta.fields, "token"]


class ApplicationChangedOutput(ApplicationOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()

    class Meta(ApplicationOutput.Meta):
        fields = ["success", "message", *ApplicationOutput.Meta.fields]


class ApplicationDeletedOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    app_id = serializers.UUIDField()


class UserBalanceOutput(BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    current_balance = serializers.IntegerField(help_text="The available points: the same number as total_points.")
    tier = CustomerTierOutput(allow_null=True, help_text="The customer's tier; null while no ladder is set.")
    tier_progress = TierProgressOutput(allow_null=True, help_text="Progress to the next tier; null with no ladder.")


_PARTS = ["pending_points", "next_available_at", "expiring_points", "next_expiry_at"]


class OrderResultOutput(OrderOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    points = serializers.IntegerField(help_text="The points this order earned (points_awarded).")
    available_at = serializers.DateTimeField(help_text="When they become available; until then they are pending.")
    current_balance = serializers.IntegerField(help_text="The available balance right after this order was recorded.")
    total_points = serializers.IntegerField()
    pending_points = serializers.IntegerField(required=False, help_text="Not on a retry.")
    next_available_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Not on a retry.")
    expiring_points = serializers.IntegerField(required=False, help_text="Not on a retry.")
    next_expiry_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Not on a retry.")

    class Meta(OrderOutput.Meta):
        fields = [
            "success",
            "message",
            *OrderOutput.Meta.fields,
            "points",
            "available_at",
            "current_balance",
            "total_points",
            *_PARTS,
        ]


class OrderReturnOutput(OrderOutput, BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    points_taken_back = serializers.IntegerField(help_text="By this return.")
    current_balance = serializers.IntegerField()

    class Meta(OrderOutput.Meta):
        fields = [
            "success",
            "message",
            *OrderOutput.Meta.fields,
            "points_taken_back",
            "current_balance",
            *BalancePartsOutput().fields,
        ]


class CustomerSessionOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    token = serializers.CharField(help_text="A customer token, cs_…; send it as Authorization: Bearer.")
    user_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    rewards_page_url = serializers.CharField(
        help_text="The rewards page with this token: absolute when PUBLIC_BASE_URL is set, else a path."
    )


class WebhookInput(NulRefusedMixin, Input):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=StrictChoiceField(choices=[choice.value for choice in EventType]), min_length=1, max_length=20
    )
    description = text_field(max_length=200, required=False)


class WebhookChangeInput(WebhookInput):
    url = serializers.URLField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=StrictChoiceField(choices=[choice.value for choice in EventType]),
        min_length=1,
        max_length=20,
        required=False,
    )
    is_active = serializers.BooleanField(required=False)


class WebhookOutput(serializers.ModelSerializer):
    status = serializers.CharField(help_text="active, disabled (by the application) or paused (kept failing).")

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "is_active",
            "status",
            "consecutive_failures",
            "created_at",
        ]


class WebhookCreatedOutput(WebhookOutput):
    success = serializers.BooleanField(default=True)
    secret = serializers.CharField(help_text="Shown once: verify X-Loyalty-Signature with it.")

    class Meta(WebhookOutput.Meta):
        fields = ["success", *WebhookOutput.Meta.fields, "secret"]


class WebhookListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    webhooks = WebhookOutput(many=True)


class WebhookDeletedOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()


# ---- the program -------------------------------------------------------------------------------

MAX_RULES_LISTED = 1000


class RulesQueryInput(Input):
    status = StrictChoiceField(choices=RuleStatus.choices, required=False)
    trigger = StrictChoiceField(choices=RuleTrigger.choices, required=False)


class RuleListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    rules = RuleOutput(many=True)


class RuleVersionInput(Input):
    version = StrictIntegerField(min_value=1, max_value=2**31 - 1, allow_null=True)


class RulePatchInput(RuleInput):
    """Any of a rule's keys; the rule as it is now gives the others. ``version``, when sent,
    must be the rule's current one (else 409 ``rule_changed``); a rule sent back whole as it
    was read (with ``id``, ``updated_at``, ``updated_by``) is accepted."""

    version = StrictIntegerField(min_value=1, required=False, help_text="The version this edit was made from.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


# The events simulate takes: each is the body its own endpoint takes.
SIMULATED_EVENT_INPUTS = {
    RuleTrigger.ORDER: OrderCreateInput,
    RuleTrigger.PURCHASE: PurchaseInput,
    RuleTrigger.FEEDBACK: FeedbackInput,
    RuleTrigger.ACTIVITY: ActivityInput,
}


class RuleSimulateInput(NulRefusedMixin, Input):
    trigger = StrictChoiceField(choices=list(SIMULATED_EVENT_INPUTS))
    event = serializers.DictField(
        help_text="The body the trigger's own endpoint takes (orders: user_id, order_id, "
        "total_cost, completed_at, items, channel)."
    )


# ---- referrals -------------------------------------------------------------------------------


class ReferralCodeInput(Input):
    user_id = user_id_field()


class ReferralCodeOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    code = serializers.CharField(help_text="The customer's own code, the same every time.")


class ReferralInput(Input):
    user_id = user_id_field(help_text="The new customer, who was referred.")
    code = text_field(max_length=20, help_text="The referring customer's code.")


class ReferralOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    code = serializers.CharField()


# ---- reports ---------------------------------------------------------------------------------------


def _not_future(day: date) -> date:
    if day > reports.utc_today():
        raise serializers.ValidationError("Not after today (UTC).")
    return day


def report_day_field(**kwargs: Any) -> StrictDateField:
    """A report's day, the one way every report reads one: YYYY-MM-DD (UTC), not after today
    (a blank parameter, another form of date or another script's digits are 400s)."""
    return StrictDateField(required=False, validators=[_not_future], **kwargs)


class LiabilityQueryInput(Input):
    as_of = report_day_field(help_text="YYYY-MM-DD (UTC), not after today; default today. Counts to the end of it.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("as_of", reports.utc_today())
        return attrs


class RollforwardQueryInput(Input):
    """``from`` and ``to`` (a Python keyword, so declared in ``get_fields``)."""

    to = report_day_field(help_text="YYYY-MM-DD (UTC), not after today; default today.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = report_day_field(help_text="YYYY-MM-DD (UTC), not after `to`; default: the day of `to`.")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("to", reports.utc_today())
        attrs.setdefault("from", attrs["to"])
        if attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": ["Not after `to`."]})
        return attrs


class AuditQueryInput(RollforwardQueryInput):
    """The days as a rollforward's; one subject or all; a page after the cursor."""

    subject = StrictChoiceField(
        choices=sorted(set(AUDIT_SUBJECTS.values())), required=False, help_text="One subject; default every one."
    )
    after = StrictIntegerField(
        min_value=0, max_value=MAX_BIGINT, default=0, help_text="The cursor: entries after this id (`next_after`)."
    )
    limit = StrictIntegerField(min_value=1, max_value=AUDIT_PAGE_MAX, default=100, help_text="At most this many.")


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="One order across every subject.")
    at = serializers.DateTimeField(help_text="When the change's transaction ran (UTC).")
    subject = serializers.CharField()
    object_id = serializers.CharField(allow_null=True)
    action = serializers.CharField(help_text="insert, update, delete; existing: the row when the record began.")
    actor = serializers.DictField(
        allow_null=True, help_text="{type: staff, user_id, username} or {type: application, app_id, name}; null."
    )
    path = serializers.CharField(allow_null=True, help_text="The request that made it; null outside one.")
    context_id = serializers.CharField(allow_null=True, help_text="The same for every change of one request.")
    before = serializers.DictField(allow_null=True)
    after = serializers.DictField(allow_null=True)


class AuditOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    subject = serializers.CharField(allow_null=True)
    entries = AuditEntryOutput(many=True)
    next_after = serializers.IntegerField(allow_null=True, help_text="The cursor of the next page; null: no more.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = serializers.DateField(), serializers.DateField()
        return fields


class LiabilityOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    as_of = serializers.DateField()
    available_points = serializers.IntegerField(help_text="Points customers can spend (customers owing count 0).")
    pending_points = serializers.IntegerField(help_text="Credited, not yet available.")
    owed_points = serializers.IntegerField(help_text="What customers below zero owe.")
    expiring = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="The available points by when they expire: within_30_days, within_90_days, within_365_days, "
        "later, never. They add up to available_points.",
    )
    point_value = serializers.CharField(help_text="POINT_VALUE: money per point.")
    value = serializers.CharField(help_text="available_points x point_value, to the cent.")
    catalog_point_value = serializers.CharField(
        allow_null=True, help_text="The cheapest money per point among active coupons."
    )
    catalog_value = serializers.CharField(allow_null=True, help_text="available_points x catalog_point_value.")


class RollforwardOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    opening = serializers.IntegerField(help_text="Available points at the start of `from`.")
    movements = serializers.DictField(
        child=serializers.IntegerField(), help_text="Each ledger kind's signed change of the available points."
    )
    closing = serializers.IntegerField(help_text="Available points at the end of `to`: opening + the movements.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"], fields["to"] = serializers.DateField(), serializers.DateField()
        return fields


class BreakageMonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (UTC) of the lots' credit.")
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField(help_text="Spent or taken back.")
    expired = serializers.IntegerField()
    open = serializers.IntegerField(help_text="Still available or pending.")
    breakage_rate = serializers.CharField(allow_null=True, help_text="expired / issued, once nothing is open.")


class BreakageOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    months = BreakageMonthOutput(many=True)


class PersonalDataErasedOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    erased = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many of each were erased now (all 0 on a second call)."
    )


class CustomerExportOutput(serializers.Serializer):
    """Everything kept about one customer."""

    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    ledger = RewardHistoryOutput(many=True, help_text="Every ledger row, oldest first, with its description.")
    lots = serializers.ListField(child=serializers.DictField(), help_text="Every lot: points, remaining, dates.")
    orders = serializers.ListField(child=serializers.DictField())
    coupons = serializers.ListField(child=serializers.DictField(), help_text="Coupons and donations redeemed.")
    activities = serializers.ListField(child=serializers.DictField())
    badges = serializers.ListField(
        child=serializers.DictField(),
        help_text="Every badge award, held or taken back: badge, when, by whom, why, and when taken back.",
    )
    tier = CustomerTierOutput(allow_null=True)
    tier_progress = TierProgressOutput(allow_null=True)
    referral = serializers.DictField(help_text="code, referred_by_user_id, referred_user_ids.")
    attributes = serializers.DictField(
        child=serializers.JSONField(), help_text="The customer's attributes ({} once erased)."
    )
    birthday = serializers.DictField(allow_null=True, help_text="month and day (null once erased).")
    birthday_awarded_year = serializers.IntegerField(
        allow_null=True, help_text="The year of the last birthday award (kept by an erasure)."
    )
    contact = serializers.DictField(
        allow_null=True,
        help_text="email, language and topics (rewards-api/customers/<user_id>/contact/); null once erased.",
    )
    messages = serializers.ListField(
        child=serializers.DictField(),
        help_text="Messages written to the customer: kind, topic, state, address, subject.",
    )
    erasures = serializers.ListField(child=serializers.DictField(), help_text="Erasures already made: who, when, what.")


# ---- segments (Can_Manage_Program) ------------------------------------------------------------


class SegmentConditionDoc(serializers.Serializer):
    field = serializers.CharField(
        help_text="tier, attributes.<name>, orders_placed, orders_returned, spent, points.available, "
        "points.earned_lifetime, days_since_last_order, days_since_first_seen or birthday_month."
    )
    op = serializers.ChoiceField(choices=language.OPS)
    value = serializers.JSONField(help_text="A number, a text, a boolean (attributes) or, for in and not_in, a list.")
    window_days = serializers.IntegerField(
        required=False, help_text="orders_placed, orders_returned and spent only: the last this many days."
    )


class SegmentInputDoc(serializers.Serializer):
    """What a segment's definition holds (validated by the segments' own language)."""

    code = serializers.RegexField(r"^[a-z0-9_-]{1,50}$")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False)
    conditions = SegmentConditionDoc(many=True, required=False)


class SegmentOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    conditions = SegmentConditionDoc(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField()


class SegmentListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    segments = SegmentOutput(many=True)


class ChallengeGoalDoc(serializers.Serializer):
    metric = serializers.ChoiceField(choices=["orders", "spend", "purchases", "activities", "streak_days"])
    target = serializers.IntegerField(min_value=1, help_text="The count, the spend, or the days in a row.")
    conditions = serializers.JSONField(
        required=False, help_text="Rule conditions of the metric's event: only matching events count."
    )
    event = serializers.ChoiceField(
        choices=["order", "purchase", "activity"], required=False, help_text="streak_days only (default order)."
    )
    activity_name = serializers.CharField(required=False, help_text="The activity it counts.")


class ChallengeWindowDoc(serializers.Serializer):
    period = serializers.ChoiceField(choices=["week", "month", "year"], required=False)
    days = serializers.IntegerField(min_value=1, required=False, help_text="A rolling window: the last N days.")


class ChallengeRewardDoc(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, required=False)
    badge = serializers.CharField(required=False, help_text="A badge's code.")


class ChallengeInputDoc(serializers.Serializer):
    """What a challenge's definition holds (validated by the challenges' own grammar)."""

    code = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,49}$")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False)
    status = serializers.ChoiceField(choices=["draft", "active", "paused", "archived"], required=False)
    starts_at = serializers.DateTimeField(required=False, allow_null=True)
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    segment_codes = serializers.ListField(child=serializers.CharField(), required=False)
    goal = ChallengeGoalDoc()
    window = ChallengeWindowDoc(required=False, allow_null=True, help_text="A period, a number of days, or none.")
    reward = ChallengeRewardDoc()


class ChallengeOutput(ChallengeInputDoc):
    success = serializers.BooleanField(default=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField()


class ChallengeListOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    challenges = ChallengeOutput(many=True)


MEMBERS_DEFAULT_LIMIT = 100
MEMBERS_MAX_LIMIT = 1000


class SegmentMembersQueryInput(Input):
    cursor = StrictIntegerField(
        min_value=0, max_value=MAX_BIGINT, required=False, help_text="next_cursor of the page before."
    )
    limit = StrictIntegerField(min_value=1, max_value=MEMBERS_MAX_LIMIT, default=MEMBERS_DEFAULT_LIMIT)
    count = StrictChoiceField(
        choices=["true", "false"], required=False, default="false", help_text="true: also count every member."
    )
    format = serializers.CharField(required=False, help_text="csv: every member, one user_id a line.")


class SegmentMemberOutput(serializers.Serializer):
    user_id = serializers.IntegerField()


class SegmentMembersOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    segment = serializers.CharField()
    members = SegmentMemberOutput(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Null on the last page.")
    count = serializers.IntegerField(required=False, help_text="With count=true only.")


class CustomerSegmentsOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    segments = serializers.ListField(child=serializers.CharField(), help_text="The codes of its segments now.")


AWARD_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,100}$"


class SegmentAwardInput(NoUnknownKeysMixin, Input):
    award_id = serializers.RegexField(
        AWARD_ID_PATTERN, help_text="Yours, unique: the same body again is the same award."
    )
    points = points_field()
    description = text_field(max_length=255)


class SegmentAwardOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    award_id = serializers.CharField()
    segment = serializers.CharField()
    points = serializers.IntegerField()
    description = serializers.CharField()
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    members = serializers.IntegerField(help_text="Fixed when the award was asked.")
    credited = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

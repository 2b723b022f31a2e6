"""Input and output shapes of rewards-api/. Field names are those of the rewards system this service replaces."""

import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from core.fields import (
    MAX_BIGINT,
    MAX_MONEY,
    StrictCharField,
    StrictIntegerField,
    money_field,
    points_field,
    text_field,
    user_id_field,
    with_settings_max,
)
from core.limits import MAX_POINTS_PER_ENTRY
from rewards.models import DESCRIPTION_MAX_LENGTH, RedeemedItem, Reward
from rewards.selectors import EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT

# ---- inputs -------------------------------------------------------------------

CURSOR_PATTERN = r"^[1-9][0-9]{0,18}$"


def purchase_amount_max() -> Decimal:
    """The largest amount (in cents) whose points stay within one entry's cap at today's rate."""
    cents = math.ceil((MAX_POINTS_PER_ENTRY + 1) / settings.PURCHASE_POINTS_PER_UNIT * 100) - 1
    return min(MAX_MONEY, Decimal(cents) / 100)


class EarnPointsInput(serializers.Serializer):
    user_id = user_id_field()
    points_earned = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)


class PurchaseInput(serializers.Serializer):
    user_id = user_id_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    amount = money_field(required=False)
    price = money_field(required=False, help_text="Alias of amount.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rate is a setting: the cap on points becomes a cap on the amount.
        for name in ("amount", "price"):
            with_settings_max(self.fields[name], purchase_amount_max())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        amount, price = attrs.pop("amount", None), attrs.pop("price", None)
        if amount is None and price is None:
            raise serializers.ValidationError({"amount": ["This field is required."]})
        if amount is not None and price is not None and amount != price:
            raise serializers.ValidationError({"price": ["price is an alias of amount; they differ."]})
        attrs["amount"] = amount if amount is not None else price
        return attrs


class FeedbackInput(serializers.Serializer):
    user_id = user_id_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)


class RedeemCouponInput(serializers.Serializer):
    user_id = user_id_field()
    points_redeemed = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    coupon_amount = money_field()


class RedeemDonationInput(serializers.Serializer):
    user_id = user_id_field()
    points_redeemed = points_field()
    reward_description = text_field(max_length=DESCRIPTION_MAX_LENGTH)
    donation_amount = money_field()


class UseCouponInput(serializers.Serializer):
    item_code = text_field(max_length=64)


class UserQueryInput(serializers.Serializer):
    user_id = user_id_field()


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
    class Meta:
        model = RedeemedItem
        fields = ["item_code", "item_description", "amount"]


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


class BalanceOutput(BalancePartsOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()


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


class UseCouponOutput(RedeemedItemOutput):
    success = serializers.BooleanField(default=True)
    message = serializers.CharField()
    user_id = serializers.IntegerField()
    is_active = serializers.BooleanField()

    class Meta(RedeemedItemOutput.Meta):
        fields = ["success", "message", "user_id", "is_active", *RedeemedItemOutput.Meta.fields]


class CatalogOutput(serializers.Serializer):
    success = serializers.BooleanField(default=True)
    catalog = CatalogItemOutput(many=True)


class PageOutput(serializers.Serializer):
    has_more = serializers.BooleanField()
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page.")


class RedemptionsOutput(PageOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    redemption_history = RedemptionOutput(many=True)


class UserInfoOutput(BalanceOutput, PageOutput):
    reward_history = RewardHistoryOutput(many=True)


class AllHistoryOutput(PageOutput):
    success = serializers.BooleanField(default=True)
    user_id = serializers.IntegerField()
    reward_history = RewardHistoryOutput(many=True)


class EventsQueryInput(serializers.Serializer):
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

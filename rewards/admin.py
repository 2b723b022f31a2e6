from django.contrib import admin
from django.http import HttpRequest

from rewards.models import CatalogItem, RedeemedItem, Reward


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is written only by services; staff read it here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdmin):
    """The ledger: every change to a balance, newest first. Search by user_id, coupon code or text."""

    list_display = ["id", "created_at", "user_id", "kind", "points", "reward_description", "application"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter), "is_active"]
    search_fields = ["=user_id", "=redeemed_item__item_code", "reward_description"]
    search_help_text = "A user_id, a coupon code, or words of the description."
    list_select_related = ["application"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="points", ordering="points_earned")
    def points(self, obj: Reward) -> str:
        return f"+{obj.points_earned}" if obj.points_earned else f"-{obj.points_redeemed}"


@admin.register(RedeemedItem)
class RedeemedItemAdmin(ReadOnlyAdmin):
    list_display = ["item_code", "is_active", "kind", "item_description", "amount", "user_id", "created_at"]
    list_filter = ["kind", "reward__is_active"]
    search_fields = ["=item_code", "=reward__user_id"]
    search_help_text = "A coupon code or a user_id."
    list_select_related = ["reward"]

    @admin.display(description="user id")
    def user_id(self, obj: RedeemedItem) -> int:
        return obj.reward.user_id

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: RedeemedItem) -> bool:
        return obj.reward.is_active


@admin.register(CatalogItem)
class CatalogItemAdmin(admin.ModelAdmin):
    list_display = ["description", "kind", "points_cost", "amount", "is_active"]
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active"]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Redeemed items point at their catalog entry; retire an option instead.
        return False

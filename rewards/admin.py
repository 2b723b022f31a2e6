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
    list_display = [
        "id",
        "user_id",
        "kind",
        "points_earned",
        "points_redeemed",
        "reward_description",
        "is_active",
        "application",
        "created_at",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["=user_id", "reward_description"]
    list_select_related = ["application"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(RedeemedItem)
class RedeemedItemAdmin(ReadOnlyAdmin):
    list_display = ["item_code", "kind", "item_description", "amount", "user_id", "is_active", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=item_code", "=reward__user_id"]
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

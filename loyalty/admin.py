import json
import secrets
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from loyalty.models import (
    AccessLevel,
    Application,
    Customer,
    Order,
    OrderAward,
    OrderCounter,
    PersonalDataErasure,
    Referral,
    ReferralCode,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from loyalty.selectors import adjustment_submitted, customer_ids_for_search, customer_overview
from loyalty.services import (
    CLIENT_ACCESS_LEVELS,
    application_create,
    application_revoke,
    application_set_access_level,
)
from loyalty.services.adjustments import AdjustmentAlreadyPosted, staff_adjustment_post
from loyalty.services.personal_data import customer_export, personal_data_erase
from loyalty.services.webhooks import webhook_delivery_resend
from rewards.admin import CsvExportMixin, ReadOnlyAdmin, SafeModelAdmin
from rewards.selectors import account_balance
from rewards.services.tiers import ladder_settings, tier_fields


class ClientApplicationForm(forms.ModelForm):
    """Staff create and edit client applications; a MasterApp comes only from the command."""

    access_level = forms.ChoiceField(choices=[(level.value, level.label) for level in CLIENT_ACCESS_LEVELS])

    class Meta:
        model = Application
        fields = ["name", "access_level"]


@admin.register(Application)
class ApplicationAdmin(SafeModelAdmin):
    list_display = ["name", "status", "access_level", "last_used_at", "created_at", "app_id"]
    list_filter = ["access_level", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=app_id"]
    readonly_fields = ["app_id", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "access_level", "app_id", "created_at", "last_used_at", "revoked_at"]

    actions = ["revoke"]

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        kwargs["form"] = ClientApplicationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None):
        return ["name", "access_level"] if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return []
        if obj.access_level == AccessLevel.MASTER_APP or obj.revoked_at:
            return [*self.readonly_fields, "name", "access_level"]
        return [*self.readonly_fields, "name"]

    def save_model(self, request: HttpRequest, obj: Application, form, change: bool) -> None:
        if change:
            application_set_access_level(app_id=obj.pk, access_level=obj.access_level)
            return
        issued = application_create(name=obj.name, access_level=obj.access_level)
        # The admin's redirect and messages need the saved object.
        obj.pk = issued.app.pk
        obj.token_hash = issued.app.token_hash
        obj._state.adding = False
        messages.warning(request, f"Token for '{issued.app.name}' (shown once, store it now): {issued.token}")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Applications are revoked, not deleted: ledger rows name them.
        return False

    @admin.display(description="status", ordering="revoked_at")
    def status(self, obj: Application) -> str:
        return "active" if obj.revoked_at is None else f"revoked {obj.revoked_at:%Y-%m-%d}"

    @admin.action(description="Revoke the selected applications (their tokens stop working)", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        revoked = 0
        for app in queryset.active().exclude(access_level=AccessLevel.MASTER_APP):
            application_revoke(app_id=app.pk)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} application(s).")


class ReturnedFilter(admin.SimpleListFilter):
    title = "returned"
    parameter_name = "returned"

    def lookups(self, request: HttpRequest, model_admin):
        return [("yes", "Returned"), ("no", "Not returned")]

    def queryset(self, request: HttpRequest, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(returned_at__isnull=self.value() == "no")
        return queryset


class OrderAwardInline(admin.TabularInline):
    """Each earning rule's award for the order: its ledger row and what returns took back."""

    model = OrderAward
    fields = ["credit", "rule", "user_id", "points"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("credit__rule")

    @admin.display(description="rule")
    def rule(self, award: OrderAward) -> str:
        rule = award.credit.rule
        return f"{rule.name} (v{award.credit.rule_version})" if rule else "—"

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders come from client services; staff look them up here. Returns go through the API."""

    inlines = [OrderAwardInline]

    list_display = ["order_id", "user_id", "status", "points_awarded", "total_cost", "completed_at", "coefficient"]
    list_filter = [ReturnedFilter, ("completed_at", admin.DateFieldListFilter)]
    search_fields = ["=order_id", "=user_id"]
    search_help_text = "An order_id or a user_id."
    list_select_related = ["application"]
    show_full_result_count = False

    @admin.display(description="status", ordering="returned_at")
    def status(self, obj: Order) -> str:
        return "placed" if obj.returned_at is None else f"returned {obj.returned_at:%Y-%m-%d}"


@admin.register(OrderCounter)
class OrderCounterAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "orders_placed", "orders_returned"]
    search_fields = ["=user_id"]
    show_full_result_count = False


ADJUST_PERMISSION = "rewards.adjust_points"


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(
        min_value=-MAX_POINTS_PER_ENTRY,
        max_value=MAX_POINTS_PER_ENTRY,
        help_text="Positive adds points, negative takes them back (the balance may go below zero).",
    )
    reason = forms.CharField(max_length=200, help_text="Saved on the ledger row with your user name.")
    # Set by the confirmation page: the balance the staff user saw and agreed to change.
    confirmed_balance = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # This form's one-time key: a double click or a resent page posts the adjustment once.
    submission = forms.CharField(min_length=16, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission", secrets.token_urlsafe(24))

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment must add or remove at least one point.")
        return points


class OpenCustomerForm(forms.Form):
    user_id = forms.IntegerField(min_value=1, max_value=MAX_BIGINT, label="Customer user_id")


def tier_shown(user_id: int) -> tuple[str, str | None]:
    """The customer's tier and their qualifying points in words, as get-points answers them:
    "Silver, points x1.5, since …", "80 in the last 365 days; 920 more to Gold; …"."""
    fields = tier_fields(user_id)
    tier, progress = fields["tier"], fields["tier_progress"]
    if tier is None:
        return "No tier ladder is set.", None
    shown = tier["name"] + ("" if Decimal(tier["multiplier"]) == 1 else f", points x{tier['multiplier']}")
    if tier["since"]:
        shown += f", since {tier['since'][:10]}; requalifies on {tier['requalify_at'][:10]}"
    if tier["floor_until"]:
        shown += f", held by a staff floor until {tier['floor_until'][:10]}"
    qualifying = f"{progress['qualifying_points']:,} in the last {ladder_settings().window_days} days"
    if progress["next_tier"]:
        qualifying += f"; {progress['points_to_next']:,} more to {progress['next_tier']['name']}"
    if progress["points_to_retain"]:
        qualifying += f"; {progress['points_to_retain']:,} more by the requalification to keep {tier['name']}"
    return shown, qualifying


def adjustment_confirmation_reasons(*, points: int, balance_before: int) -> list[str]:
    """Why an adjustment must be confirmed on a second page (none: it need not be)."""
    reasons = []
    if abs(points) > settings.ADMIN_ADJUSTMENT_CONFIRM_POINTS:
        reasons.append(f"This adjustment is larger than {settings.ADMIN_ADJUSTMENT_CONFIRM_POINTS:,} points.")
    if points < 0 and balance_before + points < 0:
        reasons.append("This takes the balance below zero.")
    return reasons


@admin.register(Customer)
class CustomerAdmin(CsvExportMixin, ReadOnlyAdmin):
    """One page per customer: balance, orders, ledger history and a points adjustment.

    Viewing needs the view permission; the adjustment form needs ``rewards.adjust_points``,
    which no one holds until it is granted. A customer the ledger has never seen can be
    opened (and credited) by user_id.
    """

    list_display = ["user_id", "total_points", "total_points_earned", "total_points_redeemed", "updated_at"]
    csv_name = "balances"
    csv_columns = [
        ("user_id", lambda row: row.user_id),
        ("total_points", lambda row: row.total_points),
        ("total_points_earned", lambda row: row.total_points_earned),
        ("total_points_redeemed", lambda row: row.total_points_redeemed),
        ("pending_points", lambda row: row.pending_points),
        ("points_owed", lambda row: row.points_owed),
        ("expiring_points", lambda row: row.expiring_points),
        ("next_expiry_at", lambda row: row.next_expiry_at and row.next_expiry_at.isoformat()),
        ("next_available_at", lambda row: row.next_available_at and row.next_available_at.isoformat()),
        ("updated_at", lambda row: row.updated_at.isoformat()),
    ]
    search_fields = ["=user_id"]
    search_help_text = "A user_id, an order_id or a coupon code: the customer it belongs to."
    show_full_result_count = False
    actions = ["export_data", "erase_personal_data"]

    def has_personal_data_permission(self, request: HttpRequest) -> bool:
        # Who may change customers' records may hand them their data or erase it.
        return request.user.has_perm("rewards.change_account")

    @admin.action(permissions=["personal_data"], description="Export the selected customers' data (JSON)")
    def export_data(self, request: HttpRequest, queryset) -> HttpResponse:
        exported = [customer_export(user_id=customer.user_id) for customer in queryset.order_by("user_id")]
        response = HttpResponse(json.dumps(exported, cls=DjangoJSONEncoder, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="customers-export.json"'
        return response

    @admin.action(
        permissions=["personal_data"], description="Erase the selected customers' personal data (balances stay)"
    )
    def erase_personal_data(self, request: HttpRequest, queryset) -> None:
        by = f"staff {request.user.get_username()}"
        erasures = [personal_data_erase(user_id=customer.user_id, by=by) for customer in queryset.order_by("user_id")]
        done = [str(erasure.user_id) for erasure in erasures if erasure.changed]
        left = [str(erasure.user_id) for erasure in erasures if not erasure.changed]
        if done:
            self.message_user(request, f"Personal data erased: {', '.join(done)}.", level=messages.SUCCESS)
        if left:
            self.message_user(request, f"Nothing personal was left to erase: {', '.join(left)}.", level=messages.INFO)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        """A user_id, or the customer behind an order_id or a coupon code."""
        term = search_term.strip()
        if not term:
            return queryset, False
        owners = customer_ids_for_search(term)
        return queryset.filter(user_id__in=owners), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # "Add" opens a customer by user_id, to adjust one the ledger has not seen yet.
        return request.user.has_perm(ADJUST_PERMISSION)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OpenCustomerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            return redirect(reverse("admin:loyalty_customer_change", args=[form.cleaned_data["user_id"]]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Open a customer by user_id",
            "form": form,
        }
        return TemplateResponse(request, "admin/loyalty/customer/open.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        customer = self._customer(object_id)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        can_adjust = request.user.has_perm(ADJUST_PERMISSION)
        form = AdjustPointsForm(request.POST or None) if can_adjust else None
        if request.method == "POST":
            if form is None:
                raise PermissionDenied
            if form.is_valid():
                return self._adjust(request, customer, form)
        return self._detail(request, customer, form)

    def _customer(self, object_id: str) -> Customer:
        try:
            user_id = int(object_id)
        except ValueError:
            raise Http404("A customer is a positive whole user_id.") from None
        if not 0 < user_id <= MAX_BIGINT:
            raise Http404("A customer is a positive whole user_id.")
        return Customer.objects.filter(pk=user_id).first() or Customer(user_id=user_id)

    def _adjust(self, request: HttpRequest, customer: Customer, form: AdjustPointsForm):
        points, reason = form.cleaned_data["points"], form.cleaned_data["reason"]
        if adjustment_submitted(key=form.cleaned_data["submission"]):
            # Said first, before any "confirm again": the balance moved because of this very form.
            return self._already_posted(request)
        before = account_balance(user_id=customer.user_id).total_points
        confirmed = form.cleaned_data["confirmed_balance"] == before
        reasons = adjustment_confirmation_reasons(points=points, balance_before=before)
        if reasons and not confirmed:
            # Also shown again when the balance moved since the staff user confirmed.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Confirm the adjustment for customer {customer.user_id}",
                "customer": customer,
                "points": points,
                "reason": reason,
                "submission": form.cleaned_data["submission"],
                "balance_before": before,
                "balance_after": before + points,
                "reasons": reasons,
            }
            return TemplateResponse(request, "admin/loyalty/customer/adjust_confirm.html", context)
        try:
            posting = staff_adjustment_post(
                user_id=customer.user_id,
                points=points,
                reason=reason,
                staff=request.user.get_username(),
                submission=form.cleaned_data["submission"],
            )
        except AdjustmentAlreadyPosted:
            return self._already_posted(request)
        messages.success(request, f"Adjusted by {points:+d}; the balance is now {posting.balance.total_points}.")
        return redirect(request.path)

    def _already_posted(self, request: HttpRequest):
        messages.warning(request, "This adjustment was already posted (a second click?); it counts once.")
        return redirect(request.path)

    def _detail(self, request: HttpRequest, customer: Customer, form: AdjustPointsForm | None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Customer {customer.user_id}",
            "customer": customer,
            "overview": customer_overview(user_id=customer.user_id),
            "tier": tier_shown(customer.user_id),
            "form": form,
            "original": customer,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/loyalty/customer/detail.html", context)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "latency_ms", "response_excerpt", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SafeModelAdmin):
    """Applications manage their webhooks through the API; staff see them and resume paused ones."""

    list_display = ["id", "status", "application", "url", "consecutive_failures", "created_at"]
    list_filter = [("paused_at", admin.EmptyFieldListFilter), "is_active"]
    search_fields = ["url", "application__name"]
    readonly_fields = ["application", "url", "event_types", "description", "paused_at", "last_event_id", "created_at"]
    fields = [*readonly_fields[:4], "is_active", "paused_at", "consecutive_failures", "last_event_id", "created_at"]
    actions = ["resume"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resume the selected webhooks (clears the pause)", permissions=["change"])
    def resume(self, request: HttpRequest, queryset) -> None:
        resumed = queryset.filter(paused_at__isnull=False).update(paused_at=None, consecutive_failures=0)
        self.message_user(request, f"Resumed {resumed} webhook(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Every delivery and its attempts; a delivery that failed can be sent again."""

    list_display = ["id", "status", "event", "subscription", "user_id", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status"]
    search_fields = ["=user_id", "=event__id"]
    list_select_related = ["event", "subscription__application"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]
    show_full_result_count = False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loyalty.change_webhookdelivery")

    @admin.action(description="Send the selected deliveries again now", permissions=["resend"])
    def resend(self, request: HttpRequest, queryset) -> None:
        for delivery_id in queryset.values_list("id", flat=True):
            webhook_delivery_resend(delivery_id=delivery_id)
        self.message_user(request, f"Queued {queryset.count()} delivery(ies) to be sent again.")


@admin.register(ReferralCode)
class ReferralCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "user_id", "created_at"]
    search_fields = ["=code", "=user_id"]
    search_help_text = "A referral code or a user_id."
    show_full_result_count = False


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = ["referee_user_id", "referrer_user_id", "code", "rewarded_order", "created_at"]
    search_fields = ["=referee_user_id", "=referrer_user_id", "=code"]
    search_help_text = "A user_id (either side) or a referral code."
    show_full_result_count = False


@admin.register(PersonalDataErasure)
class PersonalDataErasureAdmin(ReadOnlyAdmin):
    """Every erasure of a customer's personal data: who, when and what."""

    list_display = ["user_id", "erased_by", "erased_at", "erased"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    ordering = ["-id"]

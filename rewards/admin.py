from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from pghistory.models import Events

from core.audit import AUDIT_SUBJECTS, AuditEntry, audit_latest
from core.exceptions import DomainError
from core.renderers import csv_download
from rewards import services
from rewards.forms import (
    CONDITION_ROWS,
    BadgeAdminForm,
    BadgeGiveForm,
    BadgeTakeBackForm,
    CatalogItemAdminForm,
    ChallengeAdminForm,
    RuleAdminForm,
    SegmentAdminForm,
    TierAdminForm,
    TierFloorForm,
    TierFormSet,
    TierLadderAdminForm,
    award_text,
    caps_text,
    rule_in_words,
)
from rewards.models import (
    Activity,
    Badge,
    BadgeAward,
    Birthday,
    CatalogItem,
    Challenge,
    ChallengeCompletion,
    ChallengeProgress,
    Contact,
    CustomerAttributes,
    LedgerDigest,
    Message,
    RedeemedItem,
    Reward,
    Rule,
    RuleVersion,
    Segment,
    SegmentAward,
    Tier,
    TierChange,
    TierLadder,
    TierStanding,
)
from rewards.segments import membership
from rewards.selectors import rows_by_keyset
from rewards.services import challenges as challenge_services
from rewards.services import segments as segment_services
from rewards.services.badges import badge_award, badge_create, badge_edit, badge_revoke
from rewards.services.catalog import catalog_item_create, catalog_item_edit


class CsvExportMixin:
    """An "Export CSV" button on the list: every row the list holds with its filters and search
    applied, streamed a page at a time (a million rows never sit in memory)."""

    change_list_template = "admin/csv_export_change_list.html"
    csv_name: str
    csv_columns: list[tuple[str, Callable[[Any], object]]]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export.csv", self.admin_site.admin_view(self.csv_export_view), name=name), *super().get_urls()]

    def csv_export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # The list's own answer to a filter it cannot apply: itself, with its error flag.
            changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            return HttpResponseRedirect(f"{changelist}?{ERROR_FLAG}=1")
        return csv_download(
            self._csv_rows(rows_by_keyset(queryset)), f"{self.csv_name}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        )

    def _csv_rows(self, rows: Iterator[Any]) -> Iterator[list[object]]:
        yield [name for name, _ in self.csv_columns]
        for row in rows:
            yield [value(row) for _, value in self.csv_columns]


class ListedLookupsOnly:
    """Query-string lookups only on the fields the list offers as filters.

    Django's admin otherwise accepts any lookup on a model's own fields from the query
    string: a staff user who may only view a list could ask ``?secret__startswith=whsec_a``
    and learn a webhook secret, a token hash or a password hash one character at a time
    from the result count. Here a lookup must start with a field of ``list_filter`` or
    ``date_hierarchy``; anything else is a 400.
    """

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] not in self._filterable_fields():
            return False
        return super().lookup_allowed(lookup, value, request)

    def _filterable_fields(self) -> set[str]:
        names: set[str] = set()
        if self.date_hierarchy:
            names.add(self.date_hierarchy.split(LOOKUP_SEP, 1)[0])
        for entry in self.list_filter:
            field = entry[0] if isinstance(entry, tuple | list) else entry
            if isinstance(field, str):
                names.add(field.split(LOOKUP_SEP, 1)[0])
            elif isinstance(field, type) and issubclass(field, admin.SimpleListFilter):
                names.add(field.parameter_name)
        return names


class SafeModelAdmin(ListedLookupsOnly, admin.ModelAdmin):
    """Every admin of this project: query-string lookups on listed filters only."""


class SafeUserAdmin(ListedLookupsOnly, UserAdmin):
    pass


class SafeGroupAdmin(ListedLookupsOnly, GroupAdmin):
    pass


# Django's own admins for users and groups, under the same rule (a user's password hash is a
# field like any other to the query string).
admin.site.unregister(User)
admin.site.register(User, SafeUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, SafeGroupAdmin)


class ReadOnlyAdmin(SafeModelAdmin):
    """The ledger is written only by services; staff read it here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Reward)
class RewardAdmin(CsvExportMixin, ReadOnlyAdmin):
    """The ledger: every change to a balance, newest first. Search by user_id, coupon code or text."""

    csv_name = "ledger"
    csv_columns = [
        ("id", lambda row: row.id),
        ("created_at", lambda row: row.created_at.isoformat()),
        ("user_id", lambda row: row.user_id),
        ("kind", lambda row: row.kind),
        ("points_earned", lambda row: row.points_earned),
        ("points_redeemed", lambda row: row.points_redeemed),
        ("pending_change", lambda row: row.pending_change),
        ("reward_description", lambda row: row.reward_description),
        ("is_active", lambda row: row.is_active),
        ("earned_date", lambda row: row.earned_date and row.earned_date.isoformat()),
        ("redeemed_date", lambda row: row.redeemed_date and row.redeemed_date.isoformat()),
        ("item_code", lambda row: getattr(getattr(row, "redeemed_item", None), "item_code", None)),
        ("application_id", lambda row: row.application_id),
        ("imported_from", lambda row: row.imported_from),
        ("rule_id", lambda row: row.rule_id),
        ("rule_version", lambda row: row.rule_version),
    ]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("redeemed_item")

    list_display = ["id", "created_at", "user_id", "kind", "points", "reward_description", "rule", "application"]
    list_filter = ["kind", ("created_at", admin.DateFieldListFilter), "is_active", "imported_from"]
    search_fields = ["=user_id", "=redeemed_item__item_code", "reward_description"]
    search_help_text = "A user_id, a coupon code, or words of the description."
    list_select_related = ["application", "rule"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="points", ordering="points_earned")
    def points(self, obj: Reward) -> str:
        if obj.points_earned:
            return f"+{obj.points_earned}"
        return f"-{obj.points_redeemed}" if obj.points_redeemed else "0"


class VoidActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=200, label="Reason (to void)", help_text="Why the coupons are voided: recorded."
    )


@admin.register(RedeemedItem)
class RedeemedItemAdmin(ReadOnlyAdmin):
    """Coupons and donations as redeemed; staff who may change them can void unused coupons
    (with a reason), through the same service as ``void-coupon/``."""

    list_display = [
        "item_code",
        "state",
        "kind",
        "item_description",
        "amount",
        "valid_until",
        "user_id",
        "created_at",
    ]
    list_filter = ["kind", "state"]
    search_fields = ["=item_code", "=reward__user_id"]
    search_help_text = "A coupon code or a user_id."
    list_select_related = ["reward"]
    action_form = VoidActionForm
    actions = ["void_coupons"]

    def has_void_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("rewards.change_redeemeditem")

    @admin.action(permissions=["void"], description="Void the selected coupons (their points go back)")
    def void_coupons(self, request: HttpRequest, queryset) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Say why in the reason field: nothing was voided.", level=messages.ERROR)
            return
        by = f"{reason} (staff {request.user.get_username()})"
        voided, refused = [], []
        for item in queryset.order_by("id"):
            try:
                refunded = services.coupon_void(item_code=item.item_code, reason=by, app=None)
            except DomainError as error:
                refused.append(f"{item.item_code}: {error.message}")
                continue
            voided.append(f"{item.item_code} ({refunded.points_refunded} points back)")
        if voided:
            self.message_user(request, f"Voided: {', '.join(voided)}.", level=messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not voided: {'; '.join(refused)}", level=messages.WARNING)

    @admin.display(description="user id")
    def user_id(self, obj: RedeemedItem) -> int:
        return obj.reward.user_id


@admin.register(CatalogItem)
class CatalogItemAdmin(SafeModelAdmin):
    """Rewards to redeem, saved through the catalog services with the API's validator."""

    form = CatalogItemAdminForm
    list_display = ["description", "kind", "points_cost", "amount", "is_active", "stock", "units_out", "limit_shown"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["units_out"]
    fieldsets = [
        (None, {"fields": ["kind", "description", ("points_cost", "amount"), "is_active"]}),
        ("Stock and limits", {"fields": [("stock", "units_out"), ("per_customer_limit", "limit_period")]}),
        ("Who and when", {"fields": [("available_from", "available_until"), "tier_codes_text", "segment_codes_text"]}),
        ("Coupons", {"fields": ["coupon_valid_days"]}),
    ]

    @admin.display(description="limit")
    def limit_shown(self, item: CatalogItem) -> str:
        if item.per_customer_limit is None:
            return "—"
        return f"{item.per_customer_limit} per customer" + (
            "" if item.limit_period == "ever" else f" a {item.limit_period}"
        )

    def save_model(self, request: HttpRequest, obj: CatalogItem, form, change: bool) -> None:
        if change:
            saved = catalog_item_edit(item_id=obj.pk, changes=form.catalog_definition)
        else:
            saved = catalog_item_create(definition=form.catalog_definition)
        obj.pk, obj.units_out = saved.pk, saved.units_out

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Redeemed items point at their catalog entry; retire an option instead.
        return False


def _lines(lines: list[str]) -> str:
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))


class RuleVersionInline(admin.TabularInline):
    """Each version as it was saved, in the form's words: what it awarded, when, and its caps."""

    model = RuleVersion
    fields = ["version", "created_at", "created_by", "rule_shown", "award", "conditions", "caps", "lots"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-version"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="rule")
    def rule_shown(self, version: RuleVersion) -> str:
        return _lines(rule_in_words(version.definition)["rule"])

    @admin.display(description="award")
    def award(self, version: RuleVersion) -> str:
        return _lines(rule_in_words(version.definition)["award"])

    @admin.display(description="when it applies (all must hold)")
    def conditions(self, version: RuleVersion) -> str:
        return _lines(rule_in_words(version.definition)["conditions"])

    @admin.display(description="caps")
    def caps(self, version: RuleVersion) -> str:
        return _lines(rule_in_words(version.definition)["caps"])

    @admin.display(description="the awarded points' lots")
    def lots(self, version: RuleVersion) -> str:
        return _lines(rule_in_words(version.definition)["lots"])


@admin.register(Rule)
class RuleAdmin(SafeModelAdmin):
    """Earning rules, in a form without JSON: the effect, the caps and up to five conditions.
    Saving goes through the rule services (a new version per change); a rule is archived
    (status), never deleted: its awards name it."""

    form = RuleAdminForm
    list_display = ["name", "trigger", "status", "priority", "award", "caps_shown", "version", "updated_at"]

    class Media:
        css = {"all": ["rewards/admin-rule-form.css"]}

    list_filter = ["trigger", "status"]
    search_fields = ["name", "activity_name"]
    readonly_fields = ["version", "updated_at", "updated_by"]
    inlines = [RuleVersionInline]
    fieldsets = [
        (None, {"fields": ["name", "trigger", "activity_name", "status", ("starts_at", "ends_at"), "from_version"]}),
        ("Running order", {"fields": ["priority", "exclusive"]}),
        (
            "Award",
            {"fields": ["effect_type", "effect_value", "effect_points", "effect_matching_items", "effect_role"]},
        ),
        (
            "When it applies (all must hold)",
            {
                "classes": ["rule-conditions"],
                "fields": [
                    (
                        f"condition_{row}_field",
                        f"condition_{row}_property",
                        f"condition_{row}_op",
                        f"condition_{row}_value",
                    )
                    for row in range(1, CONDITION_ROWS + 1)
                ],
            },
        ),
        ("Caps", {"fields": ["cap_per_event", ("cap_per_customer", "cap_period"), "cap_budget"]}),
        ("The awarded points' lots", {"fields": ["pending_days", "validity_days"]}),
        ("Version", {"fields": ["version", "updated_at", "updated_by"]}),
    ]

    @admin.display(description="award")
    def award(self, rule: Rule) -> str:
        return award_text(rule.effect)

    @admin.display(description="caps")
    def caps_shown(self, rule: Rule) -> str:
        return caps_text(rule.caps)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Rule | None = None):
        # A rule being added has no version yet.
        return self.fieldsets if obj is not None else self.fieldsets[:-1]

    def get_inlines(self, request: HttpRequest, obj: Rule | None):
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: Rule, form: RuleAdminForm, change: bool) -> None:
        by = f"staff {request.user.get_username()}"
        if change:
            saved = services.rule_edit(rule_id=obj.pk, changes=form.rule_definition, by=by)
        else:
            saved = services.rule_create(definition=form.rule_definition, by=by)
        obj.pk, obj.version, obj.updated_at, obj.updated_by = (
            saved.pk,
            saved.version,
            saved.updated_at,
            saved.updated_by,
        )


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["activity_id", "name", "user_id", "points_awarded", "occurred_at", "application"]
    list_filter = ["name"]
    search_fields = ["=user_id", "=activity_id"]
    search_help_text = "A user_id or an activity_id."
    list_select_related = ["application"]
    ordering = ["-id"]
    show_full_result_count = False


@admin.register(Birthday)
class BirthdayAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "month", "day", "changed_on", "awarded_year"]
    list_filter = ["month"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    show_full_result_count = False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "email", "language", "updated_at"]
    list_filter = ["language"]
    search_fields = ["=user_id", "=email"]
    search_help_text = "A user_id or an exact email."
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The messages' outbox by state; a failed one can be sent again (its tries start over)."""

    list_display = ["id", "user_id", "kind", "state", "attempts", "to_email", "language", "sent_at", "created_at"]
    list_filter = ["state", "kind", "topic"]
    search_fields = ["=user_id", "=event__id"]
    search_help_text = "A user_id or an event id."
    ordering = ["-id"]
    actions = ["resend_failed"]
    show_full_result_count = False

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("rewards.change_message")

    @admin.action(description="Send the selected failed messages again", permissions=["resend"])
    def resend_failed(self, request: HttpRequest, queryset) -> None:
        resent = sum(services.message_resend(message_id=pk) for pk in queryset.values_list("id", flat=True))
        self.message_user(request, f"{resent} failed message(s) will be sent again.")


class TierInline(admin.TabularInline):
    model = Tier
    form = TierAdminForm
    formset = TierFormSet
    fields = ["code", "name", "entry_points", "retain_points", "multiplier", "benefits_text"]
    ordering = ["entry_points"]
    extra = 1


@admin.register(TierLadder)
class TierLadderAdmin(SafeModelAdmin):
    """The one tier ladder: its settings and its tiers, saved whole through the tier services
    (the API's validator), as ``PUT loyalty-api/tiers`` does."""

    form = TierLadderAdminForm
    inlines = [TierInline]
    list_display = ["__str__", "tiers_shown", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    @admin.display(description="tiers")
    def tiers_shown(self, ladder: TierLadder) -> str:
        return ", ".join(f"{tier.name} from {tier.entry_points:,}" for tier in ladder.tiers.order_by("entry_points"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not TierLadder.objects.exists()

    def save_model(self, request: HttpRequest, obj: TierLadder, form, change: bool) -> None:
        obj.pk = TierLadder.LADDER_ID  # written with its tiers, below

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        services.ladder_set(definition=formset.ladder_definition, by=f"staff {request.user.get_username()}")
        # What admin's change message reads of a formset the ORM would have saved.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: TierLadder) -> None:
        services.ladder_set(definition={"tiers": []}, by=f"staff {request.user.get_username()}")


@admin.register(TierStanding)
class TierStandingAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "tier_code", "since", "requalify_at", "floor_code", "floor_until"]
    list_filter = ["tier_code"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    show_full_result_count = False


@admin.register(TierChange)
class TierChangeAdmin(SafeModelAdmin):
    """Every tier change, and where staff set a floor: "add" sets a customer's floor (a tier
    they keep at least until a date, with a reason), through the tier services."""

    list_display = [
        "user_id",
        "cause",
        "from_code",
        "to_code",
        "qualifying_points",
        "floor_until",
        "changed_at",
        "changed_by",
        "reason",
    ]
    list_filter = ["cause"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    ordering = ["-id"]
    show_full_result_count = False

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = TierFloorForm
            kwargs["fields"] = ["user_id", "tier", "until", "reason"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in TierChange._meta.fields] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: TierChange, form, change: bool) -> None:
        data = form.cleaned_data
        saved = services.tier_floor_set(
            user_id=data["user_id"],
            code=data["tier"],
            until=data["until"],
            reason=data["reason"],
            by=f"staff {request.user.get_username()}",
        )
        obj.pk = saved.pk

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# ---- segments ------------------------------------------------------------------------------------


@admin.register(Segment)
class SegmentAdmin(SafeModelAdmin):
    """Segments, saved through the segments' services with the API's validation; each shows how
    many customers are in it now (the one membership query)."""

    form = SegmentAdminForm
    list_display = ["code", "name", "conditions_shown", "updated_at", "updated_by"]
    search_fields = ["code", "name"]
    readonly_fields = ["members_now", "updated_at", "updated_by"]
    fields = ["code", "name", "description", "conditions", "members_now", "updated_at", "updated_by"]

    @admin.display(description="conditions")
    def conditions_shown(self, segment: Segment) -> str:
        if not segment.conditions:
            return "every customer"
        return "; ".join(
            f"{c['field']} {c['op']} {c['value']}" + (f" (last {c['window_days']} days)" if "window_days" in c else "")
            for c in segment.conditions
        )

    @admin.display(description="members now")
    def members_now(self, segment: Segment) -> str:
        return f"{membership.segment_count(segment):,}" if segment.pk else "—"

    def save_model(self, request: HttpRequest, obj: Segment, form, change: bool) -> None:
        by = f"staff {request.user.get_username()}"
        if change:
            saved = segment_services.segment_edit(code=obj.code, changes=form.segment_definition, by=by)
        else:
            saved = segment_services.segment_create(definition=form.segment_definition, by=by)
        obj.pk, obj.updated_at, obj.updated_by = saved.pk, saved.updated_at, saved.updated_by


@admin.register(SegmentAward)
class SegmentAwardAdmin(ReadOnlyAdmin):
    list_display = ["award_id", "state", "segment_code", "points", "members", "credited", "created_at", "finished_at"]
    list_filter = ["state"]
    search_fields = ["award_id", "segment_code"]


@admin.register(CustomerAttributes)
class CustomerAttributesAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "attributes", "updated_at"]
    search_fields = ["user_id"]


AUDIT_ADMIN_PAGE = 100


@admin.register(Events)
class AuditAdmin(ReadOnlyAdmin):
    """Who changed what (core/audit.py): every recorded change, newest first, read only.

    The list is read by ``audit_latest``, the API's own bounded read (a page costs what it holds,
    whatever the record holds), a page of 100 at a time with a cursor (``?before=<id>``), and
    filtered by subject (``?subject=``)."""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        subjects = sorted(set(AUDIT_SUBJECTS.values()))
        subject = request.GET.get("subject") or None
        raw_before = request.GET.get("before", "")
        if (subject is not None and subject not in subjects) or (raw_before and not raw_before.isdigit()):
            return HttpResponseRedirect(request.path)
        entries = audit_latest(
            subject=subject, before_id=int(raw_before) if raw_before else None, limit=AUDIT_ADMIN_PAGE
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Audit: who changed what",
            "opts": self.model._meta,
            "subjects": [(name, name.replace("_", " ")) for name in subjects],
            "subject": subject,
            "rows": [(entry, _audit_who(entry), _audit_changes(entry)) for entry in entries],
            "older": entries[-1].id if len(entries) == AUDIT_ADMIN_PAGE else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/audit_list.html", context)


def _audit_who(entry: AuditEntry) -> str:
    actor = entry.actor or {}
    if actor.get("type") == "staff":
        return f"staff {actor['username']}"
    if actor.get("type") == "application":
        return f"application {actor['name']}"
    return "no actor (outside the API and admin)"


def _audit_changes(entry: AuditEntry) -> str:
    if entry.action == "update" and entry.before is not None and entry.after is not None:
        changed = sorted(
            (name, entry.before[name], value) for name, value in entry.after.items() if entry.before.get(name) != value
        )
        return format_html_join(mark_safe("<br>"), "{}: {} → {}", changed)
    return format_html_join(mark_safe("<br>"), "{}: {}", sorted((entry.after or entry.before or {}).items()))


def _hex(value: bytes | memoryview | None) -> str:
    return "—" if value is None else bytes(value).hex()


@admin.register(LedgerDigest)
class LedgerDigestAdmin(ReadOnlyAdmin):
    """The signed digests of the ledger's hash chains (docs/VERIFY.md), newest first: what each
    holds and signs, in hex, as the public endpoint gives them. Read only: a digest is never
    rewritten."""

    list_display = ["id", "cut_at", "heads_count", "audit_seq", "signature_shown", "previous_shown"]
    list_display_links = ["id", "cut_at"]
    ordering = ["-id"]
    show_full_result_count = False
    fields = [
        "id",
        "cut_at",
        "heads_count",
        "heads_root_shown",
        "audit_seq",
        "audit_hash_shown",
        "previous_shown",
        "hash_shown",
        "public_key_shown",
        "signature_shown",
    ]
    readonly_fields = fields

    @admin.display(description="signature")
    def signature_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.signature)

    @admin.display(description="previous digest's hash")
    def previous_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.previous_hash)

    @admin.display(description="heads' Merkle root")
    def heads_root_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.heads_root)

    @admin.display(description="audit chain's head hash")
    def audit_hash_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.audit_hash)

    @admin.display(description="hash (what is signed)")
    def hash_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.hash)

    @admin.display(description="public key")
    def public_key_shown(self, digest: LedgerDigest) -> str:
        return _hex(digest.public_key)


@admin.register(Badge)
class BadgeAdmin(SafeModelAdmin):
    """Badges, created and edited through the badge services with the API's validator."""

    form = BadgeAdminForm
    list_display = ["code", "name", "description", "image_url", "updated_at"]
    search_fields = ["code", "name"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Badge, form, change: bool) -> None:
        definition = form.badge_definition
        try:
            saved = badge_edit(code=obj.code, changes=definition) if change else badge_create(definition=definition)
        except DomainError as refused:
            # Two staff creating one code at once: the second is told, nothing is written twice.
            messages.error(request, refused.message)
            saved = Badge.objects.get(code=obj.code)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Awards name their badge; a badge stays.
        return False


@admin.register(BadgeAward)
class BadgeAwardAdmin(SafeModelAdmin):
    """Every badge given and taken back. "Add" gives a customer a badge (the add permission);
    an award's page takes it back with a reason (the change permission). Nothing is deleted:
    a taken-back award keeps its row with who took it back and why."""

    list_display = ["user_id", "badge", "status", "awarded_at", "awarded_by", "reason", "revoked_by", "revoke_reason"]
    list_filter = ["badge", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["badge"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    ordering = ["-id"]
    show_full_result_count = False

    @admin.display(description="status", ordering="revoked_at")
    def status(self, award: BadgeAward) -> str:
        return "held" if award.revoked_at is None else f"taken back {award.revoked_at:%Y-%m-%d}"

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"], kwargs["fields"] = BadgeGiveForm, ["user_id", "badge", "reason"]
        else:
            kwargs["form"] = BadgeTakeBackForm
            kwargs["fields"] = [] if obj.revoked_at else ["take_back_reason"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return ["user_id", "badge", "reason"]
        shown = [field.name for field in BadgeAward._meta.fields if field.name != "id"]
        return shown if obj.revoked_at else [*shown, "take_back_reason"]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [field.name for field in BadgeAward._meta.fields] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: BadgeAward, form, change: bool) -> None:
        staff = f"staff {request.user.get_username()}"
        try:
            if not change:
                data = form.cleaned_data
                saved = badge_award(user_id=data["user_id"], code=data["badge"].code, reason=data["reason"], by=staff)
                obj.pk = saved.pk
            elif form.cleaned_data.get("take_back_reason"):
                badge_revoke(award_id=obj.pk, reason=form.cleaned_data["take_back_reason"], by=staff)
        except DomainError as refused:
            # Another staff user was quicker (the same badge given, or this one taken back).
            messages.error(request, refused.message)
            if not change:
                obj.pk = BadgeAward.objects.get(user_id=obj.user_id, badge=obj.badge, revoked_at=None).pk

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# ---- challenges ----------------------------------------------------------------------------------


@admin.register(Challenge)
class ChallengeAdmin(SafeModelAdmin):
    """Challenges, created and edited through the challenge services with the API's grammar;
    never deleted (progress and completions name them): archive one instead."""

    form = ChallengeAdminForm
    list_display = ["code", "name", "status", "goal_shown", "window", "reward", "updated_at", "updated_by"]
    list_filter = ["status", "trigger"]
    search_fields = ["code", "name"]
    readonly_fields = ["trigger", "created_at", "updated_at", "updated_by"]

    @admin.display(description="goal")
    def goal_shown(self, challenge: Challenge) -> str:
        goal = challenge.goal
        shown = f"{goal['metric']} {goal['target']}"
        conditions = "; ".join(f"{c['field']} {c['op']} {c['value']}" for c in goal.get("conditions", []))
        return f"{shown} ({conditions})" if conditions else shown

    def save_model(self, request: HttpRequest, obj: Challenge, form, change: bool) -> None:
        by = f"staff {request.user.get_username()}"
        definition = form.challenge_definition
        try:
            if change:
                saved = challenge_services.challenge_edit(code=obj.code, changes=definition, by=by)
            else:
                saved = challenge_services.challenge_create(definition=definition, by=by)
        except DomainError as refused:
            # Two staff creating one code at once: the second is told, nothing is written twice.
            messages.error(request, refused.message)
            saved = Challenge.objects.get(code=obj.code)
        obj.pk, obj.trigger, obj.created_at = saved.pk, saved.trigger, saved.created_at
        obj.updated_at, obj.updated_by = saved.updated_at, saved.updated_by

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ChallengeProgress)
class ChallengeProgressAdmin(ReadOnlyAdmin):
    list_display = ["user_id", "challenge", "period_start", "value", "updated_at"]
    list_filter = ["challenge"]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    show_full_result_count = False


@admin.register(ChallengeCompletion)
class ChallengeCompletionAdmin(ReadOnlyAdmin):
    list_display = [
        "user_id",
        "challenge",
        "period_start",
        "completed_at",
        "stands_at",
        "points",
        "badge_award",
        "cancelled_at",
    ]
    list_filter = ["challenge", ("cancelled_at", admin.EmptyFieldListFilter)]
    search_fields = ["=user_id"]
    search_help_text = "A user_id."
    ordering = ["-id"]
    show_full_result_count = False

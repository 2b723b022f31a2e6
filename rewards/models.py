"""The points ledger, the per-customer accounts beside it, the lots, and the reward catalog.

``Reward`` and ``RedeemedItem`` keep the tables of the rewards system this service
replaces. A ``Reward`` row is one immutable change to a customer's balance; ``Account``
holds the running totals so a balance is read from one row, and is updated in the same
transaction as the ledger row it reflects.

Every credit is also a ``PointLot``: its points, what remains of them, when they become
available and when they expire. Debits consume available lots (``LotConsumption``),
soonest-expiring first. Every change to a customer's lots happens under that customer's
``Account`` row lock.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.audit import audited

DESCRIPTION_MAX_LENGTH = 255
ITEM_CODE_LENGTH = 16
# What an erasure of a customer's personal data leaves in place of a free text, and of the
# fingerprint of a request it erased parts of (never a SHA-256 hex digest, so never a match).
ERASED = "[erased]"


class RewardKind(models.TextChoices):
    EARN = "earn", "Earned (event or bonus)"
    PURCHASE = "purchase", "Purchase"
    FEEDBACK = "feedback", "Feedback"
    ORDER = "order", "Order"
    ORDER_RETURN = "order_return", "Order returned"
    COUPON = "coupon", "Coupon redemption"
    DONATION = "donation", "Donation redemption"
    ADJUSTMENT = "adjustment", "Staff adjustment"
    RELEASE = "release", "Pending points became available"
    EXPIRY = "expiry", "Points expired"
    IMPORT = "import", "Imported balance"
    ACTIVITY = "activity", "Activity"
    BIRTHDAY = "birthday", "Birthday"
    REFERRAL = "referral", "Referral"
    TIER = "tier", "Tier award"
    REFUND = "refund", "Points given back (a coupon voided or expired)"
    CHALLENGE = "challenge", "Challenge completed"
    CHALLENGE_CANCEL = "challenge_cancel", "Challenge completion cancelled"


class ImportSource(models.TextChoices):
    """The systems whose data this service took over (see ``manage.py import_*``)."""

    CPS714 = "cps714", "Rewards system (CPS714)"
    CLP = "clp", "CLP API"
    CSV = "csv", "Balances CSV"


class CatalogKind(models.TextChoices):
    COUPON = "coupon", "Coupon"
    DONATION = "donation", "Donation"


class Account(models.Model):
    """One customer's running totals; always equal to the sums of their ledger rows and lots.

    ``total_points_earned - total_points_redeemed`` is what can be spent (available).
    ``pending_points`` are credited but not yet available (a return window).
    ``points_owed`` is the part of a debit no lot could cover (a return after the points
    were spent): the balance is below zero by that much, and the next points that become
    available pay it first. ``expiring_points`` (within the notice window) and the next
    dates are kept here so that every part of a balance is read from this one row.
    """

    user_id = models.BigIntegerField(primary_key=True)
    total_points_earned = models.BigIntegerField(default=0)
    total_points_redeemed = models.BigIntegerField(default=0)
    pending_points = models.BigIntegerField(default=0)
    points_owed = models.BigIntegerField(default=0)
    expiring_points = models.BigIntegerField(default=0)
    next_expiry_at = models.DateTimeField(null=True, blank=True)
    next_available_at = models.DateTimeField(null=True, blank=True)
    # The head of the customer's hash chain: the seq and hash of their last ledger row (0 and
    # NULL before the first). Kept by the ledger functions under this row's lock (docs/VERIFY.md).
    chain_seq = models.BigIntegerField(default=0, db_default=0)
    chain_hash = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("adjust_points", "Can adjust a customer's points (through the ledger)")]
        constraints = [
            models.CheckConstraint(condition=Q(user_id__gt=0), name="account_user_id_positive"),
            models.CheckConstraint(
                condition=Q(total_points_earned__gte=0) & Q(total_points_redeemed__gte=0),
                name="account_totals_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(pending_points__gte=0) & Q(points_owed__gte=0) & Q(expiring_points__gte=0),
                name="account_parts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Account {self.user_id}: {self.total_points} points"

    @property
    def total_points(self) -> int:
        return self.total_points_earned - self.total_points_redeemed


class ImmutableRowError(Exception):
    pass


class Reward(models.Model):
    """One ledger row. Never edited or deleted, except ``is_active`` on a coupon's row."""

    user_id = models.BigIntegerField()
    kind = models.CharField(max_length=20, choices=RewardKind.choices)
    points_earned = models.BigIntegerField(default=0)
    points_redeemed = models.BigIntegerField(default=0)
    reward_description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    earned_date = models.DateTimeField(null=True, blank=True)
    redeemed_date = models.DateTimeField(null=True, blank=True)
    # The change to the customer's pending points: +n when a credit waits for its return
    # window, -n when those points become available (with points_earned +n) or are cancelled.
    pending_change = models.BigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    application = models.ForeignKey(
        settings.REWARDS_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Empty for rows this service wrote; else the system the row was imported from.
    imported_from = models.CharField(max_length=10, choices=ImportSource.choices, blank=True, db_default="")
    # The earning rule (and its version) whose award this row is; empty for every other row.
    # Not indexed: rows are read by customer, and an index here would slow every credit.
    rule = models.ForeignKey("Rule", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False)
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    # The hash chain (docs/VERIFY.md), written by ledger_row: the customer's row number (1, 2, 3
    # ... with no gap), SHA-256 of the previous row's hash and this row's canonical form, and a
    # salted commitment to the description, SHA-256(salt || description): the canonical form
    # holds the commitment, so erasure removes the description and its salt (NULL) and the
    # chain still verifies.
    seq = models.BigIntegerField()
    hash = models.BinaryField()
    description_salt = models.BinaryField(null=True, blank=True)
    description_commitment = models.BinaryField()

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["user_id", "-id"], name="reward_user_newest")]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_earned__gte=0) & Q(points_redeemed__gte=0),
                name="reward_points_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(points_earned=0) | Q(points_redeemed=0),
                name="reward_one_direction",
            ),
            models.CheckConstraint(
                condition=Q(rule__isnull=True, rule_version__isnull=True)
                | Q(rule__isnull=False, rule_version__isnull=False),
                name="reward_rule_with_version",
            ),
        ]

    def __str__(self) -> str:
        if self.points_earned or self.points_redeemed:
            sign = f"+{self.points_earned}" if self.points_earned else f"-{self.points_redeemed}"
        else:
            sign = f"pending {self.pending_change:+d}"
        return f"{self.user_id} {sign} ({self.kind})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableRowError("Ledger rows are append-only; post a new row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("Ledger rows are append-only; post a new row instead.")


class CatalogItemQuerySet(models.QuerySet["CatalogItem"]):
    def active(self) -> "CatalogItemQuerySet":
        return self.filter(is_active=True)


class CapPeriod(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week"
    MONTH = "month", "Month"
    YEAR = "year", "Year"
    EVER = "ever", "Ever"


class RedeemedItemState(models.TextChoices):
    ACTIVE = "active", "Active"
    USED = "used", "Used"
    VOIDED = "voided", "Voided"
    EXPIRED = "expired", "Expired"


# units_out moves with every redemption and void: those are the ledger's, not a change of the item.
@audited("catalog_item", exclude=["units_out"])
class CatalogItem(models.Model):
    """A redeemable option; staff set the exchange rate here, never a client."""

    kind = models.CharField(max_length=20, choices=CatalogKind.choices)
    points_cost = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    is_active = models.BooleanField(default=True)
    # How many units there are in all (null: no limit); units_out counts those redeemed and not
    # given back (a void, a refunded expiry), changed under this row's lock.
    stock = models.PositiveIntegerField(null=True, blank=True)
    units_out = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # At most this many redemptions per customer per limit_period (null: no limit).
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    limit_period = models.CharField(max_length=10, choices=CapPeriod.choices, default=CapPeriod.EVER, db_default="ever")
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    # The tiers whose customers may redeem it (empty: every customer).
    tier_codes = models.JSONField(default=list, db_default=[], blank=True)
    # The segments whose members may redeem it (empty: every customer); a member of any of them may.
    segment_codes = models.JSONField(default=list, db_default=[], blank=True)
    # A coupon redeemed from it is valid this many days (null: it never expires).
    coupon_valid_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CatalogItemQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "points_cost", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="catalog_points_positive"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="catalog_amount_positive"),
            models.UniqueConstraint(
                fields=["kind", "points_cost", "amount"],
                condition=Q(is_active=True),
                name="catalog_one_active_option_per_price",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_from__lt=models.F("available_until")),
                name="catalog_available_from_before_until",
                violation_error_message="available_from must be before available_until.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.points_cost} points)"

    @property
    def stock_left(self) -> int | None:
        return None if self.stock is None else max(self.stock - self.units_out, 0)


class RedeemedItem(models.Model):
    """What a redemption bought: a coupon (usable once) or a donation."""

    reward = models.OneToOneField(Reward, on_delete=models.PROTECT, related_name="redeemed_item")
    # Empty only for an imported redemption that matched no catalog option of this service.
    catalog_item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=CatalogKind.choices)
    item_code = models.CharField(max_length=ITEM_CODE_LENGTH, unique=True)
    item_description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField()
    # A coupon: active until used, voided or expired; usable until valid_until (null: no end).
    state = models.CharField(
        max_length=10, choices=RedeemedItemState.choices, default=RedeemedItemState.ACTIVE, db_default="active"
    )
    valid_until = models.DateTimeField(null=True, blank=True)
    # What the redemption counted, so a void gives back exactly that: a unit of the catalog
    # item's stock, and one of the customer's redemptions in the limit period that starts then.
    stock_counted = models.BooleanField(default=False, db_default=False)
    limit_period = models.CharField(max_length=10, blank=True, default="", db_default="")
    limit_period_start = models.DateField(null=True, blank=True)
    # The ledger row that gave the points back (a void, or an expiry refunded).
    refund = models.OneToOneField(Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="refunded_item")
    refund_reason = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="", db_default="")
    # When ``coupon.expiring_soon`` was written for it (COUPON_NOTICE_DAYS before valid_until).
    expiry_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # What the coupon expiry job reads: active coupons past their date, nothing else.
            models.Index(
                fields=["valid_until"], condition=Q(state="active", valid_until__isnull=False), name="coupon_expiry_due"
            ),
            # What the coupon notice job reads: active coupons with a date, not yet noticed.
            models.Index(
                fields=["valid_until"],
                condition=Q(state="active", valid_until__isnull=False, expiry_notice_at__isnull=True),
                name="coupon_notice_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_code}"


class CatalogRedemptionCount(models.Model):
    """How many of a catalog item a customer redeemed in the limit period that starts on
    ``period_start`` (not counting those given back), taken under the row lock."""

    catalog_item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="+", db_index=False)
    user_id = models.BigIntegerField()
    period = models.CharField(max_length=10)
    period_start = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["catalog_item", "user_id", "period", "period_start"], name="catalog_redemption_count_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.catalog_item_id} {self.period} {self.period_start} of {self.user_id}: {self.count}"


# Kept here so every reader of the ledger agrees on what a redemption is.
REDEMPTION_KINDS = (RewardKind.COUPON, RewardKind.DONATION)


class PointLot(models.Model):
    """The points of one credit: pending until ``available_at``, then spendable until ``expires_at``.

    ``remaining = points - consumed - expired_points - cancelled_points`` (consumed: the sum of
    its ``LotConsumption`` rows). A pending lot is released by the lifecycle job (a ledger row
    of kind ``release``); a pending lot's points can be cancelled by a return, never spent.
    """

    user_id = models.BigIntegerField()
    credit = models.OneToOneField(Reward, on_delete=models.PROTECT, related_name="lot")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    pending = models.BooleanField()
    available_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set when the lot entered the expiry notice window; its remaining points then count in
    # the account's expiring_points.
    notice_at = models.DateTimeField(null=True, blank=True)
    expired_points = models.BigIntegerField(default=0)
    cancelled_points = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Debits take a customer's open lots in this order: soonest-expiring first, never-expiring
            # last (NULLs sort last ascending), oldest first among equals.
            models.Index(
                fields=["user_id", "expires_at", "id"],
                condition=Q(remaining__gt=0, pending=False),
                name="lot_open_by_expiry",
            ),
            # What the lifecycle job finds due, without reading the lots that are not.
            models.Index(
                fields=["available_at", "id"], condition=Q(remaining__gt=0, pending=True), name="lot_due_release"
            ),
            models.Index(
                fields=["expires_at", "id"],
                condition=Q(remaining__gt=0, pending=False, expires_at__isnull=False),
                name="lot_due_expiry",
            ),
            models.Index(
                fields=["expires_at", "id"],
                condition=Q(remaining__gt=0, pending=False, notice_at__isnull=True, expires_at__isnull=False),
                name="lot_due_notice",
            ),
            models.Index(
                fields=["user_id", "available_at"],
                condition=Q(remaining__gt=0, pending=True),
                name="lot_pending_by_user",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="lot_points_not_negative"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="lot_remaining_not_negative"),
            models.CheckConstraint(
                condition=Q(expired_points__gte=0) & Q(cancelled_points__gte=0), name="lot_removals_not_negative"
            ),
            models.CheckConstraint(condition=Q(remaining__lte=models.F("points")), name="lot_remaining_within_points"),
        ]

    def __str__(self) -> str:
        state = "pending" if self.pending else "available"
        return f"Lot {self.pk} of {self.user_id}: {self.remaining}/{self.points} {state}"


class LotConsumption(models.Model):
    """Points a debit took from a lot. ``debit`` is empty when the lot paid an earlier deficit
    (points owed) as it became available; a refund's row gives back (negative points) what its
    redemption took."""

    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="consumptions")
    # Not indexed: consumptions are read by lot; an index per debit would only slow every debit.
    debit = models.ForeignKey(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="consumptions", db_index=False
    )
    points = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        # A refund gives a lot back what a redemption took from it: minus that, against the refund row.
        constraints = [models.CheckConstraint(condition=~Q(points=0), name="consumption_points_not_zero")]

    def __str__(self) -> str:
        return f"{self.points} from lot {self.lot_id}"


class IdempotencyKey(models.Model):
    """A write request's Idempotency-Key and the response it got, kept 24 hours.

    The same key with the same request replays the response; with another request
    it is refused. Keys are scoped to the application that sent them and, for a
    customer session, to that customer as well: a scope is its own column, never
    part of the key's text, so no client can write a key into another's scope.
    """

    application = models.ForeignKey(settings.REWARDS_APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+")
    customer_user_id = models.BigIntegerField(
        null=True, blank=True, help_text="Set when a customer session sent the key; empty for the application itself."
    )
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "key"],
                condition=Q(customer_user_id__isnull=True),
                name="idempotency_key_per_app",
            ),
            models.UniqueConstraint(
                fields=["application", "customer_user_id", "key"],
                condition=Q(customer_user_id__isnull=False),
                name="idempotency_key_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_age")]

    def __str__(self) -> str:
        return self.key


class EventType(models.TextChoices):
    POINTS_EARNED = "points.earned", "Points earned"
    POINTS_REDEEMED = "points.redeemed", "Points redeemed or taken back"
    COUPON_USED = "coupon.used", "Coupon used"
    ORDER_RECORDED = "order.recorded", "Order recorded"
    ORDER_RETURNED = "order.returned", "Order returned"
    POINTS_AVAILABLE = "points.available", "Pending points became available"
    POINTS_EXPIRED = "points.expired", "Points expired"
    POINTS_EXPIRING_SOON = "points.expiring_soon", "Points expiring soon"
    APPLICATION_REVOKED = "application.revoked", "Application revoked"
    POINTS_IMPORTED = "points.imported", "Points imported from a predecessor system"
    TIER_UPGRADED = "tier.upgraded", "Tier upgraded"
    TIER_DOWNGRADED = "tier.downgraded", "Tier downgraded"
    COUPON_VOIDED = "coupon.voided", "Coupon voided (its points given back)"
    COUPON_EXPIRED = "coupon.expired", "Coupon expired"
    COUPON_EXPIRING_SOON = "coupon.expiring_soon", "Coupon about to expire"
    MESSAGE_SENT = "message.sent", "Message to a customer sent"
    MESSAGE_FAILED = "message.failed", "Message to a customer failed"
    SEGMENT_AWARD_DONE = "segment.award_done", "A bulk award to a segment credited every member"
    BADGE_AWARDED = "badge.awarded", "Badge awarded"
    BADGE_REVOKED = "badge.revoked", "Badge taken back"
    CHALLENGE_COMPLETED = "challenge.completed", "Challenge completed"
    CHALLENGE_CANCELLED = "challenge.cancelled", "Challenge completion cancelled by a return"


class Event(models.Model):
    """The transactional outbox: what happened, written in the same transaction as the change.

    An event is never lost (it commits with its change) and never emitted for a write that
    rolled back. ``xact_id`` is the writing transaction's id (PostgreSQL fills it in), so a
    reader can stop before events whose transactions may still be running: ids are handed out
    before commit, so a smaller id can become visible after a larger one.
    """

    type = models.CharField(max_length=40, choices=EventType.choices)
    user_id = models.BigIntegerField(null=True, blank=True)
    # Events are read by id only (polling, dispatch): no other index slows the writes that add them.
    application = models.ForeignKey(
        settings.REWARDS_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    reward = models.ForeignKey(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    data = models.JSONField()
    created_at = models.DateTimeField()
    xact_id = models.BigIntegerField(db_default=0, editable=False)

    def __str__(self) -> str:
        return f"{self.pk} {self.type} ({self.user_id})"


class ImportedRow(models.Model):
    """A source row an import has taken over: each is imported once, whatever the reruns.

    ``key`` names the row in its source (``reward:17``, ``user:42``, ``order:9001``, a CSV
    file's digest and line).
    """

    source = models.CharField(max_length=10, choices=ImportSource.choices)
    key = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="imported_row_once")]

    def __str__(self) -> str:
        return f"{self.source} {self.key}"


# ---- the program: earning rules ------------------------------------------------------------


class RuleTrigger(models.TextChoices):
    ORDER = "order", "An order is recorded"
    PURCHASE = "purchase", "A purchase is recorded"
    FEEDBACK = "feedback", "Feedback is submitted"
    ACTIVITY = "activity", "An activity is recorded"
    BIRTHDAY = "birthday", "The customer's birthday"
    REFERRAL = "referral", "A referred customer's first order"


class RuleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ARCHIVED = "archived", "Archived"


@audited("rule")
class Rule(models.Model):
    """An earning rule as it is now: when it applies (trigger, conditions, dates, status) and
    what it awards (effect, caps). Every change makes a new ``version`` and a ``RuleVersion``
    copy of it; an award's ledger row names the rule and the version that made it.

    ``conditions``, ``effect`` and ``caps`` hold what ``rewards.program.validate.rule_validated``
    validated; nothing writes them without it (``rewards.services.program``).
    """

    name = models.CharField(max_length=100)
    trigger = models.CharField(max_length=20, choices=RuleTrigger.choices)
    activity_name = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=100, help_text="Lower runs first; ties by id.")
    exclusive = models.BooleanField(default=False, help_text="When it matches, no rule after it applies.")
    conditions = models.JSONField(default=list, blank=True)
    effect = models.JSONField()
    caps = models.JSONField(default=dict, blank=True)
    pending_days = models.PositiveIntegerField(null=True, blank=True)
    validity_days = models.PositiveIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(editable=False)
    updated_at = models.DateTimeField(editable=False)
    updated_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["trigger", "priority", "id"]
        indexes = [
            # The one read of every earning event: a trigger's active rules in the order they run.
            models.Index(fields=["trigger", "priority", "id"], condition=Q(status="active"), name="rule_active")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(starts_at__lt=models.F("ends_at")),
                name="rule_starts_before_it_ends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version}, {self.status})"


@audited("rule_version")
class RuleVersion(models.Model):
    """Every version a rule has had, as it was saved: the history of what awarded what."""

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="rule_version_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.version}"


class RuleCapCount(models.Model):
    """Points a rule has awarded toward one of its caps: its whole budget (``user_id`` 0,
    ``period`` "budget") or one customer's count for a period that starts on
    ``period_start``. Taken under the row lock by ``program_cap_take``, so racing awards never
    pass a cap. Only awards of versions that had the cap count."""

    BUDGET_USER = 0  # customers' user_ids are positive: 0 is the rule's whole budget
    BUDGET_PERIOD = "budget"

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="+", db_index=False)
    user_id = models.BigIntegerField()
    period = models.CharField(max_length=10)
    period_start = models.DateField()
    points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "user_id", "period", "period_start"], name="rule_cap_count_once"),
            models.CheckConstraint(condition=Q(points__gte=0), name="rule_cap_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Rule {self.rule_id} {self.period} {self.period_start} of {self.user_id}: {self.points}"


class Activity(models.Model):
    """A custom event an application reported (a photo review, a survey), once per
    ``activity_id`` of that application, with the answer it got."""

    application = models.ForeignKey(settings.REWARDS_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="+")
    activity_id = models.CharField(max_length=100)
    user_id = models.BigIntegerField()
    name = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict)
    # The request's body, normalised and hashed: the same activity_id with another body is refused.
    fingerprint = models.CharField(max_length=64)
    points_awarded = models.BigIntegerField(default=0)
    answer = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "activities"
        constraints = [models.UniqueConstraint(fields=["application", "activity_id"], name="activity_once_per_app")]
        indexes = [models.Index(fields=["user_id", "-id"], name="activity_user_newest")]

    def __str__(self) -> str:
        return f"{self.name} {self.activity_id} ({self.user_id})"


class Birthday(models.Model):
    """A customer's birthday (month and day), for the ``birthday`` earning rules.

    ``changed_on`` is the day (in the program's time zone) it was set or last changed: a
    birthday set or changed less than 30 days before it earns nothing that year.
    ``awarded_year`` is the last year its rules awarded, so the daily job gives them once a year.
    An erasure of the customer's personal data empties the date and keeps ``awarded_year``: a
    birthday set again earns nothing more in a year that was awarded.
    """

    user_id = models.BigIntegerField(primary_key=True)
    month = models.PositiveSmallIntegerField(null=True, blank=True)
    day = models.PositiveSmallIntegerField(null=True, blank=True)
    changed_on = models.DateField()
    awarded_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        # What the daily job reads: today's birthdays, nothing else.
        indexes = [models.Index(fields=["month", "day"], name="birthday_by_date")]
        constraints = [
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="birthday_month_valid"),
            models.CheckConstraint(condition=Q(day__gte=1, day__lte=31), name="birthday_day_valid"),
            models.CheckConstraint(
                condition=Q(month__isnull=True, day__isnull=True) | Q(month__isnull=False, day__isnull=False),
                name="birthday_date_whole_or_erased",
            ),
        ]

    def __str__(self) -> str:
        if self.month is None:
            return f"{self.user_id}: erased"
        return f"{self.user_id}: {self.month:02d}-{self.day:02d}"


# ---- the program: tiers -----------------------------------------------------------------------


@audited("tier_ladder")
class TierLadder(models.Model):
    """The one tier ladder's settings (row id 1; no row: no ladder, and every customer's tier
    is null). Its tiers are ``Tier`` rows, ranked by ``entry_points``."""

    LADDER_ID = 1

    window_days = models.PositiveIntegerField(default=365)
    # The credit kinds whose points count toward the tiers (the qualifying points).
    qualifying_kinds = models.JSONField(default=list)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="tier_ladder_one"),
            models.CheckConstraint(condition=Q(window_days__gte=1), name="tier_ladder_window_positive"),
        ]

    def __str__(self) -> str:
        return f"Tier ladder ({self.window_days}-day window)"


@audited("tier")
class Tier(models.Model):
    """A step of the ladder: reached at ``entry_points`` qualifying points, kept at the
    requalification date with ``retain_points``; its ``multiplier`` adds a tier award to every
    qualifying credit."""

    ladder = models.ForeignKey(TierLadder, on_delete=models.CASCADE, related_name="tiers")
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    entry_points = models.BigIntegerField(unique=True)
    retain_points = models.BigIntegerField()
    multiplier = models.DecimalField(max_digits=15, decimal_places=6, default=Decimal(1))
    benefits = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["entry_points"]
        constraints = [
            models.CheckConstraint(
                condition=Q(entry_points__gte=0),
                name="tier_entry_not_negative",
                violation_error_message="entry_points: at least 0.",
            ),
            models.CheckConstraint(
                condition=Q(retain_points__gte=0, retain_points__lte=models.F("entry_points")),
                name="tier_retain_at_most_entry",
                violation_error_message="retain_points: at least 0 and at most entry_points.",
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gte=1),
                name="tier_multiplier_at_least_one",
                violation_error_message="multiplier: at least 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, from {self.entry_points})"


class TierStanding(models.Model):
    """A customer's place on the ladder: the tier earned (``tier_code``) since when, the date it
    is requalified (null at the lowest tier: nothing to lose), and the floor staff set, if any
    (the customer has at least ``floor_code`` until ``floor_until``). No row: the lowest tier.

    Changed under its row lock, and in a credit's transaction after the account's lock."""

    user_id = models.BigIntegerField(primary_key=True)
    tier_code = models.CharField(max_length=30)
    since = models.DateTimeField()
    requalify_at = models.DateTimeField(null=True, blank=True)
    floor_code = models.CharField(max_length=30, blank=True, default="")
    floor_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            # What the requalification job reads: the customers due, nothing else.
            models.Index(fields=["requalify_at"], condition=Q(requalify_at__isnull=False), name="tier_requalify_due"),
            models.Index(fields=["floor_until"], condition=Q(floor_until__isnull=False), name="tier_floor_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.tier_code}"


class TierChangeCause(models.TextChoices):
    UPGRADE = "upgrade", "Upgraded by qualifying points"
    REQUALIFY = "requalify", "Requalified at the date"
    FLOOR = "floor", "Tier floor set by staff"
    FLOOR_END = "floor_end", "Tier floor ended"
    RECOMPUTE = "recompute", "Placed after a ladder change"


class TierChange(models.Model):
    """Every change of a customer's tier standing, and every floor staff set: the record of
    who moved, why, and on what figure."""

    user_id = models.BigIntegerField()
    cause = models.CharField(max_length=10, choices=TierChangeCause.choices)
    from_code = models.CharField(max_length=30, blank=True)
    to_code = models.CharField(max_length=30, blank=True)
    qualifying_points = models.BigIntegerField(null=True, blank=True)
    floor_until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user_id", "-id"], name="tier_change_user_newest")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.from_code or '-'} -> {self.to_code or '-'} ({self.cause})"


class QualifyingCredit(models.Model):
    """A credit that counted toward the tiers: its points on the day of its event (in the
    program's time zone), and what returns took back of them since."""

    credit = models.OneToOneField(Reward, on_delete=models.PROTECT, primary_key=True, related_name="+")
    user_id = models.BigIntegerField()
    day = models.DateField()
    points = models.BigIntegerField()
    taken_back = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(taken_back__gte=0, taken_back__lte=models.F("points")),
                name="qualifying_taken_back_within_points",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.points - self.taken_back}"


class QualifyingDay(models.Model):
    """A customer's qualifying points of one day: what their qualifying credits of that day
    count now. The qualifying points are the sum over the window's days, at most
    ``window_days`` rows however many events there were."""

    user_id = models.BigIntegerField()
    day = models.DateField()
    points = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "day"], name="qualifying_day_once"),
            models.CheckConstraint(condition=Q(points__gte=0), name="qualifying_day_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.points}"


# ---- messages to customers ----------------------------------------------------------------------


class MessageTopic(models.TextChoices):
    """What a customer may consent to hear about; every topic but marketing is on by default."""

    POINTS_EXPIRING = "points_expiring", "Points about to expire"
    TIER_CHANGES = "tier_changes", "Tier changes"
    COUPONS = "coupons", "Coupons issued and about to expire"
    CHALLENGES = "challenges", "Challenges completed and badges"
    BIRTHDAY = "birthday", "Birthday awards"
    MARKETING = "marketing", "News and offers"


TOPICS_DEFAULT: dict[str, bool] = {topic.value: topic != MessageTopic.MARKETING for topic in MessageTopic}


class MessageLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    FRENCH = "fr", "Français"


class Contact(models.Model):
    """How to write to a customer and what they consent to hear about: personal data (exported,
    deleted by the erasure). No row: nothing is ever written to them."""

    user_id = models.BigIntegerField(primary_key=True)
    email = models.EmailField(max_length=254, blank=True)
    language = models.CharField(max_length=8, choices=MessageLanguage.choices, default=MessageLanguage.ENGLISH)
    # Every topic of MessageTopic, true or false (see TOPICS_DEFAULT).
    topics = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} {self.email or '(no email)'}"


class MessageKind(models.TextChoices):
    """Each is a template (``rewards/templates/messages/<kind>/``) and belongs to one topic."""

    POINTS_EXPIRING = "points_expiring", "Points about to expire"
    TIER_UPGRADED = "tier_upgraded", "Tier upgraded"
    TIER_DOWNGRADED = "tier_downgraded", "Tier downgraded"
    COUPON_ISSUED = "coupon_issued", "Coupon issued"
    COUPON_EXPIRING = "coupon_expiring", "Coupon about to expire"
    CHALLENGE_COMPLETED = "challenge_completed", "Challenge completed"
    BADGE_GIVEN = "badge_given", "Badge given"
    BIRTHDAY_AWARD = "birthday_award", "Birthday award"


class MessageState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Consent withdrawn, the email removed or the contact erased before it was sent.
    SKIPPED = "skipped", "Skipped"


class Message(models.Model):
    """The messages' outbox: written by a trigger on ``rewards_event`` in the transaction of the
    event that causes it (rewards/sql/messages.sql), sent by the worker. One per event, topic and
    customer; a points_expiring message once per customer and (UTC) day."""

    user_id = models.BigIntegerField()
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="+", db_index=False)
    topic = models.CharField(max_length=20, choices=MessageTopic.choices)
    kind = models.CharField(max_length=30, choices=MessageKind.choices)
    day = models.DateField()
    state = models.CharField(max_length=10, choices=MessageState.choices, default=MessageState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True, default="")
    # Filled when it is sent: the address and language it went to (the contact may change later).
    to_email = models.CharField(max_length=254, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    subject = models.CharField(max_length=300, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "topic", "user_id"], name="message_once_per_event_topic"),
            models.UniqueConstraint(
                fields=["user_id", "day"],
                condition=Q(kind="points_expiring"),
                name="message_points_expiring_once_a_day",
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], condition=Q(state="pending"), name="message_due"),
            models.Index(fields=["state", "-id"], name="message_by_state"),
            models.Index(fields=["user_id"], name="message_by_user"),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} to {self.user_id} ({self.state})"


# ---- segments: who a customer is ------------------------------------------------------------


class CustomerAttributes(models.Model):
    """What a shop says about a customer (``city``, ``vip``, ``favourite_store``): a flat object
    of at most 50 keys, each a text, a number or a boolean, that segments can select on.
    Personal data: in the customer's export, and deleted whole by the erasure."""

    user_id = models.BigIntegerField(primary_key=True)
    attributes = models.JSONField(default=dict)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "customer attributes"

    def __str__(self) -> str:
        return f"{self.user_id}: {len(self.attributes)} attributes"


@audited("segment")
class Segment(models.Model):
    """Who a customer is, as the program targets them: all of ``conditions`` hold
    (``rewards.segments.language``). Membership is never stored: it is the one query the
    conditions compile to (``rewards.segments.query``), asked when it is needed."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    conditions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class SegmentAwardState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SegmentAward(models.Model):
    """Points for every member of a segment as of the moment it was asked: the members are
    fixed then (``SegmentAwardMember``), and the worker credits them in batches, each once
    (``SegmentAwardCredit``'s unique constraint). ``award_id`` is the caller's, unique: the same
    body again is the same award."""

    award_id = models.CharField(max_length=100, unique=True)
    segment = models.ForeignKey(Segment, on_delete=models.SET_NULL, null=True, blank=True, related_name="awards")
    segment_code = models.CharField(max_length=50)
    points = models.PositiveIntegerField()
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    application = models.ForeignKey(
        settings.REWARDS_APPLICATION_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=SegmentAwardState.choices, default=SegmentAwardState.QUEUED)
    members = models.PositiveIntegerField()
    credited = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    asked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [
            # What the sweep reads: the awards not finished.
            models.Index(fields=["id"], condition=Q(state__in=["queued", "running"]), name="segment_award_unfinished"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credited__lte=models.F("members")), name="segment_award_credited_le_members"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.award_id}: {self.points} points to {self.segment_code} ({self.state})"


class SegmentAwardMember(models.Model):
    """One member of a bulk award, fixed when it was asked."""

    award = models.ForeignKey(SegmentAward, on_delete=models.CASCADE, related_name="+")
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["award", "user_id"], name="segment_award_member_once")]

    def __str__(self) -> str:
        return f"{self.award_id}: {self.user_id}"


class SegmentAwardCredit(models.Model):
    """A member credited by a bulk award: written with the credit, in its transaction. The
    unique constraint is what makes each member credited once, whatever a worker does."""

    award = models.ForeignKey(SegmentAward, on_delete=models.PROTECT, related_name="+")
    user_id = models.BigIntegerField()
    credit = models.OneToOneField(Reward, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["award", "user_id"], name="segment_award_credited_once")]

    def __str__(self) -> str:
        return f"{self.award_id}: {self.user_id} credited ({self.credit_id})"


class LedgerDigest(models.Model):
    """A signed digest of the ledger's hash chains (docs/VERIFY.md): the heads that moved since
    the digest before it, hashed with that digest's hash and the moment it was cut, and signed
    with Ed25519. Append-only: a trigger refuses UPDATE and DELETE."""

    cut_at = models.DateTimeField()
    previous_hash = models.BinaryField()
    heads_count = models.PositiveIntegerField()
    heads_root = models.BinaryField()
    hash = models.BinaryField()
    public_key = models.BinaryField()
    signature = models.BinaryField()
    # The audit chain's head when it was cut (what its hash signs too); NULL in the digests
    # cut before the audit record was chained (their hash is the form without it).
    audit_seq = models.BigIntegerField(null=True)
    audit_hash = models.BinaryField(null=True)

    class Meta:
        verbose_name = "ledger digest"

    def __str__(self) -> str:
        return f"Digest {self.pk} ({self.heads_count} heads)"


class LedgerDigestHead(models.Model):
    """A customer's chain head as a digest holds it. Append-only, as its digest."""

    digest = models.ForeignKey(LedgerDigest, on_delete=models.PROTECT, related_name="heads")
    user_id = models.BigIntegerField()
    seq = models.BigIntegerField()
    hash = models.BinaryField()
    # Its leaf's place in the digest's Merkle tree (0, 1, 2 … in user_id order): where its
    # proof's siblings are in the digest's levels.
    position = models.PositiveIntegerField()

    class Meta:
        # The last digested head of a customer (what moved since), and their export's digests.
        indexes = [models.Index(fields=["user_id", "seq"], name="digest_head_user_seq")]

    def __str__(self) -> str:
        return f"user {self.user_id} seq {self.seq} in digest {self.digest_id}"


class LedgerDigestLevel(models.Model):
    """One level of a digest's Merkle tree, stored when it is cut (docs/VERIFY.md): its nodes'
    32-byte hashes end to end, the leaves at level 0, up to the level below the root. A
    customer's proof is one 32-byte slice of each level, read without the other heads.
    Append-only, as its digest."""

    digest = models.ForeignKey(LedgerDigest, on_delete=models.PROTECT, related_name="levels")
    level = models.PositiveSmallIntegerField()
    nodes = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["digest", "level"], name="digest_level_once")]

    def __str__(self) -> str:
        return f"level {self.level} of digest {self.digest_id}"


class AuditChainHead(models.Model):
    """The head of the audit chain (docs/VERIFY.md): the seq, id and hash of the last audit
    entry. One row; every audited change takes its lock to chain its entries, until it
    commits, so entries chain one transaction after another."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    entry_id = models.BigIntegerField(null=True)
    hash = models.BinaryField(default=bytes(32))

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_one_row")]

    def __str__(self) -> str:
        return f"audit chain head: seq {self.seq}"


# ---- the program: badges ----------------------------------------------------------------------


@audited("badge")
class Badge(models.Model):
    """A badge a customer can hold: given by staff or by a challenge's reward. Never deleted
    (awards name it); its name, description and picture may change. What a badge may be is
    its grammar's (``rewards.services.badges``)."""

    code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    image_url = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class BadgeAward(models.Model):
    """A badge given to a customer, by staff (with a reason) or by a challenge's completion.

    Never deleted: taking a badge back sets ``revoked_at``, ``revoked_by`` and
    ``revoke_reason`` once, so the row says who gave it, who took it back and why. A customer
    holds a badge at most once at a time (a partial unique constraint); once taken back it can
    be given again, as a new row.
    """

    user_id = models.BigIntegerField()
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    awarded_at = models.DateTimeField()
    awarded_by = models.CharField(max_length=200)
    reason = models.CharField(max_length=200)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True, default="")
    revoke_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user_id", "-id"], name="badgeaward_user_newest")]
        constraints = [
            models.UniqueConstraint(
                fields=["user_id", "badge"], condition=Q(revoked_at__isnull=True), name="badgeaward_held_once"
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by="", revoke_reason="")
                | Q(revoked_at__isnull=False) & ~Q(revoked_by="") & ~Q(revoke_reason=""),
                name="badgeaward_revoked_with_who_and_why",
            ),
        ]

    def __str__(self) -> str:
        state = "held" if self.revoked_at is None else f"taken back {self.revoked_at:%Y-%m-%d}"
        return f"{self.badge_id} of {self.user_id} ({state})"

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("A badge award is never deleted; take the badge back instead.")


# ---- the program: challenges ------------------------------------------------------------------


class ChallengeMetric(models.TextChoices):
    ORDERS = "orders", "Orders"
    SPEND = "spend", "Spend (the orders' total_cost)"
    PURCHASES = "purchases", "Purchases"
    ACTIVITIES = "activities", "Activities"
    STREAK_DAYS = "streak_days", "Days in a row"


@audited("challenge")
class Challenge(models.Model):
    """A goal staff set ("3 orders in 30 days", "a 7-day streak") and what reaching it gives.

    ``goal``, ``window`` and ``reward`` hold what ``rewards.services.challenges`` validated
    (``challenge_validated``); nothing writes them without it. ``trigger`` is the event its
    metric counts (an order, a purchase, an activity), kept beside the goal for the one read of
    every event: the trigger's active challenges.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    segment_codes = models.JSONField(default=list, blank=True)
    goal = models.JSONField()
    window = models.JSONField(default=dict, blank=True)
    reward = models.JSONField()
    trigger = models.CharField(max_length=20, choices=RuleTrigger.choices, editable=False)
    created_at = models.DateTimeField(editable=False)
    updated_at = models.DateTimeField(editable=False)
    updated_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["code"]
        indexes = [
            # The one read of every event: its trigger's active challenges.
            models.Index(fields=["trigger", "id"], condition=Q(status="active"), name="challenge_active"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(starts_at__lt=models.F("ends_at")),
                name="challenge_starts_before_it_ends",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}, {self.status})"

    @property
    def conditions(self) -> list:
        """The goal's conditions, read as a rule's are (the engine judges both alike)."""
        return self.goal.get("conditions", [])


class ChallengeProgress(models.Model):
    """A customer's progress in a challenge for one period (``period_start``: its first day in
    ``PROGRAM_TIME_ZONE``; 0001-01-01 for a challenge with no calendar period). ``value`` is
    the sum of its contributions' amounts less what returns took back of them (orders, spend,
    purchases, activities), or, for a streak, the longest run of consecutive days among its
    contributions' days. Written under the customer's account lock, in the event's
    transaction.

    ``challenge`` has no foreign key constraint in the database (nor has a contribution's): its
    check would take a share lock on the challenge's row in every event's transaction, and
    hundreds of events a second sharing one row's lock make PostgreSQL build a multixact for
    each, serialising them. Challenges are never deleted, and ``check_ledger`` reports a
    progress or a contribution whose challenge does not exist."""

    challenge = models.ForeignKey(
        Challenge, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    user_id = models.BigIntegerField()
    period_start = models.DateField()
    value = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "challenge progress"
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "user_id", "period_start"], name="challenge_progress_once_per_period"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="challenge_progress_not_negative"),
        ]
        indexes = [models.Index(fields=["user_id"], name="challenge_progress_user")]

    def __str__(self) -> str:
        return f"{self.challenge_id} of {self.user_id} from {self.period_start}: {self.value}"


class ChallengeContribution(models.Model):
    """What one event (an order, a purchase, an activity) gave one challenge's progress: its
    ``amount`` (1, or an order's total_cost for spend), on its own ``day`` (program time zone),
    and what returns took back of it since, so a return takes back exactly its share from the
    period that counted it. (No foreign key constraint, as for progress.)"""

    challenge = models.ForeignKey(
        Challenge, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    user_id = models.BigIntegerField()
    period_start = models.DateField()
    source = models.CharField(max_length=10)  # "order" (its order_id), "purchase" (its row), "activity"
    source_id = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    day = models.DateField()
    amount = models.BigIntegerField()
    taken_back = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # An event counts once per challenge; a return finds its contributions by its source.
            models.UniqueConstraint(fields=["source", "source_id", "challenge"], name="challenge_contribution_once"),
            models.CheckConstraint(
                condition=Q(taken_back__gte=0) & Q(taken_back__lte=models.F("amount")),
                name="challenge_contribution_taken_back_within",
            ),
        ]
        indexes = [
            models.Index(fields=["challenge", "user_id", "period_start", "day"], name="challenge_contribution_day")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id} to {self.challenge_id}: {self.amount - self.taken_back}"


class ChallengeCompletion(models.Model):
    """A challenge completed by a customer in a period: once (a partial unique constraint), with
    its award's ledger row and its badge award. ``stands_at`` is when the points of the event
    that completed it stop being pending: before it, a return that brings the progress below
    the target cancels the completion (``cancelled_at``, its points taken back by
    ``cancel_reward``, its badge taken back), and it can be completed again; from it on, it
    stands."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="completions")
    user_id = models.BigIntegerField()
    period_start = models.DateField()
    completed_at = models.DateTimeField()
    stands_at = models.DateTimeField()
    value = models.BigIntegerField()  # the progress that reached the target
    source = models.CharField(max_length=10)
    source_id = models.BigIntegerField()
    points = models.BigIntegerField(default=0)
    reward = models.OneToOneField(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    badge_award = models.OneToOneField(
        BadgeAward, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reward = models.OneToOneField(
        Reward, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["challenge", "user_id", "period_start"],
                condition=Q(cancelled_at__isnull=True),
                name="challenge_completed_once_per_period",
            ),
        ]
        indexes = [models.Index(fields=["user_id", "challenge"], name="challenge_completion_user")]

    def __str__(self) -> str:
        state = "cancelled" if self.cancelled_at else "completed"
        return f"{self.challenge_id} by {self.user_id} from {self.period_start} ({state})"

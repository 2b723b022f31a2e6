import uuid

from django.db import models

from core.access import AccessLevel, grants
from core.audit import audited
from rewards.models import Account, ImportSource


class ApplicationQuerySet(models.QuerySet["Application"]):
    def active(self) -> "ApplicationQuerySet":
        return self.filter(revoked_at__isnull=True)


# The token's hash is never copied; last_used_at moves with the calls, not with a change.
@audited("application", exclude=["token_hash", "last_used_at"])
class Application(models.Model):
    """A client service that calls the API with a token.

    Deleting an application through the API revokes it (``revoked_at``) rather than
    removing the row: ledger rows keep pointing at the application that wrote them.
    """

    app_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=30)
    access_level = models.CharField(max_length=20, choices=AccessLevel.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.access_level})"

    # DRF treats request.user as the authenticated principal.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def grants(self, required: str) -> bool:
        return grants(self.access_level, required)


class OrderCounter(models.Model):
    """A customer's order counts, kept beside their account so the coefficient needs no COUNT.

    The row is also the lock that serialises one customer's orders and returns.
    """

    user_id = models.BigIntegerField(primary_key=True)
    orders_placed = models.PositiveIntegerField(default=0)
    orders_returned = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(orders_returned__lte=models.F("orders_placed")),
                name="order_counter_returned_within_placed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.orders_placed} placed, {self.orders_returned} returned"


class Order(models.Model):
    """An order posted by a client service, with the points it earned.

    Its points are the awards of the earning rules it matched (``OrderAward``, a ledger row
    each); ``points_awarded`` is their sum. A returned order is kept and marked
    (``returned_at``, at its first return); its points are taken back by separate ledger rows.
    Returns may be partial: ``returned_cost`` is how much of ``total_cost`` came back so far;
    each award has given back ``floor(award * returned_cost / total_cost)``, and
    ``points_taken_back`` is their sum. An order imported from the CLP API has no
    awards: its points came over in the customer's imported balance, and its returns take
    back ``floor(points_awarded * returned_cost / total_cost)``.
    """

    order_id = models.BigIntegerField(primary_key=True)
    user_id = models.BigIntegerField(db_index=True)
    total_cost = models.BigIntegerField()
    completed_at = models.DateTimeField()
    # The coefficient is shown rounded; points are computed from its exact fraction.
    coefficient = models.DecimalField(max_digits=7, decimal_places=6)
    points_awarded = models.BigIntegerField()
    balance_after = models.BigIntegerField(help_text="The customer's balance right after this order.")
    # What each earning rule awarded, as the order was first answered (a retry answers it again).
    breakdown = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=50, blank=True, default="")
    items = models.JSONField(default=list, blank=True)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    imported_from = models.CharField(max_length=10, choices=ImportSource.choices, blank=True, db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_cost = models.BigIntegerField(default=0)
    points_taken_back = models.BigIntegerField(default=0)
    return_reward = models.OneToOneField(
        "rewards.Reward", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_cost__gte=0), name="order_total_cost_not_negative"),
            models.CheckConstraint(condition=models.Q(points_awarded__gte=0), name="order_points_not_negative"),
            models.CheckConstraint(
                condition=models.Q(returned_cost__gte=0, returned_cost__lte=models.F("total_cost")),
                name="order_returned_cost_within_total",
            ),
            models.CheckConstraint(
                condition=models.Q(points_taken_back__gte=0, points_taken_back__lte=models.F("points_awarded")),
                name="order_taken_back_within_awarded",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id} ({self.user_id})"

    @property
    def is_returned(self) -> bool:
        """Returned at least in part (it then counts as returned for the coefficient)."""
        return self.returned_at is not None

    @property
    def is_fully_returned(self) -> bool:
        return self.returned_at is not None and self.returned_cost == self.total_cost


class OrderAward(models.Model):
    """One earning rule's award for an order: its ledger row, credited to ``user_id`` (the
    order's customer or, for a referral, another one). What returns took back of it is always
    ``floor(points * order.returned_cost / order.total_cost)``, so it is not stored."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="awards")
    credit = models.OneToOneField("rewards.Reward", on_delete=models.PROTECT, related_name="+")
    user_id = models.BigIntegerField()
    points = models.BigIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Order {self.order_id}: {self.points} points (row {self.credit_id})"


REFERRAL_CODE_LENGTH = 10


class ReferralCode(models.Model):
    """A customer's own referral code: one, stable, handed to the friends they refer."""

    user_id = models.BigIntegerField(primary_key=True)
    code = models.CharField(max_length=REFERRAL_CODE_LENGTH, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.code} ({self.user_id})"


class Referral(models.Model):
    """Who referred whom: each customer is referred once. When the referred customer's first
    order is recorded, the referral rules award both sides (``rewarded_order``)."""

    referee_user_id = models.BigIntegerField(primary_key=True)
    referrer_user_id = models.BigIntegerField(db_index=True)
    code = models.CharField(max_length=REFERRAL_CODE_LENGTH)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()
    rewarded_order = models.OneToOneField(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="referral"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(referee_user_id=models.F("referrer_user_id")), name="referral_not_self"
            )
        ]

    def __str__(self) -> str:
        return f"{self.referrer_user_id} referred {self.referee_user_id}"


class Customer(Account):
    """A customer as staff see them in admin: balance, orders and history on one page."""

    class Meta:
        proxy = True


@audited("staff_adjustment")
class AdjustmentSubmission(models.Model):
    """A staff adjustment form that was posted: each form carries a one-time key, taken in the
    transaction of the adjustment, so a double click or a resent form posts it once."""

    key = models.CharField(max_length=64, unique=True)
    staff = models.CharField(max_length=150)
    user_id = models.BigIntegerField()
    # What the adjustment posted, for the audit record (null: posted before it was kept).
    points = models.BigIntegerField(null=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.staff} on {self.user_id} at {self.created_at}"


# The secret is never copied; the dispatch cursor and the failure count move with deliveries.
@audited("webhook_subscription", exclude=["secret", "last_event_id", "consecutive_failures"])
class WebhookSubscription(models.Model):
    """An application's webhook: the events of these types are POSTed to ``url``, signed with
    ``secret`` (shown once when created, kept to sign)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    event_types = models.JSONField()
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True, help_text="The application's own switch.")
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when deliveries kept failing; changing the webhook resumes it."
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Deliveries exist for every event up to this id (the dispatcher's cursor).
    last_event_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.application.name} → {self.url}"

    @property
    def status(self) -> str:
        if self.paused_at is not None:
            return "paused"
        return "active" if self.is_active else "disabled"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed (gave up)"


class WebhookDelivery(models.Model):
    """One event to one webhook: retried with backoff until a 2xx or 24 hours."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("rewards.Event", on_delete=models.PROTECT, related_name="+")
    user_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="one_delivery_per_event_and_webhook")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "event"], condition=models.Q(status="pending"), name="delivery_due"
            ),
            models.Index(
                fields=["subscription", "user_id", "event"],
                condition=models.Q(status="pending"),
                name="delivery_pending_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → webhook {self.subscription_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One try of a delivery: when, the answer, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.attempted_at}: {self.status_code or self.error}"


@audited("personal_data_erasure")
class PersonalDataErasure(models.Model):
    """A customer's personal data erased: who asked, when, and what was erased. The ledger's
    amounts, dates and balances stay; its free-text descriptions read ``[erased]``."""

    user_id = models.BigIntegerField(db_index=True)
    erased_by = models.CharField(max_length=150)
    erased_at = models.DateTimeField()
    erased = models.JSONField(help_text="How many of each thing were erased.")

    def __str__(self) -> str:
        return f"{self.user_id} erased by {self.erased_by} at {self.erased_at:%Y-%m-%d %H:%M}"

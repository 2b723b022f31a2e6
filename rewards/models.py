"""The points ledger, the per-customer accounts beside it, and the reward catalog.

``Reward`` and ``RedeemedItem`` keep the tables of the rewards system this service replaces. A ``Reward`` row is one
immutable change to a customer's balance; ``Account`` holds the running totals so
a balance is read from one row, and is updated in the same transaction as the
ledger row it reflects.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

DESCRIPTION_MAX_LENGTH = 255
ITEM_CODE_LENGTH = 16
MAX_BIGINT = 2**63 - 1  # PostgreSQL bigint: the range of every points column
# One ledger entry credits at most this many points, whatever its kind.
MAX_POINTS_PER_ENTRY = 1_000_000_000


class RewardKind(models.TextChoices):
    EARN = "earn", "Earned (event or bonus)"
    PURCHASE = "purchase", "Purchase"
    FEEDBACK = "feedback", "Feedback"
    ORDER = "order", "Order"
    ORDER_RETURN = "order_return", "Order returned"
    COUPON = "coupon", "Coupon redemption"
    DONATION = "donation", "Donation redemption"
    ADJUSTMENT = "adjustment", "Staff adjustment"


class CatalogKind(models.TextChoices):
    COUPON = "coupon", "Coupon"
    DONATION = "donation", "Donation"


class Account(models.Model):
    """One customer's running totals; always equal to the sums of their ledger rows."""

    user_id = models.BigIntegerField(primary_key=True)
    total_points_earned = models.BigIntegerField(default=0)
    total_points_redeemed = models.BigIntegerField(default=0)
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
    is_active = models.BooleanField(default=True)
    application = models.ForeignKey(
        settings.REWARDS_APPLICATION_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger"
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
        ]

    def __str__(self) -> str:
        sign = f"+{self.points_earned}" if self.points_earned else f"-{self.points_redeemed}"
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


class CatalogItem(models.Model):
    """A redeemable option; staff set the exchange rate here, never a client."""

    kind = models.CharField(max_length=20, choices=CatalogKind.choices)
    points_cost = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    is_active = models.BooleanField(default=True)
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
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.points_cost} points)"


class RedeemedItem(models.Model):
    """What a redemption bought: a coupon (usable once) or a donation."""

    reward = models.OneToOneField(Reward, on_delete=models.PROTECT, related_name="redeemed_item")
    catalog_item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=CatalogKind.choices)
    item_code = models.CharField(max_length=ITEM_CODE_LENGTH, unique=True)
    item_description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.item_code}"


# Kept here so every reader of the ledger agrees on what a redemption is.
REDEMPTION_KINDS = (RewardKind.COUPON, RewardKind.DONATION)


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

import uuid

from django.db import models


class AccessLevel(models.TextChoices):
    CAN_READ = "Can_Read", "Can read balances and history"
    CAN_MODIFY_ORDERS = "Can_Modify_Orders", "Can change points (orders, earn, redeem)"
    MASTER_APP = "MasterApp", "Manages applications only"


# What each level may do. Can_Modify_Orders includes Can_Read; MasterApp manages
# applications and nothing else.
GRANTED_ACCESS: dict[str, frozenset[str]] = {
    AccessLevel.CAN_READ: frozenset({AccessLevel.CAN_READ}),
    AccessLevel.CAN_MODIFY_ORDERS: frozenset({AccessLevel.CAN_READ, AccessLevel.CAN_MODIFY_ORDERS}),
    AccessLevel.MASTER_APP: frozenset({AccessLevel.MASTER_APP}),
}


class ApplicationQuerySet(models.QuerySet["Application"]):
    def active(self) -> "ApplicationQuerySet":
        return self.filter(revoked_at__isnull=True)


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
        return required in GRANTED_ACCESS.get(self.access_level, frozenset())

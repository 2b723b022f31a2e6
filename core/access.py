"""The access levels an application's token carries, and what each grants: defined once here,
for both apps (``loyalty`` stores an application's level; ``rewards`` views name the level
they need in ``required_access``)."""

from django.db import models


class AccessLevel(models.TextChoices):
    CAN_READ = "Can_Read", "Can read balances and history"
    CAN_MODIFY_ORDERS = "Can_Modify_Orders", "Can change points (orders, earn, redeem)"
    MASTER_APP = "MasterApp", "Manages applications only"
    CAN_MANAGE_PROGRAM = "Can_Manage_Program", "Manages the program: rules, tiers, catalog, reports"


# What each level may do. Can_Modify_Orders includes Can_Read; MasterApp manages
# applications and nothing else.
GRANTED_ACCESS: dict[str, frozenset[str]] = {
    AccessLevel.CAN_READ: frozenset({AccessLevel.CAN_READ}),
    AccessLevel.CAN_MODIFY_ORDERS: frozenset({AccessLevel.CAN_READ, AccessLevel.CAN_MODIFY_ORDERS}),
    AccessLevel.MASTER_APP: frozenset({AccessLevel.MASTER_APP}),
    AccessLevel.CAN_MANAGE_PROGRAM: frozenset({AccessLevel.CAN_MANAGE_PROGRAM}),
}


def grants(level: str, required: str) -> bool:
    """Whether a token of ``level`` may call a view that requires ``required``."""
    return required in GRANTED_ACCESS.get(level, frozenset())

"""Everything that writes in the loyalty app, by module: applications and tokens, orders and
returns, staff adjustments, webhooks, and the CLP import. The names most callers need are
re-exported here."""

from loyalty.services.applications import (
    CLIENT_ACCESS_LEVELS,
    IssuedToken,
    MasterAppImmutable,
    application_create,
    application_revoke,
    application_set_access_level,
    application_token_rotate,
    application_touch,
    master_app_ensure,
)
from loyalty.services.orders import (
    MAX_ORDER_COUNT,
    ItemsExceedOrder,
    OrderAlreadyReturned,
    OrderConflict,
    OrderNotFound,
    OrderOutcome,
    ReturnExceedsOrder,
    ReturnOutcome,
    order_coefficient,
    order_points_taken_back,
    order_record,
    order_return,
    order_simulate,
)
from loyalty.services.referrals import (
    AlreadyReferred,
    NotANewCustomer,
    ReferralCodeNotFound,
    SelfReferral,
    referral_code_for,
    referral_record,
)

__all__ = [
    "CLIENT_ACCESS_LEVELS",
    "MAX_ORDER_COUNT",
    "AlreadyReferred",
    "IssuedToken",
    "ItemsExceedOrder",
    "MasterAppImmutable",
    "NotANewCustomer",
    "OrderAlreadyReturned",
    "OrderConflict",
    "OrderNotFound",
    "OrderOutcome",
    "ReferralCodeNotFound",
    "ReturnExceedsOrder",
    "ReturnOutcome",
    "SelfReferral",
    "application_create",
    "application_revoke",
    "application_set_access_level",
    "application_token_rotate",
    "application_touch",
    "master_app_ensure",
    "order_coefficient",
    "order_points_taken_back",
    "order_record",
    "order_return",
    "order_simulate",
    "referral_code_for",
    "referral_record",
]

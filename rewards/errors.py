"""The rewards app's domain errors: what a service refuses, each with its code and message.

Services raise them; the API's exception handler turns each into the error body of its status
(docs/API.md, Errors), and admin shows its message. None imports DRF.
"""

from core.exceptions import Conflict, DomainError, InvalidInput, NotFound

# ---- postings -----------------------------------------------------------------------------------

INSUFFICIENT_POINTS_MESSAGE = "You do not have enough points to redeem this reward."


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_message = INSUFFICIENT_POINTS_MESSAGE


class PointsPerEntryExceeded(DomainError):
    code = "points_limit_exceeded"


class BalanceLimitExceeded(Conflict):
    code = "balance_limit_exceeded"
    default_message = "This would take the customer's point totals past what can be stored; nothing was written."


class DateOutOfRange(DomainError):
    code = "date_out_of_range"
    default_message = "This date plus the points' pending and validity periods passes the year 9999."


# ---- what a customer may redeem -----------------------------------------------------------------


class NoMatchingCatalogItem(DomainError):
    code = "no_matching_catalog_item"


class NotAvailable(Conflict):
    code = "not_available"
    default_message = "This reward cannot be redeemed at this date."


class TierRequired(Conflict):
    code = "tier_required"
    default_message = "This reward is for customers of other tiers."


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = "This reward is out of stock."


class SegmentRequired(Conflict):
    code = "segment_required"
    default_message = "This reward is for the members of other segments."


class RedemptionLimitReached(Conflict):
    code = "redemption_limit_reached"
    default_message = "This customer has redeemed this reward as many times as its limit allows."


# ---- coupons ------------------------------------------------------------------------------------


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = "No coupon has this code."


class CouponAlreadyUsed(Conflict):
    code = "coupon_already_used"
    default_message = "This coupon has already been used."


class CouponExpired(Conflict):
    code = "coupon_expired"
    default_message = "This coupon has expired."


class CouponUsed(Conflict):
    code = "coupon_used"
    default_message = "This coupon has been used: it cannot be voided."


class CouponNotActive(Conflict):
    code = "coupon_not_active"
    default_message = "This coupon is no longer active: it was voided or it expired."


class NotVoidable(Conflict):
    code = "not_voidable"
    default_message = "A donation is delivered at once: it cannot be voided."


# ---- the catalog --------------------------------------------------------------------------------


class CatalogItemNotFound(NotFound):
    code = "catalog_item_not_found"
    default_message = "No catalog item has this id."


class CatalogItemConflict(Conflict):
    code = "catalog_item_conflict"
    default_message = "An active catalog item of this kind already has this points cost and amount."


# ---- the program: rules, activities, tiers, birthdays -------------------------------------------


class RuleInvalid(InvalidInput):
    """A rule definition its grammar refuses (``rewards.program.validate``)."""


class TierLadderInvalid(InvalidInput):
    """A tier ladder its grammar refuses (``rewards.tiers``)."""


class CatalogItemInvalid(InvalidInput):
    """A catalog item its grammar refuses (``rewards.services.catalog``)."""


class RuleNotFound(NotFound):
    code = "rule_not_found"
    default_message = "No rule has this id."


class RuleChanged(Conflict):
    code = "rule_changed"
    default_message = "The rule was changed since the version this edit was made from; read it again."


class ActivityConflict(Conflict):
    code = "activity_conflict"
    default_message = "An activity with this activity_id was already recorded with a different body."


class UnknownTier(DomainError):
    code = "unknown_tier"


class InvalidBirthday(DomainError):
    code = "invalid_birthday"


# ---- segments ----------------------------------------------------------------------------------


class AttributesInvalid(InvalidInput):
    """Customer attributes their rules refuse (``rewards.segments.attributes``)."""


class SegmentInvalid(InvalidInput):
    """A segment its language refuses (``rewards.segments.language``)."""


class SegmentNotFound(NotFound):
    code = "segment_not_found"
    default_message = "No segment has this code."


class SegmentExists(Conflict):
    code = "segment_exists"
    default_message = "A segment already has this code."


class SegmentInUse(Conflict):
    code = "segment_in_use"
    default_message = "Catalog items are limited to this segment."


class SegmentAwardNotFound(NotFound):
    code = "segment_award_not_found"
    default_message = "This segment has no award with this award_id."


class SegmentAwardConflict(Conflict):
    code = "segment_award_conflict"
    default_message = "This award_id was already asked with another segment, points or description."


# ---- badges ---------------------------------------------------------------------------------------


class BadgeInvalid(InvalidInput):
    """A badge its grammar refuses (``rewards.services.badges``)."""


class BadgeNotFound(NotFound):
    code = "badge_not_found"
    default_message = "No badge has this code."


class BadgeConflict(Conflict):
    code = "badge_conflict"
    default_message = "A badge with this code already exists."


class BadgeAlreadyHeld(Conflict):
    code = "badge_already_held"
    default_message = "The customer already holds this badge."


class BadgeNotHeld(Conflict):
    code = "badge_not_held"
    default_message = "This badge award was already taken back."


# ---- challenges ------------------------------------------------------------------------------------


class ChallengeInvalid(InvalidInput):
    """A challenge its grammar refuses (``rewards.services.challenges``)."""


class ChallengeNotFound(NotFound):
    code = "challenge_not_found"
    default_message = "No challenge has this code."


class ChallengeExists(Conflict):
    code = "challenge_exists"
    default_message = "A challenge with this code already exists."


# ---- Idempotency-Key ----------------------------------------------------------------------------


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."

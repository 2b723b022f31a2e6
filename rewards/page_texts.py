"""What the rewards page's script writes, in the page's language: each text marked for gettext
here (so the catalogues in rewards/locale/ hold them) and handed to the page as JSON. ``{name}``
is a value the script fills in; ``.one``/``.other`` are a count's forms, chosen by the
language's plural rule in the browser (``Intl.PluralRules``)."""

from django.utils.translation import gettext_lazy as _

PAGE_TEXTS = {
    "money": _("{currency}{amount}"),
    "error_http": _("Something went wrong (HTTP {status})."),
    "unreachable": _("Cannot reach the rewards service. Check your connection and try again."),
    "insufficient_points": _("You don't have enough points for this yet."),
    "out_of_stock": _("Sorry, this reward has just run out."),
    "redemption_limit_reached": _("You have already redeemed this reward as many times as it allows for now."),
    "not_available": _("This reward can't be redeemed today."),
    "tier_required": _("This reward is for members of another tier."),
    "no_matching_catalog_item": _("This reward is no longer offered. The list has been refreshed."),
    "throttled": _("Too many tries in a short time. Please wait a moment and try again."),
    "session_invalid": _(
        "Your rewards session has expired or is not valid. Please open the rewards page again from your account."
    ),
    "other_account": _(
        "This rewards link belongs to another account. Please open the rewards page again from your own account."
    ),
    "server_error": _("Something went wrong on our side, and nothing was spent. Please try again in a moment."),
    "copy": _("Copy"),
    "copy_label": _("Copy {label}"),
    "points.one": _("{n} point"),
    "points.other": _("{n} points"),
    "more_points.one": _("{n} more point"),
    "more_points.other": _("{n} more points"),
    "owed": _(
        "You owe {points}: a return took back points you had already spent. The points you earn next pay this first."
    ),
    "pending": _("{points} on their way"),
    "pending_on": _("{points} on their way, available on {day}"),
    "expiring.one": _("{n} point expires soon, the first on {day}"),
    "expiring.other": _("{n} points expire soon, the first on {day}"),
    "tier_member": _("{tier} member"),
    "progress_text": _("{done} of {total} points"),
    "to_next": _("{points} to {tier} ({done} of {total})"),
    "reached": _("You have reached {tier}: it shows here shortly."),
    "top_tier": _("Top tier"),
    "top_tier_note": _("You are in our top tier."),
    "floor": _("{tier} is yours until {day}."),
    "retain": _("Earn {points} by {day} to keep {tier}."),
    "retained": _("You have earned enough to keep {tier} after {day}."),
    "earned_from.earn": _("Bonus points"),
    "earned_from.purchase": _("Points for a purchase"),
    "earned_from.feedback": _("Points for your feedback"),
    "earned_from.order": _("Points for an order"),
    "earned_from.activity": _("Points for an activity"),
    "earned_from.birthday": _("Birthday points"),
    "earned_from.referral": _("Points for a referral"),
    "earned_from.import": _("Points brought over from our previous program"),
    "spent_coupon": _("Spent on a coupon"),
    "donated": _("Donated"),
    "return_cancelled": _("Points on the way for these goods were cancelled"),
    "return_taken": _("Points taken back for the returned goods"),
    "expired_what": _("Points expired"),
    "available_what": _("Points now available"),
    "from": _("From: {name}"),
    "adjusted": _("Adjusted by our team"),
    "given_back": _("Points given back"),
    "tier_bonus_what": _("{tier} bonus"),
    "tier_bonus_why": _("Your tier's extra points for {what}"),
    "on_the_way_plus": _("+{n} on the way"),
    "on_the_way_minus": _("−{n} on the way"),  # noqa: RUF001 (a real minus sign)
    "arrives_on": _("arrives on {day}"),
    "on_the_way": _("on the way"),
    "since_arrived": _("since arrived"),
    "cancelled_before": _("cancelled by a return before it arrived"),
    "change_label": _("{change} points"),
    "plus": _("plus"),
    "minus": _("minus"),
    "voided": _("Cancelled, points back"),
    "expired": _("Expired"),
    "used": _("Used"),
    "use_by": _("Use by {day}"),
    "ready": _("Ready to use"),
    "code_of": _("the code of {what}"),
    "kind_coupon": _("Coupon"),
    "kind_donation": _("Donation"),
    "left": _("{n} left"),
    "out_of_stock_short": _("Out of stock"),
    "limit_reached": _("Limit reached for now"),
    "needed": _("{points} needed"),
    "redeem_label": _("Redeem {description} for {points}"),
    "confirm_coupon": _("Spend {points} on a {amount} coupon?"),
    "confirm_donation": _("Spend {points} to donate {amount}?"),
    "redeeming": _("Redeeming {description}…"),
    "done_coupon": _("Done! {amount} coupon redeemed."),
    "thanks_donation": _("Thank you! {amount} donated to charity."),
    "referral_copied": _("Referral code copied."),
    "coupon_copied": _("Coupon code copied."),
    "press_copy": _("Press Ctrl+C (or ⌘C) to copy the selected code."),
    "incomplete": _("This link is incomplete. Please open the rewards page again from your account."),
    "loading": _("Loading your rewards…"),
    "your_referral_code": _("your referral code"),
    "the_coupon_code": _("the coupon code"),
}


def page_texts() -> dict[str, str]:
    """The texts in the active language."""
    return {key: str(text) for key, text in PAGE_TEXTS.items()}

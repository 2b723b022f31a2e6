"""Referrals: each customer has one stable code; a new customer names the code of whoever
referred them, once; their first order then runs the ``referral`` earning rules for both sides
(a rule's ``role`` says whose award it is), as awards of that order."""

import secrets

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.exceptions import Conflict, NotFound
from loyalty.models import REFERRAL_CODE_LENGTH, Application, OrderCounter, Referral, ReferralCode

# No 0/O or 1/I/L: a code is read aloud and typed by people.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_ATTEMPTS = 5


class ReferralCodeNotFound(NotFound):
    code = "referral_code_not_found"
    default_message = "No customer has this referral code."


class SelfReferral(Conflict):
    code = "self_referral"
    default_message = "A customer cannot refer themselves."


class AlreadyReferred(Conflict):
    code = "already_referred"
    default_message = "This customer was already referred."


class NotANewCustomer(Conflict):
    code = "not_a_new_customer"
    default_message = "Only a customer with no order yet can be referred."


def referral_code_for(*, user_id: int) -> ReferralCode:
    """The customer's referral code, made the first time it is asked for and the same ever after."""
    existing = ReferralCode.objects.filter(user_id=user_id).first()
    if existing is not None:
        return existing
    for _ in range(_CODE_ATTEMPTS):
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(user_id=user_id, code=code, created_at=timezone.now())
        except IntegrityError:
            # The customer's own code made meanwhile (a racing first ask), or a code taken.
            existing = ReferralCode.objects.filter(user_id=user_id).first()
            if existing is not None:
                return existing
    raise RuntimeError("No free referral code after several attempts.")


def _orders_placed_locked(user_id: int) -> int:
    """How many orders the customer has placed, their order counter locked until commit, so a
    first order cannot slip in between this check and the referral it allows."""
    table = OrderCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS c (user_id, orders_placed, orders_returned) VALUES (%s, 0, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET orders_placed = c.orders_placed RETURNING orders_placed",
            [user_id],
        )
        return cursor.fetchone()[0]


@transaction.atomic
def referral_record(*, user_id: int, code: str, app: Application | None) -> Referral:
    """Record that the owner of ``code`` referred the customer ``user_id``: refused for the
    customer's own code, a customer already referred, and one who already has an order."""
    owner = ReferralCode.objects.filter(code=code.strip().upper()).first()
    if owner is None:
        raise ReferralCodeNotFound(fields={"code": ["No customer has this code."]})
    if owner.user_id == user_id:
        raise SelfReferral()
    if Referral.objects.filter(referee_user_id=user_id).exists():
        raise AlreadyReferred()
    if _orders_placed_locked(user_id) > 0:
        raise NotANewCustomer()
    try:
        with transaction.atomic():
            return Referral.objects.create(
                referee_user_id=user_id,
                referrer_user_id=owner.user_id,
                code=owner.code,
                application=app,
                created_at=timezone.now(),
            )
    except IntegrityError:  # referred by a racing request
        raise AlreadyReferred() from None

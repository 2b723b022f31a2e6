"""Referrals: each customer has one stable code; a new customer names the code of whoever
referred them, once; their first order then runs the ``referral`` earning rules for both sides
(a rule's ``role`` says whose award it is), as awards of that order.

Referrals never go round in a circle: a customer cannot be referred by anyone they referred,
directly or through others (A referred B, B referred C: neither B nor C can refer A), or two
customers would each collect both awards off the other."""

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


class ReferralLoop(Conflict):
    code = "referral_loop"
    default_message = "This customer referred the owner of this code: a referral cannot go round in a circle."


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


# Referrals are recorded one at a time (a customer is referred once in their life, so they are
# few): the circle check then sees every referral committed before it, whichever customers two
# racing requests name. A transaction's advisory lock, released at its end (nothing kept in the
# session, so transaction pooling is fine); orders never take it.
_REFERRALS_LOCK = 0x7265_6665_7272_616C  # "referral"

# Whether ``referee`` is up the chain of who referred ``referrer``. Each customer is referred
# at most once, so the chain is a line; UNION stops it should an older database hold a circle.
_CHAIN_HOLDS = f"""
    WITH RECURSIVE chain(user_id) AS (
        SELECT referrer_user_id FROM {Referral._meta.db_table} WHERE referee_user_id = %(referrer)s
        UNION
        SELECT r.referrer_user_id FROM {Referral._meta.db_table} r JOIN chain c ON r.referee_user_id = c.user_id
    )
    SELECT EXISTS (SELECT 1 FROM chain WHERE user_id = %(referee)s)
"""


def _referred_by_chain(*, referee: int, referrer: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFERRALS_LOCK])
        cursor.execute(_CHAIN_HOLDS, {"referee": referee, "referrer": referrer})
        return cursor.fetchone()[0]


@transaction.atomic
def referral_record(*, user_id: int, code: str, app: Application | None) -> Referral:
    """Record that the owner of ``code`` referred the customer ``user_id``: refused for the
    customer's own code, a customer already referred, one who already has an order, and a
    code whose owner this customer referred, directly or through others."""
    owner = ReferralCode.objects.filter(code=code.strip().upper()).first()
    if owner is None:
        raise ReferralCodeNotFound(fields={"code": ["No customer has this code."]})
    if owner.user_id == user_id:
        raise SelfReferral()
    if _referred_by_chain(referee=user_id, referrer=owner.user_id):
        raise ReferralLoop(
            fields={"code": ["This code's owner was referred, directly or through others, by this customer."]}
        )
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

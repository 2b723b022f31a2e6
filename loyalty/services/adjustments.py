"""Staff adjustments from admin: each posted form counts once."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import Conflict
from loyalty.models import AdjustmentSubmission
from rewards.services import Posting, points_adjust


class AdjustmentAlreadyPosted(Conflict):
    code = "adjustment_already_posted"
    default_message = "This adjustment form was already posted; the ledger has it once."


@transaction.atomic
def staff_adjustment_post(*, user_id: int, points: int, reason: str, staff: str, submission: str) -> Posting:
    """Post a staff adjustment through the ledger, once per form.

    The form's one-time key is inserted in the adjustment's transaction: a second post of
    the same form (a double click, a resent page) waits on the unique index until the
    first commits, then is refused; if the first failed, the second posts it.
    """
    try:
        with transaction.atomic():
            AdjustmentSubmission.objects.create(
                key=submission, staff=staff, user_id=user_id, points=points, created_at=timezone.now()
            )
    except IntegrityError:
        raise AdjustmentAlreadyPosted() from None
    return points_adjust(user_id=user_id, points=points, reason=reason, staff=staff)

"""Workers racing on the messages' outbox, each on its own connection: every message is sent
once, whatever the number of workers sending at the same time (their claims skip each other's
rows), to a real SMTP server."""

from decimal import Decimal

import pytest

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Event, EventType, Message
from tests.concurrency import run_concurrently
from tests.factories import ApplicationFactory
from tests.rewards.test_messages import smtp  # noqa: F401 (the SMTP server fixture)

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = range(6001, 6013)


def test_four_workers_at_once_send_each_message_once(smtp):  # noqa: F811
    app = ApplicationFactory(access_level=AccessLevel.CAN_MODIFY_ORDERS)
    for user_id in CUSTOMERS:
        services.contact_set(user_id=user_id, email=f"c{user_id}@example.com")
        services.points_earn(user_id=user_id, points=100, description="welcome", app=app)
        for _ in range(2):
            services.coupon_redeem(user_id=user_id, points=50, amount=Decimal("5"), description="c", app=app)
    assert Message.objects.count() == 24

    reports = run_concurrently(lambda i: services.messages_send(batch_size=3), 4)

    assert not [r for r in reports if isinstance(r, BaseException)], reports
    assert sum(r.sent for r in reports) == 24
    sent_ids = [message_id for r in reports for message_id in r.ids]
    assert sorted(sent_ids) == sorted(Message.objects.values_list("id", flat=True))  # each by one worker
    assert len(smtp.inbox.received) == 24
    recipients = sorted(rcpt for _, rcpts in smtp.inbox.envelopes for rcpt in rcpts)
    assert recipients == sorted(f"c{user_id}@example.com" for user_id in CUSTOMERS for _ in range(2))
    assert set(Message.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert Event.objects.filter(type=EventType.MESSAGE_SENT).count() == 24

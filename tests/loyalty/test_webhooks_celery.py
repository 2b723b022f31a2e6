"""Webhooks delivered by a real Celery worker through Redis: queued when events commit; a worker
killed in the middle of a burst loses nothing once a worker runs again (at least once); beat's
sweep alone gets an event delivered. The worker and beat run from the production install
(RUNTIME_PYTHON: a venv built from requirements.txt alone, as `make test` makes one)."""

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import redis
from django.conf import settings

from loyalty.services.webhooks import webhook_create
from rewards import services
from rewards_project.celery import app as celery_app
from tests.live import celery_process, wait_for
from tests.loyalty.test_webhooks import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

BROKER = os.environ.get("TEST_CELERY_BROKER_URL", settings.TEST_REDIS_URL)
USER = 4646
WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_RETRY_BASE_SECONDS": "0.2"}


@pytest.fixture
def broker(settings) -> Iterator[str]:
    redis.Redis.from_url(BROKER).flushdb()
    settings.CELERY_BROKER_URL = BROKER
    settings.WEBHOOK_ALLOW_PRIVATE = True
    celery_app.conf.broker_url = BROKER
    yield BROKER
    redis.Redis.from_url(BROKER).flushdb()


def celery_worker() -> AbstractContextManager[subprocess.Popen]:
    return celery_process("worker", "--pool", "solo", broker=BROKER, env=WORKER_ENV)


def celery_beat(schedule: Path) -> AbstractContextManager[subprocess.Popen]:
    return celery_process("beat", "--schedule", str(schedule), broker=BROKER, env=WORKER_ENV)


def test_a_worker_delivers_what_commits_and_a_killed_worker_loses_nothing(committed_shop_app, broker):
    receiver = Receiver()
    try:
        webhook_create(app=committed_shop_app, url=receiver.url, event_types=["points.earned"])
        with celery_worker():
            services.points_earn(user_id=USER, points=1, description="first", app=committed_shop_app)
            assert wait_for(lambda: len(receiver.received) >= 1, 60), "the worker did not deliver the first event"
            with celery_worker() as doomed:
                for points in range(2, 31):
                    services.points_earn(user_id=USER, points=points, description="burst", app=committed_shop_app)
                    if points == 12:
                        doomed.send_signal(signal.SIGKILL)  # one of the two workers dies mid-burst
        # No worker now; deliveries are in the database. A new worker and the sweep finish them.
        with celery_worker():
            from loyalty.tasks import deliver_webhooks

            deliver_webhooks.delay()  # what beat's sweep does every 10 s
            assert wait_for(lambda: len({e["id"] for e in receiver.events()}) == 30, 40)
        points_seen = sorted({e["data"]["reward"]["points_earned"] for e in receiver.events()})
        assert points_seen == list(range(1, 31))
        # In order for the customer (a duplicate may repeat an earlier one: at least once).
        firsts = []
        for event in receiver.events():
            if event["id"] not in firsts:
                firsts.append(event["id"])
        assert firsts == sorted(firsts)
    finally:
        receiver.close()


def test_beats_sweep_gets_an_event_delivered_signed(committed_shop_app, broker, tmp_path):
    from loyalty.models import WebhookSubscription
    from tests.loyalty.test_webhooks import verify_signature

    receiver = Receiver()
    try:
        webhook_create(app=committed_shop_app, url=receiver.url, event_types=["points.earned"])
        secret = WebhookSubscription.objects.get().secret
        # Recorded with no worker running, and nothing queued: only beat's sweep sends it.
        services.points_earn(user_id=USER, points=7, description="swept", app=committed_shop_app)
        redis.Redis.from_url(BROKER).flushdb()
        with celery_worker(), celery_beat(tmp_path / "beat-schedule"):
            assert wait_for(lambda: len(receiver.received) >= 1, 60), "beat's sweep did not get the event delivered"
        headers, body = receiver.received[0]
        assert verify_signature(secret, headers["X-Loyalty-Signature"], body)
        assert receiver.events()[0]["data"]["reward"]["points_earned"] == 7
    finally:
        receiver.close()

"""A bulk award over 5,000 members credited by a real Celery worker (from the production
install, RUNTIME_PYTHON) that is killed with kill -9 in the middle: a worker started again
finishes the list, every member is credited exactly once, and check_ledger is clean. The
broker is a filesystem one in a folder of this test's own, so no other test shares it."""

import signal
import subprocess
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count

from rewards.models import Account, Event, Reward, SegmentAward, SegmentAwardCredit
from rewards.selectors import ledger_drift
from rewards.services.segments import award_ask, segment_create
from tests.live import celery_process, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = 5000


def worker(broker: Path) -> AbstractContextManager[subprocess.Popen]:
    return celery_process(
        "worker", "--pool", "solo", broker=f"filesystem://localhost{broker}", env={"SEGMENT_AWARD_BATCH": "100"}
    )


def credited() -> int:
    return SegmentAwardCredit.objects.count()


def test_a_worker_killed_mid_award_and_started_again_credits_each_member_once(transactional_db, tmp_path, settings):
    settings.CELERY_BROKER_URL = ""  # asked with no worker running: the worker's start finds it
    Account.objects.bulk_create(Account(user_id=user_id) for user_id in range(1, MEMBERS + 1))
    segment_create(definition={"code": "everyone", "name": "Everyone"}, by="test")
    award = award_ask(code="everyone", award_id="big-1", points=7, description="A gift", app=None, by="test").award
    assert (award.members, award.state) == (MEMBERS, "queued")

    with worker(tmp_path / "broker") as doomed:
        assert wait_for(lambda: credited() >= 1000, 90), "the worker did not start crediting"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    time.sleep(1)  # the server rolls back the killed worker's open batch
    halfway = credited()
    assert 1000 <= halfway < MEMBERS, halfway
    assert SegmentAward.objects.get().state == "running"
    assert Reward.objects.filter(reward_description="A gift").count() == halfway  # no batch half-written

    with worker(tmp_path / "broker"):
        assert wait_for(lambda: SegmentAward.objects.get().state == "done", 90), SegmentAward.objects.get().credited

    finished = SegmentAward.objects.get()
    assert (finished.members, finished.credited) == (MEMBERS, MEMBERS)
    per_member = Reward.objects.filter(reward_description="A gift").values("user_id").annotate(n=Count("id"))
    assert sorted(row["user_id"] for row in per_member) == list(range(1, MEMBERS + 1))
    assert {row["n"] for row in per_member} == {1}
    assert set(Account.objects.values_list("total_points_earned", flat=True)) == {7}
    assert Event.objects.filter(type="segment.award_done").count() == 1
    assert ledger_drift() == []
    call_command("check_ledger")

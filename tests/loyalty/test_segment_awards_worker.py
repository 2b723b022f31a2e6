"""A bulk award over 5,000 members credited by a real Celery worker (from the production
install, RUNTIME_PYTHON) that is killed with kill -9 in the middle: a worker started again
finishes the list, every member is credited exactly once, and check_ledger is clean. The
broker is a filesystem one in a folder of this test's own, so no other test shares it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count

from rewards.models import Account, Event, Reward, SegmentAward, SegmentAwardCredit
from rewards.selectors import ledger_drift
from rewards.services.segments import award_ask, segment_create
from tests.live import ROOT, TEST_SECRET_KEY, live_database_url

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = 5000
RUNTIME_PYTHON = os.environ.get("RUNTIME_PYTHON") or sys.executable


@contextmanager
def worker(broker: Path) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rewards_project.settings",
        "DATABASE_URL": live_database_url(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "CELERY_BROKER_URL": f"filesystem://localhost{broker}",
        "SEGMENT_AWARD_BATCH": "100",
    }
    process = subprocess.Popen(
        [RUNTIME_PYTHON, "-m", "celery", "-A", "rewards_project", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def credited() -> int:
    return SegmentAwardCredit.objects.count()


def wait_for(condition, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_killed_mid_award_and_started_again_credits_each_member_once(transactional_db, tmp_path, settings):
    settings.CELERY_BROKER_URL = ""  # asked with no worker running: the worker's start finds it
    Account.objects.bulk_create(Account(user_id=user_id) for user_id in range(1, MEMBERS + 1))
    segment_create(definition={"code": "everyone", "name": "Everyone"}, by="test")
    award = award_ask(code="everyone", award_id="big-1", points=7, description="A gift", app=None, by="test").award
    assert (award.members, award.state) == (MEMBERS, "queued")

    with worker(tmp_path / "broker") as doomed:
        assert wait_for(lambda: credited() >= 1000), "the worker did not start crediting"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
    time.sleep(1)  # the server rolls back the killed worker's open batch
    halfway = credited()
    assert 1000 <= halfway < MEMBERS, halfway
    assert SegmentAward.objects.get().state == "running"
    assert Reward.objects.filter(reward_description="A gift").count() == halfway  # no batch half-written

    with worker(tmp_path / "broker"):
        assert wait_for(lambda: SegmentAward.objects.get().state == "done"), SegmentAward.objects.get().credited

    finished = SegmentAward.objects.get()
    assert (finished.members, finished.credited) == (MEMBERS, MEMBERS)
    per_member = Reward.objects.filter(reward_description="A gift").values("user_id").annotate(n=Count("id"))
    assert sorted(row["user_id"] for row in per_member) == list(range(1, MEMBERS + 1))
    assert {row["n"] for row in per_member} == {1}
    assert set(Account.objects.values_list("total_points_earned", flat=True)) == {7}
    assert Event.objects.filter(type="segment.award_done").count() == 1
    assert ledger_drift() == []
    call_command("check_ledger")

"""Bulk awards with real parallel connections: the same award asked by several requests at
once is one award with one member list; several runs of one award at once (two workers, a
sweep beside a queued run) credit each member exactly once."""

import pytest
from django.db.models import Count

from loyalty.models import AccessLevel
from rewards.models import Account, Reward, SegmentAward, SegmentAwardMember
from rewards.selectors import ledger_drift
from rewards.services.segments import award_ask, award_run, segment_create
from tests.concurrency import run_concurrently
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db(transaction=True)

AWARD = {"award_id": "together-1", "points": 9, "description": "Together"}


@pytest.fixture
def everyone(transactional_db):
    Account.objects.bulk_create(Account(user_id=user_id) for user_id in range(1, 301))
    segment_create(definition={"code": "everyone", "name": "Everyone"}, by="test")


def test_the_same_award_asked_at_once_is_one_award(everyone):
    program = ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")

    def ask(_: int):
        return client_for(program).post("/loyalty-api/segments/everyone/awards", AWARD, format="json")

    answers = run_concurrently(ask, 6)
    assert [answer.status_code for answer in answers] == [202] * 6
    assert {answer.json()["members"] for answer in answers} == {300}
    assert SegmentAward.objects.count() == 1 and SegmentAwardMember.objects.count() == 300


def test_runs_of_one_award_at_once_credit_each_member_once(everyone, settings):
    settings.SEGMENT_AWARD_BATCH = 20
    award = award_ask(code="everyone", **AWARD, app=None, by="test").award

    results = run_concurrently(lambda _: award_run(award_pk=award.pk).state, 4)
    assert results == ["done"] * 4
    per_member = Reward.objects.filter(reward_description="Together").values("user_id").annotate(n=Count("id"))
    assert len(per_member) == 300 and {row["n"] for row in per_member} == {1}
    assert SegmentAward.objects.get().credited == 300
    assert ledger_drift() == []

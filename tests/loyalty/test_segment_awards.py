"""A bulk award to a segment: 202 with the award's state; the members fixed when it was asked
(a customer who joins later gets nothing); credited in batches as ordinary ledger credits
(lots, events, check_ledger clean), each once; the same award_id and body again is the same
award, another body a 409; segment.award_done once every member is credited."""

import pytest
from django.core.management import call_command

from loyalty.models import AccessLevel
from rewards import services
from rewards.models import Event, PointLot, Reward, SegmentAward, SegmentAwardCredit, SegmentAwardMember
from rewards.selectors import account_balance, ledger_drift
from rewards.services.segments import award_batch, award_run
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

RICH = {"code": "rich", "name": "Rich", "conditions": [{"field": "points.available", "op": "gte", "value": 100}]}
AWARD = {"award_id": "summer-1", "points": 200, "description": "Summer gift"}


@pytest.fixture
def program():
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def rich_world(program):
    """Customers 1..12 with 10 x user_id points: members of RICH are 10, 11, 12."""
    for user_id in range(1, 13):
        services.points_earn(user_id=user_id, points=10 * user_id, description="seed", app=None)
    assert program.post("/loyalty-api/segments", RICH, format="json").status_code == 201
    return [10, 11, 12]


def test_an_award_credits_each_member_as_asked_once(program, rich_world, settings):
    settings.SEGMENT_AWARD_BATCH = 2
    asked = program.post("/loyalty-api/segments/rich/awards", AWARD, format="json")
    assert asked.status_code == 202, asked.json()
    assert {k: asked.json()[k] for k in ("award_id", "segment", "state", "members", "credited")} == {
        "award_id": "summer-1",
        "segment": "rich",
        "state": "queued",
        "members": 3,
        "credited": 0,
    }
    # Fixed when asked: customer 9 joins the segment now and is not in the list.
    services.points_earn(user_id=9, points=50, description="late", app=None)
    award = SegmentAward.objects.get()
    assert sorted(SegmentAwardMember.objects.filter(award=award).values_list("user_id", flat=True)) == rich_world

    assert award_batch(award_pk=award.pk) == 11  # one batch of two
    running = program.get("/loyalty-api/segments/rich/awards/summer-1").json()
    assert (running["state"], running["credited"]) == ("running", 2)
    assert award_run(award_pk=award.pk).state == "done"
    done = program.get("/loyalty-api/segments/rich/awards/summer-1").json()
    assert (done["state"], done["members"], done["credited"]) == ("done", 3, 3) and done["finished_at"]

    for user_id in range(1, 13):
        gifts = Reward.objects.filter(user_id=user_id, reward_description="Summer gift")
        assert [g.points_earned for g in gifts] == ([200] if user_id in rich_world else [])
    assert account_balance(user_id=10).total_points == 300
    credit = SegmentAwardCredit.objects.get(user_id=12).credit
    assert (credit.kind, PointLot.objects.get(credit=credit).points) == ("earn", 200)
    earned = Event.objects.filter(type="points.earned", reward=credit).get()
    assert earned.data["segment_award"] == {"award_id": "summer-1", "segment": "rich"}
    [event] = Event.objects.filter(type="segment.award_done")
    assert (event.data["award"]["credited"], event.data["award"]["state"]) == (3, "done")
    # Running it again credits nobody twice.
    award_run(award_pk=award.pk)
    assert Reward.objects.filter(reward_description="Summer gift").count() == 3
    assert Event.objects.filter(type="segment.award_done").count() == 1
    assert ledger_drift() == []
    call_command("check_ledger")


def test_the_same_award_id_is_the_same_award_and_another_body_a_409(program, rich_world):
    first = program.post("/loyalty-api/segments/rich/awards", AWARD, format="json").json()
    again = program.post("/loyalty-api/segments/rich/awards", AWARD, format="json")
    assert (again.status_code, again.json()) == (202, first)
    for other in ({**AWARD, "points": 201}, {**AWARD, "description": "Other"}):
        refused = program.post("/loyalty-api/segments/rich/awards", other, format="json")
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "segment_award_conflict")
    program.post("/loyalty-api/segments", {**RICH, "code": "rich2"}, format="json")
    elsewhere = program.post("/loyalty-api/segments/rich2/awards", AWARD, format="json")
    assert elsewhere.status_code == 409
    assert SegmentAward.objects.count() == 1 and SegmentAwardMember.objects.count() == 3


def test_bad_awards_are_refused_and_write_nothing(program, rich_world):
    for body in (
        {**AWARD, "points": 0},
        {**AWARD, "points": "5"},
        {**AWARD, "award_id": "has space"},
        {**AWARD, "description": ""},
        {**AWARD, "extra": 1},
    ):
        assert program.post("/loyalty-api/segments/rich/awards", body, format="json").status_code == 400
    missing = program.post("/loyalty-api/segments/none/awards", AWARD, format="json")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "segment_not_found")
    unknown = program.get("/loyalty-api/segments/rich/awards/nope")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "segment_award_not_found")
    assert not SegmentAward.objects.exists()


def test_an_award_to_an_empty_segment_is_done_at_once(program, rich_world):
    empty = {"code": "empty", "name": "Nobody", "conditions": [{"field": "points.available", "op": "lt", "value": 0}]}
    program.post("/loyalty-api/segments", empty, format="json")
    answer = program.post("/loyalty-api/segments/empty/awards", AWARD, format="json").json()
    assert (answer["state"], answer["members"], answer["credited"]) == ("done", 0, 0)
    assert Event.objects.filter(type="segment.award_done").count() == 1


def test_check_ledger_ties_every_bulk_award_to_its_credits(program, rich_world):
    program.post("/loyalty-api/segments/rich/awards", AWARD, format="json")
    award = SegmentAward.objects.get()
    award_run(award_pk=award.pk)
    assert ledger_drift() == []
    SegmentAward.objects.filter(pk=award.pk).update(credited=2)
    wrong = SegmentAwardCredit.objects.get(user_id=11)
    outsider = services.points_earn(user_id=3, points=200, description="Summer gift", app=None).reward
    SegmentAwardCredit.objects.filter(pk=wrong.pk).update(credit=outsider)
    found = {(p.user_id, p.check, p.found, p.expected) for p in ledger_drift()}
    assert found == {
        (0, "bulk award summer-1 credited = its credits", 2, 3),
        (11, f"bulk award summer-1: credit {outsider.pk} = its points to its member", 200, None),
    }

"""The rule condition customer.segment: a rule with it awards the segment's members and only
them (eq, in; ne, not_in the others), judged as of the event; rules/simulate sees segments as
the real event does; an event whose rules name no segment reads no membership at all."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.models import AccessLevel
from rewards.models import Reward
from rewards.services.segments import segment_create
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

VIP, PLAIN = 41, 42


@pytest.fixture
def program():
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def vip_segment(shop):
    shop.patch(f"/rewards-api/customers/{VIP}/attributes/", {"vip": True}, format="json")
    shop.patch(f"/rewards-api/customers/{PLAIN}/attributes/", {"vip": False}, format="json")
    vip = [{"field": "attributes.vip", "op": "eq", "value": True}]
    segment_create(definition={"code": "vip", "name": "VIP", "conditions": vip}, by="test")


def bonus(name: str, op: str, value, points: int) -> dict:
    return {
        "name": name,
        "trigger": "feedback",
        "status": "active",
        "conditions": [{"field": "customer.segment", "op": op, "value": value}],
        "effect": {"type": "fixed", "points": points},
    }


def awarded(user_id: int, name: str) -> list[int]:
    return list(Reward.objects.filter(user_id=user_id, rule__name=name).values_list("points_earned", flat=True))


@pytest.mark.parametrize(
    ("op", "value", "gets"),
    [("eq", "vip", VIP), ("in", ["nobody", "vip"], VIP), ("ne", "vip", PLAIN), ("not_in", ["vip"], PLAIN)],
)
def test_a_segment_rule_awards_members_and_only_members(program, shop, vip_segment, op, value, gets):
    assert program.post("/loyalty-api/rules", bonus("Seg", op, value, 25), format="json").status_code == 201
    for user_id in (VIP, PLAIN):
        response = shop.post(
            "/rewards-api/submit-feedback/", {"user_id": user_id, "reward_description": "x"}, format="json"
        )
        assert response.status_code == 201, response.json()
    assert awarded(gets, "Seg") == [25]
    assert awarded(PLAIN if gets == VIP else VIP, "Seg") == []


def test_membership_is_as_of_the_event(program, shop, vip_segment):
    program.post("/loyalty-api/rules", bonus("VIP bonus", "eq", "vip", 30), format="json")
    shop.patch(f"/rewards-api/customers/{PLAIN}/attributes/", {"vip": True}, format="json")
    shop.post("/rewards-api/submit-feedback/", {"user_id": PLAIN, "reward_description": "x"}, format="json")
    assert awarded(PLAIN, "VIP bonus") == [30]


def test_simulate_sees_segments_as_the_event_does(program, vip_segment):
    program.post("/loyalty-api/rules", bonus("VIP bonus", "eq", "vip", 30), format="json")
    for user_id, points in ((VIP, 30), (PLAIN, 0)):
        body = {"trigger": "feedback", "event": {"user_id": user_id, "reward_description": "x"}}
        answer = program.post("/loyalty-api/rules/simulate", body, format="json").json()
        vip_points = sum(a["points"] for a in answer["breakdown"] if a["rule_name"] == "VIP bonus")
        assert vip_points == points, answer
    assert not Reward.objects.filter(rule__name="VIP bonus").exists()


def test_a_segment_condition_is_validated_as_text(program, vip_segment):
    refused = program.post("/loyalty-api/rules", bonus("Bad", "gt", "vip", 5), format="json")
    assert refused.status_code == 400


def test_an_event_whose_rules_name_no_segment_reads_no_membership(shop, vip_segment):
    with CaptureQueriesContext(connection) as queries:
        shop.post("/rewards-api/submit-feedback/", {"user_id": VIP, "reward_description": "x"}, format="json")
    assert not [q for q in queries.captured_queries if "rewards_segment" in q["sql"]]

"""Catalog items limited to segments: a member of any of them redeems, anyone else is refused
with 409 segment_required and nothing written; a customer session sees only the items its
segments allow; an unknown code is a 400; a segment an item names is not deleted (409)."""

import pytest

from loyalty.customers import customer_session_issue
from loyalty.models import AccessLevel
from rewards import services
from rewards.models import CatalogItem, Reward
from rewards.selectors import account_balance
from rewards.services.segments import segment_create
from tests.conftest import client_for
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

VIP, PLAIN = 31, 32
ITEM = {"kind": "coupon", "points_cost": 70, "amount": "7", "description": "VIP coupon"}
REDEEM = {"points_redeemed": 70, "coupon_amount": 7, "reward_description": "VIP coupon"}


@pytest.fixture
def program():
    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.fixture
def vip_item(program, shop):
    for user_id in (VIP, PLAIN):
        services.points_earn(user_id=user_id, points=500, description="seed", app=None)
    shop.patch(f"/rewards-api/customers/{VIP}/attributes/", {"vip": True}, format="json")
    segment_create(
        definition={
            "code": "vip",
            "name": "VIP",
            "conditions": [{"field": "attributes.vip", "op": "eq", "value": True}],
        },
        by="test",
    )
    segment_create(
        definition={"code": "nobody", "name": "Nobody", "conditions": [{"field": "tier", "op": "eq", "value": "x"}]},
        by="test",
    )
    created = program.post("/loyalty-api/catalog", {**ITEM, "segment_codes": ["nobody", "vip"]}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["segment_codes"] == ["nobody", "vip"]
    return created.json()


def test_a_member_redeems_and_anyone_else_is_refused_with_segment_required(shop, vip_item):
    member = shop.post("/rewards-api/redeem-coupon/", {**REDEEM, "user_id": VIP}, format="json")
    assert member.status_code == 201, member.json()
    refused = shop.post("/rewards-api/redeem-coupon/", {**REDEEM, "user_id": PLAIN}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "segment_required"
    assert "nobody, vip" in refused.json()["error"]["message"]
    assert account_balance(user_id=PLAIN).total_points == 500
    assert not Reward.objects.filter(user_id=PLAIN, kind="coupon").exists()
    # Membership is as of now: once PLAIN is a VIP, they may.
    shop.patch(f"/rewards-api/customers/{PLAIN}/attributes/", {"vip": True}, format="json")
    assert shop.post("/rewards-api/redeem-coupon/", {**REDEEM, "user_id": PLAIN}, format="json").status_code == 201


def test_a_customer_session_sees_only_what_its_segments_allow(shop_app, vip_item):
    def shown(user_id: int) -> list[str]:
        client = client_for(None)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {customer_session_issue(user_id=user_id, app=shop_app).token}")
        return [item["description"] for item in client.get("/rewards-api/catalog/").json()["catalog"]]

    assert "VIP coupon" in shown(VIP)
    assert "VIP coupon" not in shown(PLAIN)
    # An application sees every active item.
    assert "VIP coupon" in [
        i["description"] for i in client_for(shop_app).get("/rewards-api/catalog/").json()["catalog"]
    ]


def test_an_unknown_segment_is_a_400_and_a_named_segment_is_not_deleted(program, vip_item):
    unknown = program.post(
        "/loyalty-api/catalog", {**ITEM, "points_cost": 71, "segment_codes": ["vip", "gone"]}, format="json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"] == {"segment_codes": ["No segment has the code 'gone'."]}
    twice = program.post(
        "/loyalty-api/catalog", {**ITEM, "points_cost": 72, "segment_codes": ["vip", "vip"]}, format="json"
    )
    assert twice.status_code == 400
    assert CatalogItem.objects.filter(points_cost__in=[71, 72]).count() == 0
    refused = program.delete("/loyalty-api/segments/vip")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "segment_in_use")
    assert str(vip_item["id"]) in refused.json()["error"]["message"]
    program.patch(f"/loyalty-api/catalog/{vip_item['id']}", {"segment_codes": []}, format="json")
    assert program.delete("/loyalty-api/segments/vip").status_code == 200

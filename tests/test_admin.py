"""Every admin page staff use renders, and the ledger cannot be edited there."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty.models import Application
from loyalty.tokens import token_hash
from rewards import services
from rewards.models import Reward

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def ledger(shop_app):
    services.points_earn(user_id=9, points=80, description="seed", app=shop_app)
    return services.coupon_redeem(user_id=9, points=50, amount=Decimal("5.00"), description="c", app=shop_app)


@pytest.mark.parametrize(
    "model",
    [
        "rewards_reward",
        "rewards_account",
        "rewards_redeemeditem",
        "rewards_catalogitem",
        "loyalty_application",
        "loyalty_order",
        "loyalty_ordercounter",
    ],
)
def test_changelists_render(staff_client, ledger, model):
    response = staff_client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


def test_orders_search_and_returned_filter(staff_client, shop_app):
    from loyalty.services import order_record, order_return

    order_record(order_id=4242, user_id=9, total_cost=100, completed_at=1_700_000_000, app=shop_app)
    order_record(order_id=4343, user_id=9, total_cost=100, completed_at=1_700_000_000, app=shop_app)
    order_return(order_id=4343, app=shop_app)
    url = reverse("admin:loyalty_order_changelist")

    by_id = staff_client.get(url, {"q": "4242"}).context["cl"].result_list
    returned = staff_client.get(url, {"returned": "yes"}).context["cl"].result_list
    by_user = staff_client.get(url, {"q": "9"}).context["cl"].result_list

    assert [o.order_id for o in by_id] == [4242]
    assert [o.order_id for o in returned] == [4343]
    assert {o.order_id for o in by_user} == {4242, 4343}


def test_ledger_row_is_read_only(staff_client, ledger):
    url = reverse("admin:rewards_reward_change", args=[ledger.reward.pk])
    assert staff_client.get(url).status_code == 200
    staff_client.post(url, {"points_redeemed": 1})
    assert Reward.objects.get(pk=ledger.reward.pk).points_redeemed == 50
    assert staff_client.get(reverse("admin:rewards_reward_add")).status_code == 403


def test_application_created_in_admin_shows_token_once_never_hash(staff_client):
    response = staff_client.post(
        reverse("admin:loyalty_application_add"), {"name": "POS", "access_level": "Can_Read"}, follow=True
    )

    app = Application.objects.get(name="POS")
    messages = [str(m) for m in response.context["messages"]]
    token = next(m for m in messages if "shown once" in m).rsplit(": ", 1)[1]
    assert token_hash(token) == app.token_hash
    change_page = staff_client.get(reverse("admin:loyalty_application_change", args=[app.pk])).content.decode()
    assert app.token_hash not in change_page


def test_application_level_is_editable_in_admin(staff_client, shop_app):
    url = reverse("admin:loyalty_application_change", args=[shop_app.pk])
    staff_client.post(url, {"access_level": "Can_Read"})
    assert Application.objects.get(pk=shop_app.pk).access_level == "Can_Read"


def test_customer_page_shows_balance_orders_and_history(staff_client, ledger, shop_app):
    from loyalty.services import order_record

    order_record(order_id=5151, user_id=9, total_cost=400, completed_at=1_700_000_000, app=shop_app)

    page = staff_client.get(reverse("admin:loyalty_customer_change", args=[9])).content.decode()

    assert '<td id="balance">50</td>' in page  # 80 - 50 + 20
    assert "5151" in page and "Order 5151" in page and "seed" in page


def test_staff_adjustment_goes_through_the_ledger(staff_client, ledger):
    from rewards.selectors import ledger_drift

    url = reverse("admin:loyalty_customer_change", args=[9])
    staff_client.post(url, {"points": "-40", "reason": "Duplicate bonus"})

    row = Reward.objects.get(kind="adjustment")
    assert (row.points_earned, row.points_redeemed) == (0, 40)
    assert row.reward_description == "Duplicate bonus (adjusted by staff)"
    assert '<td id="balance">-10</td>' in staff_client.get(url).content.decode()
    assert ledger_drift() == []


@pytest.mark.parametrize(
    "data",
    [
        {"points": "0", "reason": "x"},
        {"points": "5", "reason": ""},
        {"points": "abc", "reason": "x"},
        {"points": str(10**10), "reason": "x"},
    ],
)
def test_bad_adjustment_writes_nothing(staff_client, ledger, data):
    rows = Reward.objects.count()
    response = staff_client.post(reverse("admin:loyalty_customer_change", args=[9]), data)
    assert response.status_code == 200  # the form again, with its errors
    assert Reward.objects.count() == rows

"""Every admin page staff use renders, and the ledger cannot be edited there."""

import secrets
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


def adjustment(**data: str) -> dict[str, str]:
    """The adjustment form's fields, with the one-time key the page puts in each form."""
    return {"submission": secrets.token_urlsafe(24), **data}


@pytest.fixture
def ledger(shop_app):
    services.points_earn(user_id=9, points=80, description="seed", app=shop_app)
    return services.coupon_redeem(user_id=9, points=50, amount=Decimal("5.00"), description="c", app=shop_app)


@pytest.mark.parametrize(
    "model",
    [
        "rewards_reward",
        "loyalty_customer",
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
    # 30 - 40 goes below zero: confirmed on the second page, with the balance seen there.
    staff_client.post(url, adjustment(points="-40", reason="Duplicate bonus", confirmed_balance="30"))

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
        {"points": "5", "reason": "x", "submission": ""},
        {"points": "5", "reason": "x", "submission": "short"},
    ],
)
def test_bad_adjustment_writes_nothing(staff_client, ledger, data):
    rows = Reward.objects.count()
    response = staff_client.post(reverse("admin:loyalty_customer_change", args=[9]), adjustment(**data))
    assert response.status_code == 200  # the form again, with its errors
    assert Reward.objects.count() == rows


# ---- staff act only within their permissions -----------------------------------------


def staff_with(django_user_model, client, *permissions: tuple[type, str]):
    """A logged-in staff user holding exactly these (model, codename) permissions."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    for model, codename in permissions:
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        user.user_permissions.add(Permission.objects.get(content_type=content_type, codename=codename))
    client.force_login(user)
    return client


def customer_url(user_id: int = 9) -> str:
    return reverse("admin:loyalty_customer_change", args=[user_id])


def test_staff_without_permissions_can_neither_see_nor_adjust_a_customer(client, django_user_model, ledger):
    clerk = staff_with(django_user_model, client)
    rows = Reward.objects.count()

    assert clerk.get(customer_url()).status_code == 403
    assert clerk.post(customer_url(), {"points": "1000000000", "reason": "free"}).status_code == 403
    assert Reward.objects.count() == rows


def test_view_permission_shows_the_customer_but_no_adjustment(client, django_user_model, ledger):
    from loyalty.models import Customer

    clerk = staff_with(django_user_model, client, (Customer, "view_customer"))
    rows = Reward.objects.count()

    page = clerk.get(customer_url())
    posted = clerk.post(customer_url(), {"points": "5", "reason": "x"})

    assert page.status_code == 200 and '<td id="balance">30</td>' in page.content.decode()
    assert "adjust-form" not in page.content.decode()
    assert posted.status_code == 403
    assert Reward.objects.count() == rows


@pytest.fixture
def adjuster(client, django_user_model):
    from loyalty.models import Customer
    from rewards.models import Account

    return staff_with(django_user_model, client, (Customer, "view_customer"), (Account, "adjust_points"))


def test_adjust_permission_posts_a_small_adjustment_at_once(adjuster, ledger):
    response = adjuster.post(customer_url(), adjustment(points="25", reason="Goodwill"))

    assert response.status_code == 302
    row = Reward.objects.get(kind="adjustment")
    assert (row.points_earned, row.reward_description) == (25, "Goodwill (adjusted by clerk)")


@pytest.mark.parametrize(
    ("points", "after", "reason"),
    [("10001", 10031, "larger than 10,000 points"), ("-31", -1, "below zero"), ("-10001", -9971, "larger than")],
)
def test_a_large_or_overdrawing_adjustment_waits_for_confirmation(adjuster, ledger, points, after, reason):
    rows = Reward.objects.count()

    form = adjustment(points=points, reason="Big one")
    first = adjuster.post(customer_url(), form)

    page = first.content.decode()
    assert first.status_code == 200 and reason in page
    assert '<td id="balance-before">30</td>' in page and f'<td id="balance-after">{after}</td>' in page
    assert Reward.objects.count() == rows

    confirmed = adjuster.post(customer_url(), {**form, "confirmed_balance": "30"})

    assert confirmed.status_code == 302
    assert Reward.objects.count() == rows + 1
    from rewards.selectors import account_balance

    assert account_balance(user_id=9).total_points == after


def test_a_confirmation_for_a_balance_that_moved_is_asked_again(adjuster, ledger, shop_app):
    services.points_earn(user_id=9, points=5, description="meanwhile", app=shop_app)
    rows = Reward.objects.count()

    response = adjuster.post(customer_url(), adjustment(points="20000", reason="Big", confirmed_balance="30"))

    assert response.status_code == 200
    assert '<td id="balance-before">35</td>' in response.content.decode()
    assert Reward.objects.count() == rows


def test_a_customer_the_ledger_has_not_seen_can_be_opened_and_credited(adjuster):
    from rewards.selectors import account_balance

    opened = adjuster.post(reverse("admin:loyalty_customer_add"), {"user_id": "777"})
    assert opened.status_code == 302 and opened["Location"] == customer_url(777)
    page = adjuster.get(customer_url(777))
    assert page.status_code == 200 and '<td id="balance">0</td>' in page.content.decode()

    adjuster.post(customer_url(777), adjustment(points="15", reason="Welcome"))

    assert account_balance(user_id=777).total_points == 15


@pytest.mark.parametrize("object_id", ["abc", "0", "-5", str(2**63)])
def test_a_customer_id_that_is_no_user_id_is_404(adjuster, object_id):
    assert adjuster.get(f"/admin/loyalty/customer/{object_id}/change/").status_code == 404


def test_revoke_action_needs_change_permission(client, django_user_model, shop_app):
    clerk = staff_with(django_user_model, client, (Application, "view_application"))
    url = reverse("admin:loyalty_application_changelist")

    response = clerk.post(url, {"action": "revoke", "_selected_action": [str(shop_app.pk)]})

    assert response.status_code in (200, 302)
    assert Application.objects.get(pk=shop_app.pk).revoked_at is None


def test_revoke_action_runs_with_change_permission(client, django_user_model, shop_app):
    clerk = staff_with(
        django_user_model, client, (Application, "view_application"), (Application, "change_application")
    )

    clerk.post(
        reverse("admin:loyalty_application_changelist"),
        {"action": "revoke", "_selected_action": [str(shop_app.pk)]},
    )

    assert Application.objects.get(pk=shop_app.pk).revoked_at is not None


# ---- lists staff can work in ---------------------------------------------------


def test_customer_search_finds_by_user_id_order_id_and_coupon_code(staff_client, ledger, shop_app):
    from loyalty.services import order_record

    services.points_earn(user_id=12, points=5, description="other", app=shop_app)
    order_record(order_id=987654, user_id=12, total_cost=100, completed_at=1_700_000_000, app=shop_app)
    url = reverse("admin:loyalty_customer_changelist")
    code = ledger.redeemed_item.item_code

    def found(term: str) -> list[int]:
        return [c.user_id for c in staff_client.get(url, {"q": term}).context["cl"].result_list]

    assert found("9") == [9]
    assert found("987654") == [12]
    assert found(code) == [9] and found(code.lower()) == [9]
    assert found("nothing-like-it") == []


def test_ledger_is_named_plainly_and_filters_by_kind_and_date(staff_client, ledger):
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert "Ledger" in index and ">Rewards<" not in index and ">Accounts<" not in index

    url = reverse("admin:rewards_reward_changelist")
    coupons = staff_client.get(url, {"kind__exact": "coupon"}).context["cl"].result_list
    today = staff_client.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).context["cl"].result_list
    by_code = staff_client.get(url, {"q": ledger.redeemed_item.item_code}).context["cl"].result_list

    assert [r.kind for r in coupons] == ["coupon"]
    assert len(today) == 2
    assert [r.pk for r in by_code] == [ledger.reward.pk]


@pytest.mark.parametrize(
    ("model", "first_columns"),
    [("loyalty_application", ["name", "status"]), ("loyalty_order", ["order_id", "user_id", "status"])],
)
def test_status_comes_first_in_lists_that_are_wide(staff_client, shop_app, model, first_columns):
    response = staff_client.get(reverse(f"admin:{model}_changelist"))
    columns = [c for c in response.context["cl"].list_display if c != "action_checkbox"]
    assert columns[: len(first_columns)] == first_columns


def test_customer_page_shows_lots_by_state_and_the_rows_that_moved_them(staff_client, shop_app, settings):
    from datetime import timedelta

    from django.utils import timezone

    from loyalty.services import order_record

    settings.ORDER_POINTS_PENDING_DAYS = 14
    settings.POINTS_VALIDITY_DAYS = 20
    services.points_earn(user_id=9, points=80, description="Welcome", app=shop_app)
    coupon = services.coupon_redeem(user_id=9, points=50, amount=Decimal("5"), description="c", app=shop_app)
    order_record(order_id=77, user_id=9, total_cost=400, completed_at=int(timezone.now().timestamp()), app=shop_app)
    services.points_lifecycle_run(now=timezone.now() + timedelta(days=1))

    page = staff_client.get(reverse("admin:loyalty_customer_change", args=[9])).content.decode()

    assert '<td id="balance">30</td>' in page
    assert '<td id="pending">20, next on' in page
    assert '<td id="expiring">30 (soonest expiry' in page
    assert '<td class="lot-state">expiring soon</td>' in page and '<td class="lot-state">pending</td>' in page
    assert f"\N{MINUS SIGN}50 by #{coupon.reward.pk} Coupon redemption" in page


def exported(response) -> list[list[str]]:
    import csv

    assert response.status_code == 200, response
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(b"".join(response.streaming_content).decode("utf-8-sig").splitlines()))


def test_ledger_exports_as_csv_filtered_as_the_list_is(staff_client, ledger, shop_app, monkeypatch):
    services.points_earn(user_id=10, points=7, description="=HYPERLINK(evil)", app=shop_app)
    # Pages of two rows: the export reads page after page, never the whole table at once.
    monkeypatch.setattr("rewards.selectors.rows_by_keyset.__kwdefaults__", {"page": 2})
    url = reverse("admin:rewards_reward_export")
    assert (
        'href="export.csv?kind__exact=coupon"'
        in staff_client.get(reverse("admin:rewards_reward_changelist") + "?kind__exact=coupon").content.decode()
    )

    every = exported(staff_client.get(url))
    coupons = exported(staff_client.get(url + "?kind__exact=coupon"))
    customer_9 = exported(staff_client.get(url + "?q=9"))

    assert every[0][:6] == ["id", "created_at", "user_id", "kind", "points_earned", "points_redeemed"]
    assert [(row[2], row[3], row[4], row[5]) for row in every[1:]] == [
        ("10", "earn", "7", "0"),
        ("9", "coupon", "0", "50"),
        ("9", "earn", "80", "0"),
    ]
    assert every[1][7] == "'=HYPERLINK(evil)"  # a spreadsheet reads it as text, not a formula
    assert [(row[3], row[11]) for row in coupons[1:]] == [("coupon", ledger.redeemed_item.item_code)]
    assert {row[2] for row in customer_9[1:]} == {"9"}


def test_balances_export_as_csv_and_need_the_view_permission(staff_client, client, django_user_model, ledger):
    from loyalty.models import Customer

    rows = exported(staff_client.get(reverse("admin:loyalty_customer_export")))
    assert rows[0][:4] == ["user_id", "total_points", "total_points_earned", "total_points_redeemed"]
    assert [row[:4] for row in rows[1:]] == [["9", "30", "80", "50"]]

    staff_client.logout()
    clerk = staff_with(django_user_model, client)
    assert clerk.get(reverse("admin:loyalty_customer_export")).status_code == 403
    clerk = staff_with_more(django_user_model, clerk, Customer, "view_customer")
    assert exported(clerk.get(reverse("admin:loyalty_customer_export")))[1][0] == "9"


def staff_with_more(django_user_model, client, model, codename):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    user = django_user_model.objects.get(username="clerk")
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    user.user_permissions.add(Permission.objects.get(content_type=content_type, codename=codename))
    return client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("posts", [2, 8])
def test_one_adjustment_form_posted_many_times_at_once_counts_once(django_user_model, committed_shop_app, posts):
    from django.test import Client

    from loyalty.models import Customer
    from rewards.models import Account
    from rewards.selectors import account_balance, ledger_drift
    from tests.concurrency import run_concurrently

    services.points_earn(user_id=9, points=30, description="seed", app=committed_shop_app)
    staff_with(django_user_model, Client(), (Customer, "view_customer"), (Account, "adjust_points"))
    clients = [Client() for _ in range(posts)]
    for client in clients:
        client.force_login(django_user_model.objects.get(username="clerk"))
    # The confirmed form of an overdrawing adjustment, clicked `posts` times.
    form = adjustment(points="-40", reason="Double click", confirmed_balance="30")

    statuses = run_concurrently(lambda i: clients[i].post(customer_url(), form).status_code, posts)

    # Each later click is refused, or (once the balance moved) asked to confirm again.
    assert set(statuses) <= {200, 302} and statuses.count(302) >= 1, statuses
    assert Reward.objects.filter(kind="adjustment").count() == 1
    assert account_balance(user_id=9).total_points == -10
    assert ledger_drift() == []
    again = clients[0].post(customer_url(), form, follow=True)
    assert "already posted" in again.content.decode()
    assert Reward.objects.filter(kind="adjustment").count() == 1


@pytest.mark.parametrize(
    ("changelist", "query"),
    [
        ("admin:loyalty_customer_changelist", {"user_id": "\x00"}),
        ("admin:rewards_reward_changelist", {"user_id": "\x00"}),
        ("admin:rewards_reward_changelist", {"created_at__gte": "notadate"}),
        ("admin:rewards_reward_changelist", {"p": "999999"}),
        ("admin:rewards_reward_changelist", {"q": "a\x00b"}),
        ("admin:loyalty_customer_changelist", {"q": "\x00"}),
        ("admin:loyalty_customer_changelist", {"p": "999999"}),
    ],
)
def test_a_csv_export_with_a_bad_filter_answers_as_its_list_does(staff_client, ledger, changelist, query):
    listed = staff_client.get(reverse(changelist), query)
    exported = staff_client.get(reverse(changelist) + "export.csv", query)

    # 400 for a lookup no list offers, the list's error page for a filter it cannot apply,
    # and for what the list shows anyway (with a message) the rows it shows.
    assert (exported.status_code, exported.get("Location")) == (listed.status_code, listed.get("Location"))
    if exported.status_code == 200:
        assert exported["Content-Type"] == "text/csv; charset=utf-8"


def test_the_ledger_list_says_entries_zero_and_the_time_zone(staff_client, ledger):
    from django.utils import timezone

    from rewards.models import RewardKind

    # A row that moves no available points (as a release of pending points is).
    Reward.objects.create(
        user_id=9,
        kind=RewardKind.ADJUSTMENT,
        reward_description="nothing moved",
        created_at=timezone.now(),
        seq=1,
        hash=bytes(32),
        description_commitment=bytes(32),
    )
    page = staff_client.get(reverse("admin:rewards_reward_changelist")).content.decode()

    assert "ledger entries" in page and "3 ledger\n" not in page
    assert '<td class="field-points">0</td>' in page and "-0<" not in page
    assert " UTC</td>" in page or " UTC</a>" in page


def test_admin_over_plain_http_with_secure_cookies_says_which_settings_to_set(client, django_user_model, settings):
    from django.test import Client

    settings.CSRF_COOKIE_SECURE = True
    django_user_model.objects.create_superuser("boss", "b@example.com", "pw")
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(reverse("admin:login"), {"username": "boss", "password": "pw"})

    assert response.status_code == 403
    assert "SESSION_COOKIE_SECURE=0 and CSRF_COOKIE_SECURE=0" in response.content.decode()


LADDER = {
    "tiers": [
        {"code": "bronze", "name": "Bronze", "entry_points": 0, "retain_points": 0},
        {"code": "silver", "name": "Silver", "entry_points": 100, "retain_points": 100, "multiplier": "1.5"},
        {"code": "gold", "name": "Gold", "entry_points": 1000, "retain_points": 800, "multiplier": "2"},
    ]
}


def test_the_customer_page_shows_the_tier_and_the_way_to_the_next(staff_client):
    from django.utils import timezone

    from loyalty.services import order_record, order_return

    services.ladder_set(definition=LADDER, by="test")
    now = timezone.now()
    # 100 points (2000 x 0.05) lift the customer to Silver; a return of a fifth takes 20 back.
    order_record(order_id=7701, user_id=77, total_cost=2000, completed_at=int(now.timestamp()), app=None)
    order_return(order_id=7701, returned_cost=400, app=None)
    today, in_a_year = now.date(), (now + timezone.timedelta(days=365)).date()

    page = staff_client.get(customer_url(77)).content.decode()

    assert f'<td id="tier">Silver, points x1.5, since {today}; requalifies on {in_a_year}</td>' in page
    assert (
        '<td id="qualifying">80 in the last 365 days; 920 more to Gold; 20 more by the requalification to keep'
        " Silver</td>" in page
    )


def test_the_customer_page_shows_a_staff_floor_and_the_lowest_tier(staff_client):
    from django.utils import timezone

    services.ladder_set(definition=LADDER, by="test")
    until = timezone.now() + timezone.timedelta(days=30)
    services.tier_floor_set(user_id=78, code="gold", until=until, reason="VIP", by="staff")

    floored = staff_client.get(customer_url(78)).content.decode()
    lowest = staff_client.get(customer_url(79)).content.decode()

    assert f'<td id="tier">Gold, points x2, held by a staff floor until {until.date()}</td>' in floored
    assert '<td id="tier">Bronze</td>' in lowest
    assert '<td id="qualifying">0 in the last 365 days; 100 more to Silver</td>' in lowest


def test_the_customer_page_says_when_there_is_no_ladder(staff_client):
    page = staff_client.get(customer_url(80)).content.decode()

    assert '<td id="tier">No tier ladder is set.</td>' in page and 'id="qualifying"' not in page


def test_the_dashboard_shows_the_liability_in_the_currency(staff_client, settings):
    settings.CURRENCY_SYMBOL, settings.POINT_VALUE = "€", Decimal("0.005")
    services.points_earn(user_id=81, points=123_457, description="seed", app=None)

    page = staff_client.get(reverse("admin-reports")).content.decode()

    assert "<dt>Liability at €0.005 a point</dt><dd>€617.29</dd>" in page  # 123,457 x 0.005, to the cent


@pytest.mark.parametrize(
    ("accent", "ink"),
    [("#0f766e", "#ffffff"), ("#fde047", "#1f2937"), ("#FFF", "#1f2937"), ("#123", "#ffffff")],
)
def test_the_admin_header_takes_the_programs_accent_with_text_that_reads_on_it(staff_client, settings, accent, ink):
    settings.PROGRAM_ACCENT_COLOR = accent

    pages = [staff_client.get(reverse(name)).content.decode() for name in ("admin:index", "admin-reports")]
    pages.append(staff_client.get(reverse("admin:rewards_rule_add")).content.decode())
    pages.append(staff_client.get(customer_url(5)).content.decode())

    for page in pages:
        assert f"--header-bg: {accent};" in page and f"--header-color: {ink};" in page

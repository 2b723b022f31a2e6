"""Staff with the view permission read the signed digests in admin (list and detail, in hex, as
published), and nothing more: no add, change or delete, for anyone; without the permission,
not at all. The list and a digest's page also render in a real headless Chromium."""

import os

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from playwright.sync_api import expect

from rewards import services
from rewards.models import LedgerDigest
from rewards.services.digests import ledger_digest_cut

pytestmark = pytest.mark.django_db
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def digests(shop_app):
    services.points_earn(user_id=7, points=5, description="x", app=shop_app)
    first = ledger_digest_cut()
    services.points_earn(user_id=8, points=5, description="y", app=shop_app)
    return first, ledger_digest_cut()


@pytest.fixture
def viewer(client, django_user_model):
    user = django_user_model.objects.create_user("vera", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_ledgerdigest"))
    client.force_login(user)
    return client


def test_staff_with_the_view_permission_list_the_digests_newest_first(viewer, digests):
    first, second = digests
    page = viewer.get(reverse("admin:rewards_ledgerdigest_changelist")).content.decode()
    assert page.index(f">{second.pk}<") < page.index(f">{first.pk}<")  # newest first
    assert bytes(second.signature).hex() in page and bytes(second.previous_hash).hex() == bytes(first.hash).hex()
    assert bytes(first.hash).hex() in page  # the second's previous, as its list row shows it


def test_a_digests_page_shows_what_it_signs_in_hex(viewer, digests):
    _, second = digests
    response = viewer.get(reverse("admin:rewards_ledgerdigest_change", args=[second.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for value in (second.heads_root, second.hash, second.public_key, second.signature, second.audit_hash):
        assert bytes(value).hex() in page
    assert 'name="_save"' not in page  # read only: no form to save


def test_nobody_adds_changes_or_deletes_a_digest_there(admin_client, digests):
    first, _ = digests
    assert admin_client.get(reverse("admin:rewards_ledgerdigest_add")).status_code == 403
    assert admin_client.post(reverse("admin:rewards_ledgerdigest_delete", args=[first.pk])).status_code == 403
    changed = admin_client.post(reverse("admin:rewards_ledgerdigest_change", args=[first.pk]), {"heads_count": 0})
    assert changed.status_code == 403
    assert LedgerDigest.objects.get(pk=first.pk).heads_count == 1


def test_staff_without_the_permission_do_not_see_them(client, django_user_model, digests):
    client.force_login(django_user_model.objects.create_user("bob", password="pw", is_staff=True))
    assert client.get(reverse("admin:rewards_ledgerdigest_changelist")).status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_digests_and_the_audit_record_in_chromium(browser, live_server, django_user_model, committed_shop_app):
    services.points_earn(user_id=7, points=5, description="x", app=committed_shop_app)
    digest = ledger_digest_cut()
    django_user_model.objects.create_superuser("maria", "maria@example.com", "a-long-password")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/rewards/ledgerdigest/")
    expect(page.get_by_role("link", name=str(digest.pk), exact=True)).to_be_visible()
    page.get_by_role("link", name=str(digest.pk), exact=True).click()
    expect(page.get_by_text(bytes(digest.signature).hex())).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)

    page.goto(f"{live_server.url}/admin/pghistory/events/?subject=application")
    expect(page.get_by_role("cell", name="application", exact=True).first).to_be_visible()
    expect(page.get_by_role("link", name="every one")).to_be_visible()
    context.close()

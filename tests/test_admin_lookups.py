"""No admin list answers questions about a secret: a lookup from the query string on any
sensitive field (secrets, token and password hashes, keys) is refused for every registered
admin, and no such field is listed, searched, filtered or sorted on."""

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from loyalty.models import WebhookSubscription
from loyalty.services.webhooks import webhook_create

pytestmark = pytest.mark.django_db

SENSITIVE = re.compile(r"secret|token|hash|password|session|key", re.IGNORECASE)


def sensitive_fields() -> list[tuple[str, str]]:
    """(admin changelist URL name, field name) for every sensitive field of every admin."""
    found = []
    for model, _ in admin.site._registry.items():
        for field in model._meta.get_fields():
            if getattr(field, "concrete", False) and SENSITIVE.search(field.name):
                found.append((f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist", field.name))
    return found


@pytest.fixture
def viewer(client, django_user_model):
    """A staff user who may view everything and change nothing."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return client


def test_the_sensitive_fields_are_found():
    fields = {name for _, name in sensitive_fields()}
    assert {"secret", "token_hash", "password"} <= fields, fields


@pytest.mark.parametrize(("changelist", "field"), sensitive_fields())
@pytest.mark.parametrize("lookup", ["__startswith", "__exact", "", "__regex", "__gt"])
def test_no_lookup_on_a_sensitive_field_from_the_query_string(viewer, shop_app, changelist, field, lookup, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(app=shop_app, url="http://hooks.internal/x", event_types=["points.earned"])

    response = viewer.get(reverse(changelist), {f"{field}{lookup}": "w"})

    assert response.status_code == 400


def test_the_webhook_secret_oracle_is_closed(viewer, shop_app, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = webhook_create(app=shop_app, url="http://hooks.internal/x", event_types=["points.earned"]).subscription
    url = reverse("admin:loyalty_webhooksubscription_changelist")

    right = viewer.get(url, {"id": hook.pk, "secret__startswith": hook.secret[:8]})
    wrong = viewer.get(url, {"id": hook.pk, "secret__startswith": "whsec_#"})

    assert right.status_code == wrong.status_code == 400
    assert WebhookSubscription.objects.count() == 1


def test_the_offered_filters_still_work(viewer, shop_app):
    url = reverse("admin:loyalty_application_changelist")
    assert viewer.get(url, {"access_level__exact": "Can_Read"}).status_code == 200
    assert viewer.get(url, {"revoked_at__isempty": "1"}).status_code == 200
    assert viewer.get(reverse("admin:rewards_reward_changelist"), {"kind__exact": "earn"}).status_code == 200


def test_no_sensitive_field_is_listed_searched_filtered_or_sorted():
    for model, model_admin in admin.site._registry.items():
        named = [
            *model_admin.list_display,
            *(entry[0] if isinstance(entry, tuple | list) else entry for entry in model_admin.list_filter),
            *(name.lstrip("=^@") for name in model_admin.search_fields),
            *(model_admin.ordering or []),
            *(model_admin.sortable_by or []),
        ]
        for name in named:
            if isinstance(name, str):
                assert not SENSITIVE.search(name.replace("session", "")), (model, name)

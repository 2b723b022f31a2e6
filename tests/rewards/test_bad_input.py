"""Every bad input gets the JSON error body and writes nothing."""

import pytest

from rewards.models import Account, RedeemedItem, Reward

pytestmark = pytest.mark.django_db

EARN = "/rewards-api/earn-points/"
PURCHASE = "/rewards-api/purchase/"
COUPON = "/rewards-api/redeem-coupon/"
DONATION = "/rewards-api/redeem-donation/"
FEEDBACK = "/rewards-api/submit-feedback/"
USE = "/rewards-api/use-coupon/"

GOOD = {
    EARN: {"user_id": 5, "points_earned": 10, "reward_description": "ok"},
    PURCHASE: {"user_id": 5, "amount": 10, "reward_description": "ok"},
    COUPON: {"user_id": 5, "points_redeemed": 50, "coupon_amount": 5, "reward_description": "ok"},
    DONATION: {"user_id": 5, "points_redeemed": 50, "donation_amount": 5, "reward_description": "ok"},
    FEEDBACK: {"user_id": 5, "reward_description": "ok"},
}


def with_(path: str, **changes):
    body = dict(GOOD[path])
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return body


def nothing_written() -> bool:
    return Reward.objects.count() == 0 and Account.objects.count() == 0 and RedeemedItem.objects.count() == 0


def assert_error(response, status: int, code: str, field: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if field is not None:
        assert field in body["error"]["fields"], body
    assert nothing_written()


BAD_BODIES = [
    # missing fields
    (EARN, with_(EARN, user_id=...), "user_id"),
    (EARN, with_(EARN, points_earned=...), "points_earned"),
    (EARN, with_(EARN, reward_description=...), "reward_description"),
    (PURCHASE, with_(PURCHASE, amount=...), "amount"),
    (COUPON, with_(COUPON, coupon_amount=...), "coupon_amount"),
    (DONATION, with_(DONATION, donation_amount=...), "donation_amount"),
    (FEEDBACK, {}, "user_id"),
    # wrong types
    (EARN, with_(EARN, user_id="5"), "user_id"),
    (EARN, with_(EARN, user_id=5.5), "user_id"),
    (EARN, with_(EARN, user_id=5.0), "user_id"),
    (EARN, with_(EARN, user_id=None), "user_id"),
    (EARN, with_(EARN, user_id=[5]), "user_id"),
    (EARN, with_(EARN, user_id={"id": 5}), "user_id"),
    (EARN, with_(EARN, points_earned="10"), "points_earned"),
    (EARN, with_(EARN, reward_description=123), "reward_description"),
    (EARN, with_(EARN, reward_description=["a"]), "reward_description"),
    (PURCHASE, with_(PURCHASE, amount="ten"), "amount"),
    (PURCHASE, with_(PURCHASE, amount=[1]), "amount"),
    # bools as ints
    (EARN, with_(EARN, user_id=True), "user_id"),
    (EARN, with_(EARN, points_earned=True), "points_earned"),
    (PURCHASE, with_(PURCHASE, amount=True), "amount"),
    (COUPON, with_(COUPON, points_redeemed=False), "points_redeemed"),
    # zero, negative
    (EARN, with_(EARN, points_earned=0), "points_earned"),
    (EARN, with_(EARN, points_earned=-5), "points_earned"),
    (EARN, with_(EARN, user_id=0), "user_id"),
    (EARN, with_(EARN, user_id=-1), "user_id"),
    (PURCHASE, with_(PURCHASE, amount=0), "amount"),
    (PURCHASE, with_(PURCHASE, amount=-3.5), "amount"),
    (COUPON, with_(COUPON, points_redeemed=-50), "points_redeemed"),
    (COUPON, with_(COUPON, coupon_amount=-5), "coupon_amount"),
    # text
    (EARN, with_(EARN, reward_description=""), "reward_description"),
    (EARN, with_(EARN, reward_description="   "), "reward_description"),
    (EARN, with_(EARN, reward_description="x" * 256), "reward_description"),
    (EARN, with_(EARN, reward_description="nul\x00byte"), "reward_description"),
    # too many decimal places, absurd numbers
    (PURCHASE, with_(PURCHASE, amount=1.234), "amount"),
    (PURCHASE, with_(PURCHASE, amount="0.001"), "amount"),
    (PURCHASE, with_(PURCHASE, amount="NaN"), "amount"),
    (PURCHASE, with_(PURCHASE, amount="Infinity"), "amount"),
    (PURCHASE, with_(PURCHASE, amount=10**20), "amount"),
    (PURCHASE, with_(PURCHASE, amount="1e400"), "amount"),
    (EARN, with_(EARN, user_id=2**63), "user_id"),
    (EARN, with_(EARN, user_id=10**30), "user_id"),
    (EARN, with_(EARN, points_earned=10**12), "points_earned"),
    (COUPON, with_(COUPON, coupon_amount=5.001), "coupon_amount"),
    # only ASCII digits are numbers (Python's Decimal() reads these as 5 and 55)
    (PURCHASE, with_(PURCHASE, amount="\u0665"), "amount"),
    (COUPON, with_(COUPON, coupon_amount="\u0665"), "coupon_amount"),
    (DONATION, with_(DONATION, donation_amount="\uff15.00"), "donation_amount"),
    (USE, {"item_code": ""}, "item_code"),
    (USE, {"item_code": 12345}, "item_code"),
    (USE, {}, "item_code"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_BODIES)
def test_bad_body_is_400_with_field_and_writes_nothing(post_json, path, body, field):
    assert_error(post_json(path, body), 400, "validation_error", field)


@pytest.mark.parametrize("amount", ["9999999999.99", "500000000.50"])
def test_a_purchase_worth_more_points_than_one_entry_may_carry_is_400(post_json, amount):
    """Every kind of credit is capped alike: 1,000,000,000 points in one entry, as earn-points
    is. At the base rule's 2 points per unit, a purchase above 500,000,000.49 would pass it."""
    response = post_json(PURCHASE, with_(PURCHASE, amount=amount))
    assert_error(response, 400, "points_limit_exceeded", "amount")
    assert "1,000,000,000 points" in response.json()["error"]["message"]


@pytest.mark.parametrize("body", [[1, 2], "text", 5, None])
def test_json_that_is_not_an_object_is_400(shop, body):
    import json

    response = shop.post(EARN, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert nothing_written()


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"user_id": 5,}',
        b'{"user_id": NaN, "points_earned": 1, "reward_description": "x"}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_json_is_400(shop, raw):
    response = shop.generic("POST", EARN, raw, content_type="application/json")
    assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", "user_id=5"),
        ("application/x-www-form-urlencoded", "user_id=5&points_earned=1&reward_description=x"),
        ("multipart/form-data; boundary=xx", "--xx--"),
        ("application/xml", "<a/>"),
    ],
)
def test_body_that_is_not_json_is_415(shop, content_type, data):
    response = shop.generic("POST", EARN, data, content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")


def test_body_over_64_kib_is_413(shop):
    import json

    body = json.dumps({**GOOD[EARN], "reward_description": "x" * (64 * 1024)})
    response = shop.generic("POST", EARN, body, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_parser_refuses_an_oversized_stream_even_without_content_length():
    """Defence in depth behind the middleware: the parser never reads past the limit."""
    import io

    from core.parsers import PayloadTooLarge, StrictJSONParser

    stream = io.BytesIO(b'{"a": "' + b"x" * (64 * 1024) + b'"}')
    with pytest.raises(PayloadTooLarge):
        StrictJSONParser().parse(stream)
    assert stream.tell() == 64 * 1024 + 1


@pytest.mark.parametrize(
    ("method", "path"), [("put", EARN), ("delete", COUPON), ("patch", USE), ("post", "/rewards-api/catalog/")]
)
def test_wrong_method_is_405(shop, method, path):
    response = getattr(shop, method)(path, {}, format="json")
    assert_error(response, 405, "method_not_allowed")


@pytest.mark.parametrize(
    "path", ["/rewards-api/nope/", "/rewards-api/", "/loyalty-api/unknown", "/rewards-api/earn-points/x"]
)
def test_unknown_api_path_is_json_404(shop, path):
    assert_error(shop.post(path, {}, format="json"), 404, "not_found")


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "path",
    ["/rewards-api/earn-points//", "/loyalty-api/applications", "/rewards-api", "/loyalty-api", "/rewards-api/x/y"],
)
def test_unknown_api_path_is_json_404_with_csrf_checks_on(shop_app, method, path):
    """Django's test client skips CSRF unless asked; a real client does not get that favour."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {shop_app.token}")
    response = client.generic(method.upper(), path, "{}", content_type="application/json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_paths_refuse_other_methods_with_json_405(method, path):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).generic(method.upper(), path)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("charset", ["base64", "hex", "rot13", "no-such-charset", "zlib"])
def test_a_charset_that_is_not_text_is_415(shop, charset):
    response = shop.generic("POST", EARN, '{"user_id": 5}', content_type=f"application/json; charset={charset}")
    assert_error(response, 415, "unsupported_charset")


def test_the_charsets_read_are_utf8_and_ascii_compatible_ones():
    """latin-1 is read as sent; a codec that fails on ordinary input is refused."""
    from core.middleware import is_supported_charset

    assert is_supported_charset("latin-1") and is_supported_charset("UTF-8") and is_supported_charset("us-ascii")
    for refused in ("base64", "nope", "undefined", "punycode", "idna", "utf-16", "utf-7", "\x00"):
        assert not is_supported_charset(refused), refused


@pytest.mark.parametrize(
    "query",
    ["", "user_id=", "user_id=abc", "user_id=1.5", "user_id=-3", "user_id=0", f"user_id={2**63}", "user_id=1e3"],
)
def test_bad_user_id_in_query_is_400(shop, query):
    assert_error(shop.get(f"/rewards-api/get-points/?{query}"), 400, "validation_error", "user_id")


@pytest.mark.parametrize("cursor", ["abc", "-1", "0", "1.5", "9" * 25, "\u00b2", "\u0665", "\uff11"])
@pytest.mark.parametrize("path", ["/rewards-api/get-user-info/", "/rewards-api/get-redemptions/"])
def test_bad_cursor_is_400(shop, cursor, path):
    assert_error(shop.get(path, {"user_id": 1, "cursor": cursor}), 400, "validation_error", "cursor")


def test_an_api_client_asking_for_html_still_gets_json(shop):
    response = shop.get("/rewards-api/get-points/?user_id=abc", HTTP_ACCEPT="text/html")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",
        "\u00a0",
        "\u3000",
        "\u200b\u200c\u200d\ufeff",
        "\u2800",
        "\u3164",
        "\u0301",
        " \u2028\u2029 ",
        "\u202e",
    ],
)
def test_text_made_only_of_invisible_characters_is_blank(shop, master, invisible):
    earned = shop.post(EARN, {"user_id": 5, "points_earned": 1, "reward_description": invisible}, format="json")
    app = master.post(
        "/loyalty-api/application", {"application_name": invisible, "access_level": "Can_Read"}, format="json"
    )

    assert_error(earned, 400, "validation_error", "reward_description")
    assert_error(app, 400, "validation_error", "application_name")
    assert not Reward.objects.exists()


@pytest.mark.parametrize("visible", ["café", "日本", "\u2605", "-", "\u200bx", "e\u0301", "\U0001f31f"])
def test_text_with_something_visible_is_taken_as_sent(shop, visible):
    response = shop.post(EARN, {"user_id": 5, "points_earned": 1, "reward_description": visible}, format="json")
    assert response.status_code == 201, response.content
    assert Reward.objects.get().reward_description == visible


# ---- NUL characters in what is stored as JSON -------------------------------------------------------

NUL = "\x00"


def stored() -> dict[str, list[dict]]:
    """Every row of both apps, but the applications (a request notes when its token was used)."""
    from django.apps import apps

    from loyalty.models import Application

    models = [
        model
        for label in ("rewards", "loyalty")
        for model in apps.get_app_config(label).get_models()
        if model is not Application
    ]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in models}


ORDER_ITEM = {"sku": "A1", "category": "shoes", "quantity": 1, "price": 100}
RULE = {"name": "Web orders", "trigger": "order", "effect": {"type": "fixed", "points": 5}}
ACTIVITY_RULE = {
    "name": "Reviews",
    "trigger": "activity",
    "activity_name": "review",
    "effect": {"type": "fixed", "points": 5},
}
ACTIVITY = {"user_id": 5, "name": "review", "activity_id": "a-1"}
ORDER = {"user_id": 5, "order_id": 1, "total_cost": 100, "completed_at": 1_700_000_000}
WEBHOOK = {"url": "http://1.1.1.1/hook", "event_types": ["points.earned"]}
CATALOG = {"kind": "coupon", "points_cost": 10, "amount": "1.00", "description": "A coupon"}
LADDER = {"tiers": [{"code": "base", "name": "Base", "entry_points": 0, "retain_points": 0}]}


def condition(field: str, op: str, value) -> list[dict]:
    return [{"field": field, "op": op, "value": value}]


# (who, method, path, body, the field the error names). "{id}" is an existing row of the path's kind.
NUL_BODIES = [
    (
        "program",
        "post",
        "/loyalty-api/rules",
        {**RULE, "conditions": condition("channel", "eq", f"w{NUL}b")},
        "conditions",
    ),
    (
        "program",
        "post",
        "/loyalty-api/rules",
        {**RULE, "conditions": condition("channel", "in", ["web", NUL])},
        "conditions",
    ),
    ("program", "post", "/loyalty-api/rules", {**RULE, "conditions": condition("item.sku", "ne", NUL)}, "conditions"),
    (
        "program",
        "post",
        "/loyalty-api/rules",
        {**ACTIVITY_RULE, "conditions": condition("properties.colour", "eq", f"red{NUL}")},
        "conditions",
    ),
    (
        "program",
        "post",
        "/loyalty-api/rules",
        {**ACTIVITY_RULE, "conditions": condition("properties.colour", "in", ["red", f"{NUL}blue"])},
        "conditions",
    ),
    ("program", "post", "/loyalty-api/rules", {**RULE, "effect": {"type": f"fixed{NUL}", "points": 5}}, "effect"),
    ("program", "post", "/loyalty-api/rules", {**RULE, "caps": {"per_customer": 5, "period": f"day{NUL}"}}, "caps"),
    ("program", "patch", "/loyalty-api/rules/{id}", {"conditions": condition("channel", "eq", NUL)}, "conditions"),
    (
        "program",
        "patch",
        "/loyalty-api/rules/{id}",
        {"conditions": condition("channel", "not_in", ["app", f"x{NUL}"])},
        "conditions",
    ),
    (
        "program",
        "post",
        "/loyalty-api/rules/simulate",
        {"trigger": "activity", "event": {**ACTIVITY, "properties": {"colour": NUL}}},
        "event",
    ),
    ("shop", "post", "/rewards-api/activities/", {**ACTIVITY, "properties": {"colour": f"red{NUL}"}}, "properties"),
    ("shop", "post", "/rewards-api/activities/", {**ACTIVITY, "properties": {f"col{NUL}our": "red"}}, "properties"),
    ("shop", "post", "/loyalty-api/orders", {**ORDER, "items": [{**ORDER_ITEM, "sku": f"A{NUL}"}]}, "items"),
    ("shop", "post", "/loyalty-api/orders", {**ORDER, "items": [{**ORDER_ITEM, "category": NUL}]}, "items"),
    ("shop", "post", "/loyalty-api/orders", {**ORDER, "items": [{**ORDER_ITEM, f"s{NUL}": 1}]}, "items"),
    ("shop", "post", "/loyalty-api/webhooks", {**WEBHOOK, "event_types": [f"points.earned{NUL}"]}, "event_types"),
    ("shop", "patch", "/loyalty-api/webhooks/{id}", {"event_types": ["points.earned", NUL]}, "event_types"),
    ("program", "post", "/loyalty-api/catalog", {**CATALOG, "tier_codes": [f"gold{NUL}"]}, "tier_codes"),
    ("program", "patch", "/loyalty-api/catalog/{id}", {"tier_codes": [NUL]}, "tier_codes"),
    ("program", "put", "/loyalty-api/tiers", {"tiers": [{**LADDER["tiers"][0], "benefits": [f"x{NUL}"]}]}, "tiers"),
    ("program", "put", "/loyalty-api/tiers", {**LADDER, "qualifying_kinds": [f"order{NUL}"]}, "qualifying_kinds"),
    # Text kept in stored JSON too: in a row's event, an answer kept for replays, a rule's versions.
    ("program", "post", "/loyalty-api/rules", {**RULE, "name": f"Web{NUL}"}, "name"),
    ("program", "patch", "/loyalty-api/rules/{id}", {"name": NUL}, "name"),
    ("program", "post", "/loyalty-api/catalog", {**CATALOG, "description": f"A{NUL}"}, "description"),
    ("program", "patch", "/loyalty-api/catalog/{id}", {"description": f"{NUL}coupon"}, "description"),
    ("program", "put", "/loyalty-api/tiers", {"tiers": [{**LADDER["tiers"][0], "name": f"B{NUL}"}]}, "tiers"),
    ("shop", "post", "/rewards-api/activities/", {**ACTIVITY, "name": f"rev{NUL}iew"}, "name"),
    ("shop", "post", "/rewards-api/activities/", {**ACTIVITY, "activity_id": f"a{NUL}1"}, "activity_id"),
    ("shop", "post", "/loyalty-api/orders", {**ORDER, "channel": f"web{NUL}"}, "channel"),
    ("shop", "post", "/loyalty-api/webhooks", {**WEBHOOK, "description": f"CRM{NUL}"}, "description"),
    ("shop", "patch", "/loyalty-api/webhooks/{id}", {"description": NUL}, "description"),
    (
        "shop",
        "post",
        "/rewards-api/earn-points/",
        {"user_id": 5, "points_earned": 10, "reward_description": f"Bonus{NUL}"},
        "reward_description",
    ),
    (
        "shop",
        "post",
        "/rewards-api/purchase/",
        {"user_id": 5, "amount": "10.00", "reward_description": NUL},
        "reward_description",
    ),
    (
        "shop",
        "post",
        "/rewards-api/submit-feedback/",
        {"user_id": 5, "reward_description": f"{NUL}"},
        "reward_description",
    ),
    (
        "shop",
        "post",
        "/rewards-api/redeem-coupon/",
        {"user_id": 5, "points_redeemed": 10, "coupon_amount": "1.00", "reward_description": f"c{NUL}"},
        "reward_description",
    ),
    (
        "shop",
        "post",
        "/rewards-api/redeem-donation/",
        {"user_id": 5, "points_redeemed": 10, "donation_amount": "1.00", "reward_description": f"d{NUL}"},
        "reward_description",
    ),
    ("shop", "post", "/rewards-api/void-coupon/", {"item_code": "ABC", "reason": f"Mistake{NUL}"}, "reason"),
    ("shop", "post", "/rewards-api/referrals/", {"user_id": 6, "code": f"AB{NUL}"}, "code"),
]


@pytest.fixture
def program(db):
    from loyalty.models import AccessLevel
    from tests.conftest import client_for
    from tests.factories import ApplicationFactory

    return client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), NUL_BODIES)
def test_a_nul_anywhere_in_what_is_stored_as_json_is_400_naming_the_field(
    request, settings, program, shop, who, method, path, body, field
):
    """PostgreSQL's jsonb holds no U+0000: a NUL in a rule's condition, an activity's
    properties, an order's items... is refused as text fields refuse it, and nothing is written."""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    if "{id}" in path:
        kind = path.split("/")[2]
        client, created_body = {"rules": (program, RULE), "webhooks": (shop, WEBHOOK), "catalog": (program, CATALOG)}[
            kind
        ]
        created = client.post(f"/loyalty-api/{kind}", created_body, format="json")
        assert created.status_code == 201, created.content
        path = path.format(id=created.json()["id"])
    before = stored()

    response = getattr({"program": program, "shop": shop}[who], method)(path, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (response.json()["success"], error["code"]) == (False, "validation_error")
    assert field in error["fields"], error
    assert any("Null characters are not allowed." in message for message in error["fields"][field]), error
    assert stored() == before


# Inputs only ever read inside one of the inputs above, which refuses their NULs for them.
NESTED_INPUTS = {"ConditionInput", "EffectInput", "CapsInput", "TierInput", "OrderItemInput"}


def test_every_input_that_takes_json_values_refuses_nul_for_all_of_them():
    """A new endpoint that stores lists or objects cannot forget the NUL check: every input
    serializer with such a field refuses a NUL in any of its fields."""
    from rest_framework import serializers

    from core.fields import NulRefusedMixin
    from loyalty import serializers as loyalty_serializers
    from loyalty.serializers import OrderItemsField
    from rewards import serializers as rewards_serializers

    composite = (serializers.ListField, serializers.DictField, serializers.JSONField, serializers.BaseSerializer)
    inputs = {
        name: cls
        for module in (rewards_serializers, loyalty_serializers)
        for name, cls in vars(module).items()
        if name.endswith("Input") and isinstance(cls, type) and issubclass(cls, serializers.Serializer)
    }
    takes_json = {
        name
        for name, cls in inputs.items()
        if any(isinstance(field, (*composite, OrderItemsField)) for field in cls().fields.values())
    }

    assert {"RuleInput", "ActivityInput", "OrderCreateInput", "WebhookInput", "CatalogInput"} <= takes_json
    unchecked = {name for name in takes_json - NESTED_INPUTS if not issubclass(inputs[name], NulRefusedMixin)}
    assert unchecked == set()


def nested(depth: int) -> list:
    """A list ``depth`` deep: ``nested(1) == []``, ``nested(2) == [[]]``."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


CHALLENGE = {"code": "deep", "name": "Deep", "status": "active", "goal": {"metric": "orders", "target": 3}}
# Bodies holding a list 400 deep, which the JSON parser reads (it stops near 1000) but which
# once took the NUL check past Python's recursion limit: a 500.
DEEP_BODIES = [
    ("shop", "/rewards-api/activities/", {**ACTIVITY, "properties": {"x": nested(400)}}),
    ("shop", "/loyalty-api/orders", {**ORDER, "items": [{**ORDER_ITEM, "sku": nested(400)}]}),
    ("shop", EARN, with_(EARN, reward_description=nested(400))),
    ("program", "/loyalty-api/rules", {**RULE, "conditions": condition("channel", "in", nested(400))}),
    (
        "program",
        "/loyalty-api/challenges",
        {**CHALLENGE, "goal": {**CHALLENGE["goal"], "conditions": condition("total_cost", "gte", nested(400))}},
    ),
    ("program", "/loyalty-api/segments", {"code": "deep", "name": "Deep", "conditions": nested(400)}),
]


@pytest.mark.parametrize(("who", "path", "body"), DEEP_BODIES, ids=[f"{who} {path}" for who, path, _ in DEEP_BODIES])
def test_a_body_nested_too_deeply_is_400_and_writes_nothing(program, shop, who, path, body):
    before = stored()

    response = {"program": program, "shop": shop}[who].post(path, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "malformed_json",
        "The request body is nested too deeply: at most 32 levels of lists and objects.",
    )
    assert stored() == before


def test_a_body_32_levels_deep_is_read_and_33_is_not(shop):
    """The body is the first level, its properties the second, their list the third: 32 levels
    reach the activity's own check (its properties are flat), 33 are refused unread."""
    deepest = {**ACTIVITY, "properties": {"x": nested(30)}}
    too_deep = {**ACTIVITY, "properties": {"x": nested(31)}}

    read = shop.post("/rewards-api/activities/", deepest, format="json")
    refused = shop.post("/rewards-api/activities/", too_deep, format="json")

    assert_error(read, 400, "validation_error", "properties")
    assert_error(refused, 400, "malformed_json")


def test_the_nul_check_walks_any_depth():
    from core.validation import holds_nul

    assert not holds_nul({"x": nested(5000)})
    assert holds_nul({"x": [nested(5000), {"k\x00": 1}]})


@pytest.mark.parametrize("digits", [4301, 5000, 60_000])
def test_an_integer_too_long_to_read_is_400_in_words_of_its_own(shop, digits):
    raw = b'{"user_id": ' + b"9" * digits + b', "points_earned": 1, "reward_description": "x"}'

    response = shop.generic("POST", EARN, raw, content_type="application/json")

    assert_error(response, 400, "malformed_json")
    assert response.json()["error"]["message"] == "The request body has a number longer than 4300 digits."


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"user_id": -' + b"9" * 4301 + b"}", "The request body has a number longer than 4300 digits."),
        # The first fault in the text is the one named, whichever kind it is.
        (b'{"user_id": ' + b"9" * 4301 + b", ,}", "The request body has a number longer than 4300 digits."),
        (
            b'{"user_id": 1,, "points_earned": ' + b"9" * 4301 + b"}",
            "The request body is not valid JSON: Expecting property name enclosed in double quotes:"
            " line 1 column 15 (char 14)",
        ),
        (b'{"user_id": NaN, "x": ' + b"9" * 4301 + b"}", "The request body is not valid JSON: NaN is not valid JSON"),
    ],
    ids=["negative", "number first", "syntax first", "constant first"],
)
def test_a_refused_body_names_its_first_fault(shop, raw, message):
    before = stored()

    response = shop.generic("POST", EARN, raw, content_type="application/json")

    assert_error(response, 400, "malformed_json")
    assert response.json()["error"]["message"] == message
    assert stored() == before


def test_brackets_in_text_are_no_nesting(shop):
    """Many brackets in a string make the parser walk the body, which is one level deep."""
    response = shop.post(EARN, with_(EARN, reward_description="[{" * 100), format="json")

    assert response.status_code == 201, response.content


def test_an_integer_4300_digits_long_is_read_and_refused_as_out_of_range(shop):
    raw = b'{"user_id": ' + b"9" * 4300 + b', "points_earned": 1, "reward_description": "x"}'

    response = shop.generic("POST", EARN, raw, content_type="application/json")

    assert_error(response, 400, "validation_error", "user_id")

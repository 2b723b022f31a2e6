"""Inputs that once got a 500 from a real gunicorn, each answered with a JSON 4xx that writes
nothing, and a log that never holds a rejected request's query string."""

import http.client
import http.cookiejar
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from loyalty.models import AccessLevel, Application
from rewards.models import Account, Reward
from tests.factories import ApplicationFactory
from tests.live import gunicorn_serving
from tests.rewards.test_bad_input import CATALOG as NUL_CATALOG
from tests.rewards.test_bad_input import NUL_BODIES, stored
from tests.rewards.test_bad_input import RULE as NUL_RULE
from tests.rewards.test_bad_input import WEBHOOK as NUL_WEBHOOK
from tests.test_live_http import auth, call
from tests.test_path_parameters import ROUTES as PARAMETER_ROUTES

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_IN_QUERY = "tok_do_not_log_me_0123456789"


@pytest.fixture(scope="module")
def served(django_db_setup, django_db_blocker, collected_static, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A gunicorn with a return window and an expiry set (dates are computed), and its log."""
    log = tmp_path_factory.mktemp("hostile") / "gunicorn.log"
    env = {
        "ORDER_POINTS_PENDING_DAYS": "14",
        "POINTS_VALIDITY_DAYS": "365",
        "WEBHOOK_ALLOW_PRIVATE": "0",
        # Admin over plain HTTP on loopback, for the CSV export checks.
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }
    with django_db_blocker.unblock(), gunicorn_serving(collected_static, env=env, log_path=log) as base:
        yield base, log


@pytest.fixture
def master_app(transactional_db) -> Application:
    return ApplicationFactory(access_level=AccessLevel.MASTER_APP, name="MasterApp")


def assert_json_error(status: int, headers, payload, expected_status: int, code: str | None = None) -> None:
    assert status == expected_status, payload
    assert headers["Content-Type"] == "application/json"
    assert payload["success"] is False
    if code:
        assert payload["error"]["code"] == code, payload


@pytest.mark.parametrize("charset", ["undefined", "punycode", "idna", "utf-16", "utf-7"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_charset_that_cannot_read_the_request_is_415(served, committed_shop_app, charset, method):
    base, log = served
    query = f"user_id=5&note={quote('é')}&token={SECRET_IN_QUERY}"
    headers = auth(committed_shop_app, **{"Content-Type": f"application/json; charset={charset}"})
    body = None if method == "GET" else b'{"user_id": 5, "points_earned": 1, "reward_description": "x"}'
    path = f"/rewards-api/get-points/?{query}" if method == "GET" else f"/rewards-api/earn-points/?{query}"

    assert_json_error(*call(base, method, path, body, headers), 415, "unsupported_charset")
    assert not Reward.objects.exists()
    assert SECRET_IN_QUERY not in log.read_text()


def test_json_nested_a_thousand_deep_is_400(served, committed_shop_app):
    base, _ = served
    body = ('{"user_id": 5, "points_earned": 1, "reward_description": ' + "[" * 1000 + "]" * 1000 + "}").encode()
    status, headers, payload = call(base, "POST", "/rewards-api/earn-points/", body, auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400, "malformed_json")
    assert not Reward.objects.exists()


def test_a_list_400_deep_in_an_activitys_properties_is_400(served, committed_shop_app):
    """Read by the JSON parser (it stops near 1000), it took the NUL check past Python's
    recursion limit: a 500. Any shop token could send it."""
    base, _ = served
    deep = "[" * 400 + "]" * 400
    body = ('{"user_id": 5, "name": "review", "activity_id": "a-1", "properties": {"x": ' + deep + "}}").encode()
    status, headers, payload = call(base, "POST", "/rewards-api/activities/", body, auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400, "malformed_json")
    assert "nested too deeply" in payload["error"]["message"]


def test_an_integer_of_5000_digits_is_400_in_the_services_words(served, committed_shop_app):
    base, _ = served
    body = b'{"user_id": ' + b"9" * 5000 + b', "points_earned": 1, "reward_description": "x"}'
    status, headers, payload = call(base, "POST", "/rewards-api/earn-points/", body, auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400, "malformed_json")
    assert payload["error"]["message"] == "The request body has a number longer than 4300 digits."
    assert not Reward.objects.exists()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/loyalty-api/webhooks", '{"url": "http://1.1.1.1/x", "event_types": ["\\ud800"]}'),
        ("/loyalty-api/webhooks", '{"url": "http://1.1.1.1/x", "event_types": ["points.earned"], "d\\udfff": 1}'),
        ("/rewards-api/earn-points/", '{"user_id": 5, "points_earned": 1, "reward_description": "a\\udc00b"}'),
    ],
)
def test_a_lone_surrogate_is_400(served, committed_shop_app, path, body):
    base, _ = served
    status, headers, payload = call(base, "POST", path, body.encode(), auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400, "malformed_json")
    assert not Reward.objects.exists()


def test_a_lone_surrogate_in_an_access_level_is_400(served, master_app):
    base, _ = served
    body = b'{"application_name": "x", "access_level": "Can_\\ud800Read"}'
    status, headers, payload = call(base, "POST", "/loyalty-api/application", body, auth(master_app))
    assert_json_error(status, headers, payload, 400, "malformed_json")
    assert Application.objects.count() == 1


def test_a_surrogate_pair_is_a_character_and_is_read(served, committed_shop_app):
    base, _ = served
    body = b'{"user_id": 5, "points_earned": 1, "reward_description": "star \\ud83c\\udf1f"}'
    status, _, payload = call(base, "POST", "/rewards-api/earn-points/", body, auth(committed_shop_app))
    assert status == 201, payload
    assert Reward.objects.get().reward_description == "star \U0001f31f"


@pytest.mark.parametrize("port", ["65536", "99999", "0"])
def test_a_webhook_port_out_of_range_is_400(served, committed_shop_app, port):
    base, _ = served
    body = json.dumps({"url": f"http://1.1.1.1:{port}/x", "event_types": ["points.earned"]}).encode()
    status, headers, payload = call(base, "POST", "/loyalty-api/webhooks", body, auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400)


@pytest.mark.parametrize("chunk", [b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"-1\r\nab\r\n0\r\n\r\n"])
def test_a_malformed_chunked_body_is_400(served, committed_shop_app, chunk):
    base, _ = served
    host, port = base.removeprefix("http://").split(":")
    head = (
        "POST /rewards-api/earn-points/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {committed_shop_app.token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(head + chunk)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 400
        assert response.getheader("Content-Type") == "application/json"
        assert json.loads(response.read())["error"]["code"] == "malformed_body"
    assert not Reward.objects.exists()


@pytest.mark.parametrize("completed_at", [253_402_300_799, 253_402_300_799 - 20 * 86_400, 253_390_000_000])
def test_an_order_whose_points_would_be_dated_past_year_9999_is_400(served, committed_shop_app, completed_at):
    base, _ = served
    body = json.dumps({"user_id": 5, "order_id": 1, "total_cost": 2000, "completed_at": completed_at}).encode()
    status, headers, payload = call(base, "POST", "/loyalty-api/orders", body, auth(committed_shop_app))
    assert_json_error(status, headers, payload, 400, "date_out_of_range")
    assert not Reward.objects.exists() and not Account.objects.exists()


def _nul_case_id(case: tuple) -> str:
    _who, method, path, _body, field = case
    return f"{method.upper()} {path} {field}"


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), NUL_BODIES, ids=map(_nul_case_id, NUL_BODIES))
def test_a_nul_in_what_is_stored_as_json_is_400_naming_the_field(
    served, committed_shop_app, who, method, path, body, field
):
    """jsonb holds no U+0000: PostgreSQL refused it with a DataError, which was a 500. Every
    endpoint that stores JSON (a rule, an activity, an order, a webhook, a catalog item, the
    ladder, and each posting's event) is sent a NUL, as JSON's \\u0000, through gunicorn."""
    base, _ = served
    program = ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")
    app = {"program": program, "shop": committed_shop_app}[who]
    if "{id}" in path:
        kind = path.split("/")[2]
        creator, created_body = {
            "rules": (program, NUL_RULE),
            "webhooks": (committed_shop_app, NUL_WEBHOOK),
            "catalog": (program, NUL_CATALOG),
        }[kind]
        status, _, created = call(
            base, "POST", f"/loyalty-api/{kind}", json.dumps(created_body).encode(), auth(creator)
        )
        assert status == 201, created
        path = path.format(id=created["id"])
    before = stored()

    status, headers, payload = call(base, method.upper(), path, json.dumps(body).encode(), auth(app))

    assert_json_error(status, headers, payload, 400, "validation_error")
    assert "Null characters are not allowed." in payload["error"]["fields"][field], payload
    assert stored() == before


CODE_PATHS = [(method, route) for route, methods in PARAMETER_ROUTES.items() if "{code}" in route for method in methods]


@pytest.mark.parametrize("code", ["%00", "a%00b", "x%0Ay", "%1B[31m"])
@pytest.mark.parametrize(("method", "route"), CODE_PATHS, ids=[f"{m.upper()} {r}" for m, r in CODE_PATHS])
def test_a_control_character_in_a_code_is_a_json_404(served, method, route, code):
    """A NUL in a challenge's, a badge's or a segment's code reached the ORM, whose ValueError
    ("A string literal cannot contain NUL characters") was a 500."""
    base, _ = served
    program = ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program")
    path = route.format(code=code, award_id="1")

    status, headers, payload = call(base, method.upper(), path, b"{}", auth(program))

    assert_json_error(status, headers, payload, 404, "not_found")


def test_a_path_cannot_forge_a_line_of_the_servers_log_or_colour_it(served):
    base, log = served
    forged = "2026-12-08 00:00:00,000 INFO rewards.requests FORGED"
    for path in (f"/loyalty-api/challenges/x%0A{quote(forged)}", "/loyalty-api/challenges/%1b[31mred"):
        assert call(base, "GET", path)[0] == 404

    written = log.read_text()
    assert not any(line.startswith(forged) for line in written.splitlines())
    assert f"GET /loyalty-api/challenges/x\\n{forged} 404" in written
    assert "\x1b" not in written and "GET /loyalty-api/challenges/\\x1b[31mred 404" in written


@pytest.mark.parametrize("path", ["//rewards-api/get-points/?user_id=5", "/./rewards-api/get-points/?user_id=5"])
def test_a_path_with_doubled_slashes_or_dot_segments_is_a_json_404(served, committed_shop_app, path):
    base, _ = served
    assert_json_error(*call(base, "GET", path, headers=auth(committed_shop_app)), 404, "not_found")


def test_what_gets_through_django_unhandled_is_json_and_logged_without_its_query(caplog):
    """The last guard: an exception escaping Django itself (none is known; a WSGI environ no
    server sends stands in for one) is a JSON 500 whose log line holds no query string."""
    from core.middleware import last_resort

    def broken(environ, start_response):
        raise RuntimeError("boom")

    started = []
    body = last_resort(broken)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/x", "QUERY_STRING": f"token={SECRET_IN_QUERY}"},
        lambda status, headers, exc_info=None: started.append((status, dict(headers))),
    )
    assert started[0][0].startswith("500") and started[0][1]["Content-Type"] == "application/json"
    assert json.loads(b"".join(body))["error"]["code"] == "internal_error"
    assert "Unhandled error on GET /x" in caplog.text
    assert SECRET_IN_QUERY not in caplog.text


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is the answer, not a page to go to


def staff_opener(base: str, django_user_model) -> urllib.request.OpenerDirector:
    """A browser-like client logged in to admin (a superuser) on the served gunicorn; it
    follows no redirect, so a redirect is seen as one."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    boss = django_user_model.objects.create_superuser("boss", "boss@example.com")
    # Hashed as the production server checks it (the tests' own hasher is MD5, for speed).
    boss.password = PBKDF2PasswordHasher().encode("pw-boss-123", "testsalt0123", iterations=1000)
    boss.save(update_fields=["password"])
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirects())
    page = opener.open(f"{base}/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode({"username": "boss", "password": "pw-boss-123", "csrfmiddlewaretoken": token})
    login = urllib.request.Request(
        f"{base}/admin/login/?next=/admin/", data=form.encode(), headers={"Referer": f"{base}/admin/login/"}
    )
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(login)
    assert redirected.value.code == 302 and redirected.value.headers["Location"] == "/admin/"
    assert any(cookie.name == "sessionid" for cookie in jar)
    return opener


@pytest.mark.parametrize(
    ("changelist", "query"),
    [
        ("/admin/rewards/reward/", "user_id=%00"),
        ("/admin/loyalty/customer/", "user_id=%00"),
        ("/admin/rewards/reward/", "created_at__gte=notadate"),
        ("/admin/rewards/reward/", "p=999999"),
        ("/admin/rewards/reward/", "q=a%00b"),
    ],
)
def test_an_admin_csv_export_with_a_bad_filter_answers_as_its_list(served, django_user_model, changelist, query):
    base, _ = served
    opener = staff_opener(base, django_user_model)

    def status_of(path: str) -> tuple[int, str | None]:
        try:
            with opener.open(f"{base}{path}?{query}") as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location")

    listed, exported = status_of(changelist), status_of(f"{changelist}export.csv")

    assert listed[0] < 500 and exported == listed


def admin_form_post(opener: urllib.request.OpenerDirector, base: str, path: str, fields: dict) -> tuple[int, str]:
    """The form at ``path`` posted as a browser posts it (its CSRF token from the page)."""
    page = opener.open(f"{base}{path}").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token}, doseq=True).encode()
    try:
        with opener.open(urllib.request.Request(f"{base}{path}", data=data)) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


ADMIN_NUL_FORMS = [
    # A staff adjustment's reason goes into its row and its event (JSON).
    ("/admin/loyalty/customer/9/change/", {"points": "5", "reason": "Goodwill\x00", "submission": "s" * 24}),
    # A rule's conditions are stored as JSON.
    (
        "/admin/rewards/rule/add/",
        {
            "name": "Web orders",
            "trigger": "order",
            "activity_name": "",
            "status": "active",
            "priority": "100",
            "effect_type": "fixed",
            "effect_points": "50",
            "condition_1_field": "channel",
            "condition_1_op": "eq",
            "condition_1_value": "w\x00b",
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    ),
    # A catalog item's tiers are stored as JSON.
    (
        "/admin/rewards/catalogitem/add/",
        {
            "kind": "coupon",
            "description": "$25 coupon",
            "points_cost": "250",
            "amount": "25",
            "is_active": "on",
            "stock": "10",
            "per_customer_limit": "1",
            "limit_period": "month",
            "tier_codes_text": "silver, g\x00ld",
            "coupon_valid_days": "30",
        },
    ),
]


@pytest.mark.parametrize(("path", "fields"), ADMIN_NUL_FORMS, ids=[path for path, _ in ADMIN_NUL_FORMS])
def test_a_nul_in_an_admin_form_that_stores_json_is_the_form_again_with_its_error(
    served, django_user_model, path, fields
):
    base, _ = served
    opener = staff_opener(base, django_user_model)
    before = stored()

    status, page = admin_form_post(opener, base, path, fields)

    assert status == 200, page[:500]  # the form again, not a 500 and not a redirect to the saved object
    assert "Null characters are not allowed." in page
    assert stored() == before

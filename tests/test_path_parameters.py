"""A path parameter (a code, an id) holding a control character names nothing: every route of
both APIs answers the JSON 404 of a path with no endpoint, before any lookup (a NUL once reached
the ORM, whose ValueError was a 500)."""

import re

import pytest
from django.urls import URLPattern, get_resolver, reverse

from core.urlpatterns import PATH_SEGMENT
from loyalty.models import AccessLevel
from tests.conftest import client_for
from tests.factories import ApplicationFactory
from tests.rewards.test_bad_input import assert_error

pytestmark = pytest.mark.django_db

CONTROLS = ["%00", "a%00b", "%0A", "x%0D%0Ay", "%1B[31m", "%09", "%7F", "%C2%85", "%C2%9F"]
PLACEHOLDER = "PARAMETER"


def api_routes_with_parameters() -> dict[str, tuple[str, ...]]:
    """Every API route with a path parameter, as a template (``/loyalty-api/badges/{code}``),
    with the methods its view answers."""
    routes = {}
    for namespace in ("rewards", "loyalty"):
        for pattern in get_resolver(f"{namespace}.urls").url_patterns:
            assert isinstance(pattern, URLPattern)
            parameters = list(pattern.pattern.regex.groupindex)
            if not parameters:
                continue
            path = reverse(f"{namespace}:{pattern.name}", kwargs={name: f"{PLACEHOLDER}{name}" for name in parameters})
            route = re.sub(rf"{PLACEHOLDER}(\w+)", r"{\1}", path)
            view = pattern.callback.view_class
            routes[route] = tuple(method for method in ("get", "post", "patch", "delete") if hasattr(view, method))
    return routes


ROUTES = api_routes_with_parameters()
CASES = [
    (method, route, name)
    for route, methods in ROUTES.items()
    for method in methods
    for name in re.findall(r"{(\w+)}", route)
]


def test_the_routes_with_parameters_are_all_found():
    found = set(ROUTES)
    assert {
        "/loyalty-api/challenges/{code}",
        "/loyalty-api/badges/{code}",
        "/loyalty-api/segments/{code}",
        "/loyalty-api/segments/{code}/awards/{award_id}",
        "/loyalty-api/orders/{order_id}",
        "/rewards-api/customers/{user_id}/contact",
    } <= found
    assert len(found) == 16


def test_every_path_parameter_is_a_segment_without_control_characters():
    for namespace in ("rewards", "loyalty"):
        for pattern in get_resolver(f"{namespace}.urls").url_patterns:
            regex = pattern.pattern.regex.pattern
            groups = re.findall(r"\(\?P<\w+>([^)]*)\)", regex)
            assert all(group == PATH_SEGMENT for group in groups), regex


@pytest.mark.parametrize("control", CONTROLS)
@pytest.mark.parametrize(("method", "route", "name"), CASES, ids=[f"{m.upper()} {r} {n}" for m, r, n in CASES])
def test_a_control_character_in_a_path_parameter_is_a_json_404(method, route, name, control):
    program = client_for(ApplicationFactory(access_level=AccessLevel.CAN_MANAGE_PROGRAM, name="program"))
    values = {parameter: "1" for parameter in re.findall(r"{(\w+)}", route)}
    values[name] = control
    path = route.format(**values)

    response = getattr(program, method)(path, {}, format="json")

    assert_error(response, 404, "not_found")

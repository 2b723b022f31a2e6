"""The OpenAPI schema: valid, complete, and its docs served without a CDN."""

import re

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_operations() -> set[tuple[str, str]]:
    """(path, method) for every API route and method the views implement."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found = set()

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern).lstrip("^").rstrip("$").replace("/?", "/")
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith(("rewards-api/", "loyalty-api/")):
                view = getattr(p.callback, "view_class", None)
                if view is None:
                    continue
                path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
                path = path if path.endswith("/") else path + "/"
                found.update((path, m) for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m))

    walk(get_resolver().url_patterns, "")
    return found


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_schema_lists_every_endpoint_and_method(schema):
    listed = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    expected = api_operations()
    assert len(expected) == 78
    assert expected == listed


def test_every_operation_documents_auth_bodies_and_errors(schema):
    assert schema["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerToken"]["description"],
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert {"bearerToken": []} in operation["security"], where
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, where
            for code in success:
                assert "application/json" in operation["responses"][code]["content"], where
            for code in ("400", "401", "403"):
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), where
            if method in ("post", "put"):
                assert "requestBody" in operation, where


def test_schema_and_docs_are_served_without_a_cdn():
    client = APIClient()
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/rewards-api/earn-points/" in yaml.safe_load(schema.content)["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert not re.search(r"""(src|href)=["']https?://""", html), "docs must load no remote assets"
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_schema_is_also_served_as_json():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")

"""Production mode started the documented way (`make serve`, the Dockerfile): DEBUG off,
static files collected, gunicorn. The page, Swagger UI and admin load with their files."""

import re
import subprocess
import sys
import urllib.request
from urllib.error import HTTPError

import pytest

from tests.live import ROOT, production_environment

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(url: str, **headers: str) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("page", ["/rewards-page/", "/api/docs/", "/admin/login/"])
def test_each_page_loads_with_all_its_static_files(server, page):
    status, _, html = fetch(server + page)
    assert status == 200
    urls = static_urls(html)
    assert urls, f"{page} references no static files"
    for url in urls:
        file_status, headers, _ = fetch(server + url)
        assert file_status == 200, url
        # Hashed names from the manifest, cached for a year by WhiteNoise.
        assert "max-age=315360000" in headers.get("Cache-Control", ""), (url, headers.get("Cache-Control"))


def test_root_sends_visitors_somewhere_useful(server):
    status, _, html = fetch(server + "/")
    assert status == 200 and "swagger" in html.lower()


def test_serving_refuses_to_start_without_collected_static_files(tmp_path):
    env = production_environment(tmp_path / "empty")
    result = subprocess.run(
        [sys.executable, "-c", "import rewards_project.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "collectstatic" in result.stderr


def test_the_docker_build_context_leaves_secrets_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".env.*" in ignored


def test_the_schema_answers_json_to_an_api_client(server):
    status, headers, body = fetch(server + "/api/schema/", Accept="application/json")
    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.oai.openapi+json") or headers["Content-Type"].startswith(
        "application/json"
    )
    assert body.lstrip().startswith("{")


def test_each_request_is_logged_once(collected_static, tmp_path, django_db_blocker):
    from tests.live import gunicorn_serving

    log = tmp_path / "server.log"
    with django_db_blocker.unblock(), gunicorn_serving(collected_static, log_path=log) as base:
        fetch(base + "/rewards-api/catalog/?marker=1")
    lines = [line for line in log.read_text().splitlines() if "/rewards-api/catalog/" in line]
    assert len(lines) == 1, lines

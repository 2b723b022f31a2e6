"""The edge every documented way of serving puts in front of gunicorn (deploy/haproxy/):
slow or stalled clients cost the service nothing, and the edge's own refusals are JSON.

`make serve` runs deploy/serve.sh, which is what these tests start; deploy/cluster.sh is
tested the same way in tests/test_cluster.py; compose's configurations are checked by
HAProxy itself (no container engine here)."""

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from urllib.error import HTTPError

import pytest
import yaml

from loyalty.models import Application
from rewards.models import Account
from tests.live import ROOT, edge_serving, slow_clients

pytestmark = pytest.mark.django_db(transaction=True)

EDGE = ROOT / "deploy" / "haproxy"


@pytest.fixture(scope="module")
def edge(django_db_setup, django_db_blocker, collected_static) -> Iterator[str]:
    with django_db_blocker.unblock(), edge_serving(collected_static, workers=2) as base:
        yield base


def timed(request: urllib.request.Request) -> tuple[float, int, dict]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, json.loads(response.read())
    except HTTPError as error:
        status, body = error.code, json.loads(error.read())
    return time.monotonic() - started, status, body


def earn(base: str, app: Application, user_id: int) -> urllib.request.Request:
    body = json.dumps({"user_id": user_id, "points_earned": 5, "reward_description": "edge"}).encode()
    return urllib.request.Request(
        f"{base}/rewards-api/earn-points/",
        data=body,
        headers={"Authorization": f"Bearer {app.token}", "Content-Type": "application/json"},
    )


def test_sixteen_stalled_clients_do_not_delay_anyone_else(edge, committed_shop_app):
    # Two workers: without the edge, two stalled clients would already hold them both.
    with slow_clients(edge, count=16):
        time.sleep(0.5)  # every stalled request is in, as far as it goes
        health_seconds, health_status, _ = timed(urllib.request.Request(f"{edge}/healthz"))
        earn_seconds, earn_status, body = timed(earn(edge, committed_shop_app, 4101))

    assert health_status == 200 and health_seconds < 1, health_seconds
    assert earn_status == 201 and earn_seconds < 1, (earn_seconds, body)
    assert Account.objects.get(user_id=4101).total_points == 5


def test_stalled_requests_are_answered_408_within_the_edge_timeout(edge):
    with slow_clients(edge, count=2) as (body_stalled, headers_stalled):
        answers = []
        for sock in (body_stalled, headers_stalled):
            started = time.monotonic()
            answers.append(sock.recv(4096).decode())
            assert time.monotonic() - started < 8
    for answer in answers:
        assert answer.startswith("HTTP/1.1 408"), answer
    # A request with its path and headers in is refused in the API's JSON shape. One whose
    # headers never ended gets HAProxy's built-in page: HAProxy 2.6 answers those before any
    # error file applies (docs/DECISIONS.md).
    head, _, body = answers[0].partition("\r\n\r\n")
    assert "content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_a_request_the_edge_cannot_parse_is_refused_there(edge):
    with socket.create_connection(("127.0.0.1", int(edge.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(b"GET /rewards-api/get-points/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 400"), answer


def test_requests_reach_the_app_whole_through_the_edge(edge, committed_shop_app):
    _, status, body = timed(earn(edge, committed_shop_app, 4102))
    assert status == 201 and body["total_points"] == 5


@pytest.mark.parametrize("site", ["compose.cfg", "../compose/haproxy.cfg", "serve.cfg"])
def test_every_edge_configuration_is_valid_haproxy(site):
    env = {
        **os.environ,
        "HAPROXY_ERRORS": str(EDGE / "errors"),
        "EDGE_BIND": "127.0.0.1:1",
        "APP_SERVER": "unix@/nonexistent.sock",
    }
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(EDGE / "edge.cfg"), "-f", str(EDGE / site)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_publishes_only_the_edge():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"edge", "haproxy"}, published  # haproxy: the scale profile's edge
    for name in published:
        command = services[name]["command"]
        assert command[:3] == ["haproxy", "-f", "/usr/local/etc/haproxy/edge.cfg"], command


def test_compose_builds_one_image_and_starts_the_worker_and_beat_after_the_migrations():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert [name for name, service in services.items() if "build" in service] == ["app"]
    image = services["app"]["image"]
    for name in ("worker", "beat", "app-pool"):
        assert services[name]["image"] == image and services[name]["pull_policy"] == "never", name
    for name in ("worker", "beat"):
        # app is healthy once gunicorn answers, and gunicorn starts after `migrate`.
        assert services[name]["depends_on"]["app"]["condition"] == "service_healthy", name
        # Not the image's HTTP check: neither serves HTTP.
        health = services[name]["healthcheck"]
        assert health.get("disable") is True or "celery" in " ".join(health["test"]), name

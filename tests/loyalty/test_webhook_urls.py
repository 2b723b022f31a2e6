"""Where a webhook may send: the classic SSRF forms are refused when the webhook is created or
changed, and again when an event is delivered; a delivery connects only to the address that
was checked, and keeps no more than a short excerpt of the answer."""

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loyalty.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from loyalty.services.webhook_urls import RESPONSE_EXCERPT_BYTES, WebhookTarget, address_is_public, webhook_post
from loyalty.services.webhooks import webhooks_deliver_all
from rewards.services import points_earn
from tests.loyalty.test_webhooks import events_settled

WEBHOOKS = "/loyalty-api/webhooks"

# Each is refused for its form or for where it leads (no name here resolves to a public address).
SSRF_URLS = [
    # loopback, in every spelling some parser accepts
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://0177.0000.0000.0001/",
    "http://017700000001/",
    "http://127.000.000.001/",
    "http://0/",
    "http://0.0.0.0/",
    "http://localhost/",
    "http://localhost./",
    "http://LOCALHOST:8000/",
    "http://[::1]/",
    "http://[::]/",
    "http://[0:0:0:0:0:0:0:1]/",
    # IPv6 forms that carry an IPv4 address
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::127.0.0.1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::ffff:0:7f00:1]/",
    "http://[::ffff:0:127.0.0.1]/",
    "http://[0:0:0:0:ffff:0:a9fe:a9fe]/",
    # link-local, unique-local, zones, multicast
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[ff02::1]/",
    # cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    # private, shared, reserved, test and broadcast ranges
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.0.1/",
    "http://100.64.0.1/",
    "http://192.0.0.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    # parser confusion: backslash, user info, fragments, spaces, ports, other scripts
    "http://127.0.0.1:41050\\@1.1.1.1/x",
    "http://169.254.169.254:80\\@1.1.1.1/latest",
    "http://1.1.1.1@127.0.0.1/",
    "http://1.1.1.1:pw@127.0.0.1/",
    "http://127.0.0.1#@1.1.1.1/",
    "http://127.0.0.1%2f@1.1.1.1/",
    "http://1.1.1.1 &@127.0.0.1# @2.2.2.2/",
    "http://127.0.0.1:80:1.1.1.1/",
    "http://1.1.1.1:65536/",
    "http://1.1.1.1:0/",
    "http://1.1.1.1:99999999999999999999/",
    "http://127\u30020\u30020\u30021/",
    "http://\u2460\u2461\u2466.0.0.1/",
    "http://1.1.1.1\t/",
    "http://1.1.1.1\x00.evil/",
    "http://no-such-host.invalid/",
    # other schemes
    "gopher://127.0.0.1:6379/_INFO",
    "file:///etc/passwd",
    "dict://127.0.0.1:11211/",
    "ftp://1.1.1.1/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", SSRF_URLS)
def test_every_classic_ssrf_form_is_refused_when_created(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False

    response = shop.post(WEBHOOKS, {"url": url, "event_types": ["points.earned"]}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] in ("webhook_url_refused", "validation_error")
    assert not WebhookSubscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254:80\\@1.1.1.1/x",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:0:7f00:1]/",
        "http://0x7f.1/",
    ],
)
def test_a_change_to_an_ssrf_form_is_refused_and_changes_nothing(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    created = shop.post(WEBHOOKS, {"url": "http://1.1.1.1/hooks", "event_types": ["points.earned"]}, format="json")
    assert created.status_code == 201, created.content

    response = shop.patch(f"{WEBHOOKS}/{created.json()['id']}", {"url": url}, format="json")

    assert response.status_code == 400
    assert WebhookSubscription.objects.get().url == "http://1.1.1.1/hooks"


def _ipv6_forms(ipv4: str) -> dict[str, str]:
    """Every standard way an IPv6 address carries ``ipv4``."""
    v4 = int(ipaddress.IPv4Address(ipv4))
    return {
        "mapped": str(ipaddress.IPv6Address((0xFFFF << 32) | v4)),  # ::ffff:a.b.c.d
        "translated (SIIT)": str(ipaddress.IPv6Address((0xFFFF << 48) | v4)),  # ::ffff:0:a.b.c.d
        "compatible": str(ipaddress.IPv6Address(v4)),  # ::a.b.c.d
        "NAT64": str(ipaddress.IPv6Address((0x64FF9B << 96) | v4)),  # 64:ff9b::a.b.c.d
        "NAT64, local": str(ipaddress.IPv6Address((0x64FF9B0001 << 80) | (v4 << 16))),  # 64:ff9b:1:…
        "6to4": str(ipaddress.IPv6Address((0x2002 << 112) | (v4 << 80) | 1)),  # 2002:a.b.c.d::1
        "Teredo": str(ipaddress.IPv6Address((0x20010000 << 96) | (v4 << 64) | (v4 ^ 0xFFFFFFFF))),
    }


@pytest.mark.parametrize("ipv4", ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0"])
def test_no_ipv6_form_of_a_private_or_loopback_ipv4_is_public(ipv4):
    forms = _ipv6_forms(ipv4)

    assert {name: address_is_public(address) for name, address in forms.items()} == dict.fromkeys(forms, False)


def test_a_public_ipv6_address_is_public_and_an_unallocated_one_is_not():
    assert address_is_public("2606:4700:4700::1111") and address_is_public("2a00:1450:4001:82b::200e")
    # Outside 2000::/3, the only block allocated for global unicast: nothing is routed there.
    assert not address_is_public("::ffff:0:0:1") and not address_is_public("4000::1")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://1.1.1.1/hooks", "https://[2606:4700:4700::1111]:8443/h?x=1"])
def test_a_public_address_is_accepted(shop, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = shop.post(WEBHOOKS, {"url": url, "event_types": ["points.earned"]}, format="json")
    assert response.status_code == 201, response.content


class Listener:
    """A loopback HTTP server that records the Host header of every request it gets and
    answers with ``answer`` bytes."""

    def __init__(self, answer: bytes = b"ok") -> None:
        self.hosts: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                listener.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.django_db(transaction=True)
def test_an_ssrf_url_stored_before_the_rules_is_refused_at_delivery(committed_shop_app, listener, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in (f"http://127.0.0.1:{listener.port}\\@1.1.1.1/x", f"http://0x7f.1:{listener.port}/"):
        WebhookSubscription.objects.create(
            application=committed_shop_app, url=url, event_types=["points.earned"], secret="whsec_x"
        )
    points_earn(user_id=31, points=5, description="to be delivered", app=committed_shop_app)

    events_settled()
    webhooks_deliver_all(rounds=2)

    assert listener.hosts == []
    attempts = WebhookAttempt.objects.all()
    assert attempts.count() == 2
    assert all(a.status_code is None and a.error.startswith("Refused:") for a in attempts)
    assert not WebhookDelivery.objects.filter(status="delivered").exists()


def test_a_delivery_connects_to_the_checked_address_only(listener):
    # The name is never looked up again: the request goes to the address the check saw.
    target = WebhookTarget(
        scheme="http", host="hooks.example.com", port=listener.port, target="/in", addresses=("127.0.0.1",)
    )
    answer = webhook_post(target, body=b"{}", headers={"Content-Type": "application/json"}, timeout=5)
    assert answer.status_code == 200
    assert listener.hosts == [f"hooks.example.com:{listener.port}"]


def test_only_a_short_excerpt_of_the_answer_is_kept():
    big = Listener(answer=b"\x1b[31m" + b"A" * 1_000_000)
    try:
        target = WebhookTarget(scheme="http", host="127.0.0.1", port=big.port, target="/", addresses=("127.0.0.1",))
        answer = webhook_post(target, body=b"{}", headers={}, timeout=5)
    finally:
        big.server.shutdown()
        big.server.server_close()
    assert answer.status_code == 200
    assert len(answer.excerpt) <= RESPONSE_EXCERPT_BYTES
    assert "\x1b" not in answer.excerpt

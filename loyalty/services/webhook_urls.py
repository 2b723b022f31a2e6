"""Where a webhook may send: the URL's form, the addresses it resolves to, and the request
itself, made to exactly the address that was checked.

A URL is refused unless every parser would read the same host out of it: ASCII only, no
spaces, no backslash, no user info, a DNS name or a plain IPv4/IPv6 literal (no decimal,
octal or hex forms of an address), and a port within range. The host is resolved once;
every address it resolves to must be public (unless ``WEBHOOK_ALLOW_PRIVATE``), and the
request connects to one of those addresses, never to a second lookup's answer, so a name
that changes its answer between the check and the request (DNS rebinding) gains nothing.
"""

import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from core.exceptions import DomainError

# What staff may read of a receiver's answer: a short excerpt, never the whole body.
RESPONSE_EXCERPT_BYTES = 200

_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"^{_DNS_LABEL}(?:\.{_DNS_LABEL})*\.?$", re.IGNORECASE)
_CANONICAL_IPV4 = re.compile(
    r"^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
)
# A last label of digits (or 0x…) is an address in some parser's eyes ("2130706433",
# "0177.1", "0x7f.1"): only the canonical dotted quad is taken as one.
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
# Prefixes that carry an IPv4 address inside an IPv6 one (mapped, translated (SIIT),
# compatible, NAT64, 6to4, Teredo): a webhook receiver never needs them, and they hide where a
# request goes, whatever IPv4 address they carry.
_TRANSLATED = [
    ipaddress.ip_network(prefix)
    for prefix in (
        "::ffff:0:0/96",
        "::ffff:0:0:0/96",
        "::/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
    )
]
# The only IPv6 block allocated for global unicast: an address outside it (the reserved ::/8,
# where every IPv4-carrying form but 6to4 and Teredo lives, among them) reaches no public host,
# so a form of an IPv4 address no list names yet is refused too.
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


class WebhookUrlRefused(DomainError):
    code = "webhook_url_refused"


@dataclass(frozen=True)
class WebhookTarget:
    scheme: str
    host: str  # as written (lower case), for the Host header, SNI and the certificate
    port: int
    target: str  # path and query, sent as the request target
    addresses: tuple[str, ...]  # what the host resolved to, each checked

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _refuse(reason: str) -> WebhookUrlRefused:
    return WebhookUrlRefused(f"This webhook URL is refused: {reason}", fields={"url": [reason]})


def _parse(url: str) -> tuple[str, str, int, str]:
    """The URL's scheme, host, port and request target, if every parser would agree on them."""
    if not url.isascii() or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise _refuse("only printable ASCII characters, without spaces (encode a name with IDNA).")
    if "\\" in url:
        raise _refuse("a backslash is read differently by different URL parsers.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse("it must start with http:// or https://.")
    if "@" in parts.netloc:
        raise _refuse("user names and passwords in a URL are not allowed.")
    host = parts.hostname or ""
    literal = parts.netloc.startswith("[")
    if literal:
        try:
            ipv6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise _refuse("the address in brackets is not an IPv6 address.") from None
        if ipv6.scope_id:
            raise _refuse("an IPv6 zone is not allowed.")
    elif not _DNS_NAME.match(host):
        raise _refuse("the host must be a DNS name or an IP address.")
    elif _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]) and not _CANONICAL_IPV4.match(host):
        raise _refuse("an IPv4 address must be written as four decimal numbers (a.b.c.d).")
    try:
        port = parts.port
    except ValueError:
        raise _refuse("the port must be a number from 1 to 65535.") from None
    if port == 0:
        raise _refuse("the port must be a number from 1 to 65535.")
    scheme = parts.scheme.lower()
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host.lower(), port or (443 if scheme == "https" else 80), target


def address_is_public(address: str) -> bool:
    """A globally routable unicast address, not one that wraps another (NAT64, 6to4…)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6 and (ip not in _GLOBAL_UNICAST or any(ip in network for network in _TRANSLATED)):
        return False
    return ip.is_global and not ip.is_multicast


def webhook_target(url: str) -> WebhookTarget:
    """Check a webhook URL and resolve its host once; raises :class:`WebhookUrlRefused`."""
    scheme, host, port, target = _parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise _refuse(f"the host {host} does not resolve.") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise _refuse(f"the host {host} does not resolve.")
    if not settings.WEBHOOK_ALLOW_PRIVATE:
        for address in addresses:
            if not address_is_public(address):
                raise _refuse(f"{host} resolves to {address}, which is not a public address.")
    return WebhookTarget(scheme=scheme, host=host, port=port, target=target, addresses=addresses)


def webhook_url_check(url: str) -> None:
    """The check when a webhook is created or changed. With ``WEBHOOK_ALLOW_PRIVATE`` only
    the URL's form is checked: a private name may not resolve from here yet."""
    if settings.WEBHOOK_ALLOW_PRIVATE:
        _parse(url)
    else:
        webhook_target(url)


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int
    excerpt: str


def webhook_post(target: WebhookTarget, *, body: bytes, headers: dict[str, str], timeout: float) -> WebhookAnswer:
    """POST to the checked addresses only (the next one if a connection is refused); no
    redirects, no retries; reads no more of the answer than the excerpt kept."""
    last_error = None
    for address in target.addresses:
        pool_class = urllib3.HTTPSConnectionPool if target.scheme == "https" else urllib3.HTTPConnectionPool
        tls = {"server_hostname": target.host, "assert_hostname": target.host} if target.scheme == "https" else {}
        pool = pool_class(address, target.port, timeout=urllib3.Timeout(total=timeout), retries=False, maxsize=1, **tls)
        try:
            response = pool.urlopen(
                "POST",
                target.target,
                body=body,
                headers={**headers, "Host": target.host_header},
                redirect=False,
                assert_same_host=False,
                preload_content=False,
            )
            try:
                raw = response.read(RESPONSE_EXCERPT_BYTES, decode_content=False)
            finally:
                response.release_conn()
            return WebhookAnswer(status_code=response.status, excerpt=_printable(raw))
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError) as exc:
            last_error = exc
        finally:
            pool.close()
    raise last_error


def _printable(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)

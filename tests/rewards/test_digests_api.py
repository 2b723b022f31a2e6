"""rewards-api/ledger/digests/ and rewards-api/ledger/public-key/: the digests as they are kept,
and a signature that verifies with the key published beside them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rewards import services
from rewards.models import LedgerDigest
from rewards.services.digests import ledger_digest_cut
from rewards.verify import chain_time, digest_hash, signature_valid

pytestmark = pytest.mark.django_db


@pytest.fixture
def digests(shop_app):
    start = timezone.now()
    cut = []
    for n in range(3):
        services.points_earn(user_id=100 + n, points=10, description="x", app=shop_app)
        cut.append(ledger_digest_cut(now=start + timedelta(hours=n)))
    return cut


def test_the_digests_are_published_oldest_first_and_each_verifies(reader, digests):
    answer = reader.get("/rewards-api/ledger/digests/").json()
    key = reader.get("/rewards-api/ledger/public-key/").json()

    assert [d["id"] for d in answer["digests"]] == [d.pk for d in digests]
    assert (answer["has_more"], answer["next_after"]) == (False, digests[-1].pk)
    first = answer["digests"][0]
    assert first["previous_hash"] == "0" * 64 and first["heads_count"] == 1
    assert first["cut_at"] == chain_time(digests[0].cut_at)
    assert (key["algorithm"], len(key["public_key"]), key["retired_public_keys"]) == ("Ed25519", 64, [])
    previous = first["previous_hash"]
    for shown in answer["digests"]:
        assert shown["previous_hash"] == previous and shown["public_key"] == key["public_key"]
        signed = digest_hash(
            shown["cut_at"],
            bytes.fromhex(shown["previous_hash"]),
            shown["heads_count"],
            bytes.fromhex(shown["heads_root"]),
            (shown["audit_seq"], bytes.fromhex(shown["audit_hash"])),  # the audit chain's head, signed too
        )
        assert signed.hex() == shown["hash"]
        assert signature_valid(bytes.fromhex(key["public_key"]), bytes.fromhex(shown["signature"]), signed)
        previous = shown["hash"]


def test_from_to_after_and_limit_pick_the_digests(reader, digests):
    def ids(query):
        return [d["id"] for d in reader.get("/rewards-api/ledger/digests/", query).json()["digests"]]

    second = digests[1].cut_at
    assert ids({"from": second.isoformat()}) == [digests[1].pk, digests[2].pk]
    assert ids({"to": second.isoformat()}) == [digests[0].pk, digests[1].pk]
    assert ids({"from": second.isoformat(), "to": second.isoformat()}) == [digests[1].pk]
    page = reader.get("/rewards-api/ledger/digests/", {"limit": 2}).json()
    assert [d["id"] for d in page["digests"]] == [digests[0].pk, digests[1].pk] and page["has_more"] is True
    assert ids({"after": page["next_after"]}) == [digests[2].pk]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "yesterday"},
        {"limit": 0},
        {"limit": 1001},
        {"after": -1},
        {"from": "2026-06-02T00:00Z", "to": "2026-06-01T00:00Z"},
    ],
)
def test_bad_queries_are_400_and_write_nothing(reader, digests, query):
    response = reader.get("/rewards-api/ledger/digests/", query)

    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert LedgerDigest.objects.count() == 3


def test_a_plus_left_unencoded_in_from_or_to_says_so(reader, digests):
    response = reader.get("/rewards-api/ledger/digests/?from=2026-06-01T00:00:00+02:00")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {
        "from": ["A moment's + offset must be sent as %2B in a query string (a + there reads as a space)."]
    }
    encoded = reader.get("/rewards-api/ledger/digests/?to=2026-06-01T00:00:00%2B02:00")
    assert encoded.status_code == 200, encoded.content


def test_the_public_key_lists_retired_keys(reader, settings):
    settings.LEDGER_RETIRED_PUBLIC_KEYS = ["AB" * 32]

    assert reader.get("/rewards-api/ledger/public-key/").json()["retired_public_keys"] == ["ab" * 32]

"""A digest keeps its Merkle tree's levels and each head its leaf's place, so a customer's proof is
one 32-byte slice of each level, whatever the number of heads: the same proofs as computing the
tree from every head, in two queries, and verify_ledger names a stored level that was altered."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rewards.models import LedgerDigestHead, LedgerDigestLevel
from rewards.services.digests import customer_digests, ledger_digest_cut
from rewards.verify import head_leaf, heads_levels, heads_proof, heads_root, root_from_proof

pytestmark = pytest.mark.django_db

FIRST, HEADS = 700_000_000, 1_001  # an odd count: the last node of some levels is carried up


def heads_given(count: int, first: int = FIRST) -> None:
    """``count`` accounts with a chain head (plain SQL: what a cut reads, no rows)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points,"
            " points_owed, expiring_points, created_at, updated_at, chain_seq, chain_hash) "
            "SELECT %s + n, 0, 0, 0, 0, 0, now(), now(), 1, sha256(n::text::bytea) FROM generate_series(0, %s - 1) n",
            [first, count],
        )


@pytest.fixture
def digest():
    heads_given(HEADS)
    return ledger_digest_cut()


def test_the_cut_stores_every_level_but_the_root_and_each_heads_place(digest):
    heads = list(
        LedgerDigestHead.objects.filter(digest=digest)
        .order_by("user_id")
        .values_list("user_id", "seq", "hash", "position")
    )
    assert [position for *_, position in heads] == list(range(HEADS))
    levels = heads_levels([head_leaf(u, s, bytes(h)) for u, s, h, _ in heads])
    stored = list(LedgerDigestLevel.objects.filter(digest=digest).order_by("level").values_list("level", "nodes"))
    # 1,001 leaves: 501, 251, 126, 63, 32, 16, 8, 4, 2 nodes above them, then the root.
    assert [len(bytes(nodes)) // 32 for _, nodes in stored] == [1001, 501, 251, 126, 63, 32, 16, 8, 4, 2]
    assert [bytes(nodes) for _, nodes in stored] == [b"".join(level) for level in levels[:-1]]
    assert heads_root(levels[0]) == bytes(digest.heads_root)


@pytest.mark.parametrize("index", [0, 1, 500, 999, 1000])
def test_a_customers_proof_is_read_from_the_levels_in_two_queries(digest, index):
    heads = list(
        LedgerDigestHead.objects.filter(digest=digest).order_by("user_id").values_list("user_id", "seq", "hash")
    )
    leaves = [head_leaf(u, s, bytes(h)) for u, s, h in heads]
    user_id = FIRST + index

    with CaptureQueriesContext(connection) as queries:
        [held] = customer_digests(user_id)
    assert len(queries) == 2  # the proofs' slices, then the digest itself: no other customer's head
    assert held["proof"] == heads_proof(leaves, index)
    assert (held["head"]["user_id"], held["head"]["seq"]) == (user_id, 1)
    assert root_from_proof(leaves[index], held["proof"]).hex() == held["heads_root"] == bytes(digest.heads_root).hex()


def test_digests_of_one_head_and_of_none_give_a_proof_with_no_step(digest):
    heads_given(1, first=FIRST + 10_000)
    single = ledger_digest_cut()
    empty = ledger_digest_cut()
    assert (single.heads_count, empty.heads_count) == (1, 0)
    assert not LedgerDigestLevel.objects.filter(digest__in=[single, empty]).exists()
    [held] = customer_digests(FIRST + 10_000)
    assert held["id"] == single.pk and held["proof"] == []
    assert (
        held["heads_root"]
        == head_leaf(FIRST + 10_000, 1, bytes(LedgerDigestHead.objects.get(digest=single).hash)).hex()
    )


def test_verify_ledger_names_a_stored_level_altered(shop_app):
    from rewards import services

    for user_id in (1, 2, 3):
        services.points_earn(user_id=user_id, points=5, description="x", app=shop_app)
    digest = ledger_digest_cut()
    call_command("verify_ledger")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # the levels' append-only trigger off
        cursor.execute(
            "UPDATE rewards_ledgerdigestlevel SET nodes = overlay(nodes PLACING '\\x00'::bytea FROM 33 FOR 1) "
            "WHERE digest_id = %s AND level = 0",
            [digest.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")

    with pytest.raises(CommandError) as refused:
        call_command("verify_ledger")
    assert f"digest {digest.pk}: its stored Merkle levels do not match its heads" in str(refused.value)

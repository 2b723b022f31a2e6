"""The audit record is one hash chain: every entry of every audit table is the next link (seq,
hash) as it is written, in id order, and the chain's head goes into the next signed digest.
verify_ledger recomputes it in Python and names the first entry that does not match: edited,
deleted, inserted with the triggers off, or a head moved, or a digested head rewritten."""

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from core.audit import AUDIT_SUBJECTS, audit_models
from rewards.models import AuditChainHead, CatalogItem, CatalogItemAudit, LedgerDigest
from rewards.services.digests import ledger_digest_cut
from rewards.services.tiers import ladder_set
from rewards.verify import ZERO_HASH, AuditRow, audit_entry_hash, canonical_json, chain_time
from tests.concurrency import data_migrations_restore, run_concurrently

pytestmark = pytest.mark.django_db

MEMBER = {"code": "member", "name": "Member", "entry_points": 0, "retain_points": 0}


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def tampered(statement: str, params=()) -> None:
    """A statement run with every trigger off (the audit tables' append-only one included)."""
    sql("SET LOCAL session_replication_role = replica")
    sql(statement, params)
    sql("SET LOCAL session_replication_role = origin")


def links() -> list[tuple[int, int, str, bytes]]:
    """Every audit entry's (seq, id, subject, hash), in chain order."""
    found = []
    for model in audit_models():
        subject = AUDIT_SUBJECTS[model.pgh_tracked_model._meta.label]
        found += [
            (seq, pk, subject, bytes(h)) for seq, pk, h in model.objects.values_list("pgh_seq", "pgh_id", "pgh_hash")
        ]
    return sorted(found)


def head() -> tuple[int, bytes]:
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # the head's row moves at commit: as if committed now
    row = AuditChainHead.objects.values_list("seq", "hash").first()
    return (row[0], bytes(row[1])) if row else (0, ZERO_HASH)


def verify_fails() -> str:
    """verify_ledger's refusal: its message names the first problem."""
    with pytest.raises(CommandError) as refused:
        call_command("verify_ledger")
    return str(refused.value)


@pytest.fixture
def item():
    item = CatalogItem.objects.get(kind="coupon", points_cost=50)
    for stock in (1, 2, 3):
        sql("UPDATE rewards_catalogitem SET stock = %s WHERE id = %s", [stock, item.pk])
    return item


def entry(item: CatalogItem, stock: int) -> CatalogItemAudit:
    return CatalogItemAudit.objects.get(pgh_obj_id=item.pk, pgh_label="update", stock=stock)


def test_every_change_is_the_next_link_in_id_order_and_the_chain_verifies(item, capsys):
    ladder_set(definition={"tiers": [MEMBER]}, by="test")  # a ladder and a tier: two tables more

    chain = links()
    assert [seq for seq, *_ in chain] == list(range(1, len(chain) + 1))  # one chain, no gap
    assert [pk for _, pk, *_ in chain] == sorted(pk for _, pk, *_ in chain)  # in id order
    assert {"catalog_item", "tier_ladder", "tier"} <= {subject for _, _, subject, _ in chain}
    assert head() == (chain[-1][0], chain[-1][3])
    # The link is SHA-256 of the one before and the form docs/VERIFY.md gives, recomputed here.
    third, before = entry(item, 3), entry(item, 2)
    data = {
        f.column: getattr(third, f.attname)
        for f in CatalogItemAudit._meta.concrete_fields
        if not f.column.startswith("pgh_")
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (to_jsonb(e) - ARRAY['pgh_id', 'pgh_seq', 'pgh_hash', 'pgh_created_at', 'pgh_label', 'pgh_obj_id',"
            " 'pgh_context', 'pgh_context_id'])::text FROM rewards_catalogitemaudit e WHERE pgh_id = %s",
            [third.pgh_id],
        )
        (data_text,) = cursor.fetchone()
    assert json.loads(data_text)["stock"] == data["stock"] == 3
    row = AuditRow(
        seq=third.pgh_seq,
        entry_id=third.pgh_id,
        subject="catalog_item",
        object_id=str(item.pk),
        action="update",
        at=chain_time(third.pgh_created_at),
        context_id=None,
        context=None,
        data=json.loads(data_text, parse_float=Decimal),
        hash=bytes(third.pgh_hash),
    )
    previous = next(h for seq, _, _, h in chain if seq == third.pgh_seq - 1)
    assert before.pgh_seq == third.pgh_seq - 1 and bytes(before.pgh_hash) == previous
    assert audit_entry_hash(previous, row) == bytes(third.pgh_hash)

    call_command("verify_ledger")
    assert f"{len(chain)} audit entries" in capsys.readouterr().out


def test_an_entry_edited_behind_the_record_is_named(item):
    edited = entry(item, 2)
    tampered("UPDATE rewards_catalogitemaudit SET stock = 20 WHERE pgh_id = %s", [edited.pgh_id])

    refused = verify_fails()
    assert (
        f"audit seq {edited.pgh_seq} entry id {edited.pgh_id} (catalog_item {item.pk}): its hash does not match "
        "its contents and the entry before it" in refused
    )


def test_an_entry_deleted_is_named_by_the_one_after_it(item):
    deleted, after = entry(item, 2), entry(item, 3)
    tampered("DELETE FROM rewards_catalogitemaudit WHERE pgh_id = %s", [deleted.pgh_id])

    refused = verify_fails()
    assert f"audit seq {after.pgh_seq} entry id {after.pgh_id} (catalog_item {item.pk})" in refused
    assert f"entries {deleted.pgh_seq}..{deleted.pgh_seq} are missing before it: deleted" in refused


def copy_of(copied: CatalogItemAudit, **changes) -> None:
    """A copy of an entry written by SQL with the triggers off, with ``changes`` to its columns."""
    tampered(
        "INSERT INTO rewards_catalogitemaudit SELECT (jsonb_populate_record(NULL::rewards_catalogitemaudit, "
        "to_jsonb(e) || %s::jsonb)).* FROM rewards_catalogitemaudit e WHERE pgh_id = %s",
        [json.dumps(changes), copied.pgh_id],
    )


def test_an_entry_inserted_with_the_triggers_off_is_named(item):
    copy_of(entry(item, 3), pgh_id=10_000_000, pgh_seq=None, pgh_hash=None)

    refused = verify_fails()
    assert f"audit entry id 10000000 (catalog_item {item.pk}): not in the chain" in refused


def test_an_entry_inserted_into_the_chain_is_named(item):
    """A copy given the seq and hash of the entry it copies: the chain sees the seq twice."""
    copied = entry(item, 2)
    copy_of(copied, pgh_id=copied.pgh_id + 1)  # between it and the next (ids are drawn two by two)

    refused = verify_fails()
    assert f"audit seq {copied.pgh_seq} entry id {copied.pgh_id + 1}" in refused
    assert f"seq {copied.pgh_seq} again after seq {copied.pgh_seq}: an entry inserted or reordered" in refused


def test_a_head_moved_is_named(item):
    last_seq, _ = head()
    tampered("UPDATE rewards_auditchainhead SET seq = seq - 1")

    refused = verify_fails()
    assert (
        f"the audit chain's head (seq {last_seq - 1}) is not its last entry (seq {last_seq}): the head moved" in refused
    )


def test_a_digest_signs_the_audit_head_and_names_a_rewritten_tail(item):
    digest = ledger_digest_cut()
    assert (digest.audit_seq, bytes(digest.audit_hash)) == head() == (links()[-1][0], links()[-1][3])
    call_command("verify_ledger")
    # The last entry removed and the head put back on the one before: the chain and its head
    # agree, but the digest signed the entry that is gone.
    last = entry(item, 3)
    before = entry(item, 2)
    tampered("DELETE FROM rewards_catalogitemaudit WHERE pgh_id = %s", [last.pgh_id])
    tampered(
        "UPDATE rewards_auditchainhead SET seq = %s, entry_id = %s, hash = %s",
        [before.pgh_seq, before.pgh_id, bytes(before.pgh_hash)],
    )
    assert digest.audit_seq == last.pgh_seq

    refused = verify_fails()
    assert f"audit seq {last.pgh_seq}: digest {digest.pk} holds this audit head, and no entry has it" in refused
    # Its signature still verifies: the audit head cannot be taken out of it either.
    tampered("UPDATE rewards_ledgerdigest SET audit_seq = NULL, audit_hash = NULL WHERE id = %s", [digest.pk])
    assert f"digest {digest.pk}: its hash does not match its contents: altered" in verify_fails()
    assert LedgerDigest.objects.count() == 1


def test_changes_rolled_back_to_a_savepoint_leave_no_link(item):
    before = len(links())
    with pytest.raises(RuntimeError), transaction.atomic():
        sql("UPDATE rewards_catalogitem SET stock = 40 WHERE id = %s", [item.pk])
        raise RuntimeError("undone")
    sql("UPDATE rewards_catalogitem SET stock = 41 WHERE id = %s", [item.pk])

    chain = links()
    assert len(chain) == before + 1 and [s for s, *_ in chain] == list(range(1, before + 2))
    assert head() == (chain[-1][0], chain[-1][3])
    call_command("verify_ledger")


def test_the_head_is_saved_again_after_something_saved_it_early(item):
    """A digest cut in the transaction runs the deferred save early; later changes save it again."""
    cut = ledger_digest_cut()
    sql("UPDATE rewards_catalogitem SET stock = 50 WHERE id = %s", [item.pk])
    sql("UPDATE rewards_catalogitem SET stock = 51 WHERE id = %s", [item.pk])

    chain = links()
    assert cut.audit_seq == chain[-3][0]
    row = AuditChainHead.objects.values_list("seq", "hash").get()  # read with nothing run by hand first
    assert (row[0], bytes(row[1])) == (chain[-1][0], chain[-1][3])
    call_command("verify_ledger")


@pytest.mark.django_db(transaction=True)
def test_changes_committed_at_once_chain_one_after_another():
    data_migrations_restore()
    items = list(CatalogItem.objects.order_by("pk").values_list("pk", flat=True)[:2])
    start = len(links())

    def change(i: int) -> None:
        with transaction.atomic():
            for stock in range(5):  # several entries in each transaction, interleaving if they could
                sql("UPDATE rewards_catalogitem SET stock = %s WHERE id = %s", [100 * i + stock, items[i % 2]])

    assert run_concurrently(change, 4) == [None] * 4
    chain = links()
    assert len(chain) == start + 20 and [s for s, *_ in chain] == list(range(1, start + 21))
    assert [pk for _, pk, *_ in chain] == sorted(pk for _, pk, *_ in chain)
    # Each transaction's five entries are consecutive links: transactions chain one after another.
    entries = CatalogItemAudit.objects.filter(pgh_label="update").order_by("pgh_seq").values_list("stock", flat=True)
    assert [stock // 100 for stock in entries][::5] == [stock // 100 for stock in entries][4::5]
    assert head() == (chain[-1][0], chain[-1][3])
    call_command("verify_ledger")


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": 'x"\\\n\t\x01é€😀', "cc": [None, True, False], "d": {}, "": []},
        {"amount": Decimal("5.00"), "n": Decimal("-0.0000001"), "big": 12345678901234567890},
        ["z", {"zz": 1, "y": 2, "é": 3, "e": 4}],
    ],
)
def test_canonical_json_is_what_jsonb_writes(value):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [canonical_json(value)])
        (written,) = cursor.fetchone()
    assert canonical_json(json.loads(written, parse_float=Decimal)) == written == canonical_json(value)

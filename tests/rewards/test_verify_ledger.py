"""verify_ledger against a database tampered with by SQL, behind the service's back: each way
of tampering is named at its first bad row, and the command exits non-zero. Digests: cut,
signed, append-only, and altered (by someone who may drop the trigger) they fail too."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from rewards import services
from rewards.models import Account, AuditChainHead, LedgerDigest, LedgerDigestHead, Reward
from rewards.services.digests import ledger_digest_cut, public_key_of
from rewards.verify import ZERO_HASH, chain_time, digest_hash, head_leaf, heads_root

pytestmark = pytest.mark.django_db

ALICE, BOB, CAROL = 11, 22, 33


@pytest.fixture
def ledger(shop_app):
    """Three customers with four rows each, a digest of their heads, then one more row for Bob."""
    for user_id in (ALICE, BOB, CAROL):
        for n in range(1, 5):
            services.points_earn(user_id=user_id, points=10 * n, description=f"visit {n}", app=shop_app)
    ledger_digest_cut()
    services.points_earn(user_id=BOB, points=5, description="after the digest", app=shop_app)


def row(user_id: int, seq: int) -> Reward:
    return Reward.objects.get(user_id=user_id, seq=seq)


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def row_delete(deleted: Reward) -> None:
    """A row deleted by SQL, with what refers to it (its lot, its consumptions, its event)."""
    sql(
        "DELETE FROM rewards_lotconsumption WHERE debit_id = %s OR lot_id IN "
        "(SELECT id FROM rewards_pointlot WHERE credit_id = %s)",
        [deleted.pk, deleted.pk],
    )
    sql("DELETE FROM rewards_pointlot WHERE credit_id = %s", [deleted.pk])
    sql("DELETE FROM rewards_event WHERE reward_id = %s", [deleted.pk])
    sql("DELETE FROM rewards_reward WHERE id = %s", [deleted.pk])


def verify_fails() -> str:
    """verify_ledger's refusal: its message names the first problem."""
    with pytest.raises(CommandError) as refused:
        call_command("verify_ledger")
    return str(refused.value)


def test_an_untouched_ledger_verifies(ledger, capsys):
    call_command("verify_ledger")

    assert "Ledger verified: 13 row(s) of 3 customer(s), 1 digest(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "edit",
    [
        "points_earned = points_earned + 1",
        "kind = 'purchase'",
        "created_at = created_at + interval '1 microsecond'",
        "earned_date = NULL",
        # A new salt and a commitment that matches it: the commitment is in the hash.
        "description_salt = '\\x01'::bytea,"
        " description_commitment = sha256('\\x01'::bytea || convert_to(reward_description, 'UTF8'))",
        "application_id = NULL",
    ],
)
def test_a_row_edited_by_sql_is_named(ledger, edit):
    edited = row(BOB, 2)
    sql(f"UPDATE rewards_reward SET {edit} WHERE id = %s", [edited.pk])

    assert f"the first: user {BOB}, seq 2, row id {edited.pk}: its hash does not match its contents" in verify_fails()


def test_a_row_moved_to_another_customer_is_named_in_both_chains(ledger, capsys):
    moved = row(BOB, 2)
    sql("UPDATE rewards_reward SET user_id = 34 WHERE id = %s", [moved.pk])

    assert f"the first: user {BOB}, seq 3, row id {row(BOB, 3).pk}: rows 2..2 are missing" in verify_fails()
    assert f"user 34, seq 2, row id {moved.pk}: rows 1..1 are missing before it" in capsys.readouterr().out


def test_a_description_edited_by_sql_no_longer_matches_its_commitment(ledger):
    edited = row(ALICE, 3)
    sql("UPDATE rewards_reward SET reward_description = 'visit 300' WHERE id = %s", [edited.pk])

    assert (
        f"the first: user {ALICE}, seq 3, row id {edited.pk}: its description does not match its commitment"
        in verify_fails()
    )


def test_a_salt_removed_to_hide_an_edited_description_is_named(ledger):
    edited = row(ALICE, 3)
    sql("UPDATE rewards_reward SET reward_description = 'other', description_salt = NULL WHERE id = %s", [edited.pk])

    assert f"user {ALICE}, seq 3, row id {edited.pk}: its description's salt is gone" in verify_fails()


def test_a_deleted_row_is_named_by_the_row_after_it(ledger):
    after = row(CAROL, 3)
    row_delete(row(CAROL, 2))

    assert f"the first: user {CAROL}, seq 3, row id {after.pk}: rows 2..2 are missing before it" in verify_fails()


def test_a_deleted_last_row_is_a_head_that_is_not_the_last_row(ledger):
    row_delete(row(BOB, 5))

    assert f"the first: user {BOB}, seq 4, row id {row(BOB, 4).pk}: the account's head (seq 5)" in verify_fails()


def test_an_inserted_row_is_named(ledger):
    copy = row(ALICE, 2)
    sql(
        """INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change,
                                       reward_description, earned_date, is_active, imported_from, created_at, seq, hash,
                                       description_salt, description_commitment)
           SELECT user_id, kind, 500, 0, 0, reward_description, earned_date, true, '', created_at, 3, hash,
                  description_salt, description_commitment
           FROM rewards_reward WHERE id = %s RETURNING id""",
        [copy.pk],
    )
    inserted = Reward.objects.get(user_id=ALICE, points_earned=500)

    assert f"the first: user {ALICE}, seq 3, row id {inserted.pk}: " in verify_fails()


def test_an_inserted_row_given_a_good_hash_and_the_head_is_caught_by_the_digest(ledger):
    """Whoever recomputes the chain after a change leaves every row and head consistent; the
    digest signed before holds the old head, and no row has it any more."""
    sql(f"UPDATE rewards_reward SET points_earned = 1 WHERE user_id = {CAROL} AND seq = 1")
    sql(
        f"""DO $$
        DECLARE r rewards_reward; previous bytea;
        BEGIN
            FOR r IN SELECT * FROM rewards_reward WHERE user_id = {CAROL} ORDER BY seq LOOP
                r.hash := ledger_row_hash(previous, r);
                UPDATE rewards_reward SET hash = r.hash WHERE id = r.id;
                previous := r.hash;
            END LOOP;
            UPDATE rewards_account SET chain_hash = previous WHERE user_id = {CAROL};
        END $$"""
    )

    refused = verify_fails()

    assert f"the first: user {CAROL}, seq 4: digest " in refused
    assert "holds this head, and no row has it: the chain was rewritten" in refused


def test_two_rows_swapped_are_named(ledger):
    second, third = row(ALICE, 2), row(ALICE, 3)
    sql(
        "UPDATE rewards_reward SET seq = CASE WHEN id = %s THEN 3 ELSE 2 END WHERE id IN (%s, %s)",
        [second.pk, second.pk, third.pk],
    )

    assert f"the first: user {ALICE}, seq 2, row id {third.pk}: its hash does not match" in verify_fails()


@pytest.mark.parametrize(
    ("edit", "head"), [("chain_seq = chain_seq - 1", "seq 4"), ("chain_hash = sha256('x'::bytea)", "seq 5")]
)
def test_a_head_moved_is_named(ledger, edit, head):
    sql(f"UPDATE rewards_account SET {edit} WHERE user_id = %s", [BOB])

    assert f"the first: user {BOB}, seq 5, row id {row(BOB, 5).pk}: the account's head ({head})" in verify_fails()


def digest_edit(statement: str, params=()) -> None:
    """A change someone who may drop the append-only trigger makes (it refuses it otherwise)."""
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # (a table with checks pending cannot be altered)
    sql("ALTER TABLE rewards_ledgerdigest DISABLE TRIGGER ledger_digest_append_only")
    sql("ALTER TABLE rewards_ledgerdigesthead DISABLE TRIGGER ledger_digest_head_append_only")
    sql("ALTER TABLE rewards_ledgerdigestlevel DISABLE TRIGGER ledger_digest_level_append_only")
    sql(statement, params)
    sql("ALTER TABLE rewards_ledgerdigest ENABLE TRIGGER ledger_digest_append_only")
    sql("ALTER TABLE rewards_ledgerdigesthead ENABLE TRIGGER ledger_digest_head_append_only")
    sql("ALTER TABLE rewards_ledgerdigestlevel ENABLE TRIGGER ledger_digest_level_append_only")


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ("cut_at = cut_at + interval '1 second'", "its hash does not match its contents"),
        ("heads_count = heads_count - 1", "its heads do not give its root"),
        ("signature = decode(repeat('00', 64), 'hex')", "its signature does not verify"),
    ],
)
def test_an_altered_digest_is_named(ledger, edit, said):
    digest = LedgerDigest.objects.get()
    digest_edit(f"UPDATE rewards_ledgerdigest SET {edit} WHERE id = %s", [digest.pk])

    assert f"the first: digests: digest {digest.pk}: {said}" in verify_fails()


def test_an_altered_head_in_a_digest_is_named(ledger):
    digest = LedgerDigest.objects.get()
    digest_edit("UPDATE rewards_ledgerdigesthead SET seq = 3 WHERE user_id = %s", [ALICE])

    assert f"the first: digests: digest {digest.pk}: its heads do not give its root" in verify_fails()


def test_a_digest_resigned_with_another_key_is_not_trusted(ledger):
    """Someone with the database but not the key signs a digest of their own."""
    digest = LedgerDigest.objects.get()
    theirs = Ed25519PrivateKey.generate()
    heads = LedgerDigestHead.objects.filter(digest=digest).order_by("user_id")
    root = heads_root([head_leaf(h.user_id, h.seq, bytes(h.hash)) for h in heads])
    signed = digest_hash(chain_time(digest.cut_at), ZERO_HASH, digest.heads_count, root)
    digest_edit(
        "UPDATE rewards_ledgerdigest SET public_key = %s, signature = %s WHERE id = %s",
        [public_key_of(theirs), theirs.sign(signed), digest.pk],
    )

    assert f"digest {digest.pk}: signed by a key this service does not trust" in verify_fails()


def test_a_deleted_digest_is_named_by_the_one_after_it(ledger, shop_app):
    first = LedgerDigest.objects.get()
    services.points_earn(user_id=ALICE, points=1, description="later", app=shop_app)
    second = ledger_digest_cut()
    digest_edit("DELETE FROM rewards_ledgerdigesthead WHERE digest_id = %s", [first.pk])
    digest_edit("DELETE FROM rewards_ledgerdigestlevel WHERE digest_id = %s", [first.pk])
    digest_edit("DELETE FROM rewards_ledgerdigest WHERE id = %s", [first.pk])

    assert f"the first: digests: digest {second.pk}: it does not name the digest before it" in verify_fails()


def test_digests_are_append_only(ledger):
    digest = LedgerDigest.objects.get()
    for statement in (
        f"UPDATE rewards_ledgerdigest SET heads_count = 0 WHERE id = {digest.pk}",
        f"DELETE FROM rewards_ledgerdigest WHERE id = {digest.pk}",
        f"UPDATE rewards_ledgerdigesthead SET seq = 1 WHERE digest_id = {digest.pk}",
        f"DELETE FROM rewards_ledgerdigesthead WHERE digest_id = {digest.pk}",
        f"UPDATE rewards_ledgerdigestlevel SET level = 9 WHERE digest_id = {digest.pk}",
        f"DELETE FROM rewards_ledgerdigestlevel WHERE digest_id = {digest.pk}",
    ):
        refused = pytest.raises(IntegrityError, match="Ledger digests are append-only")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert LedgerDigest.objects.get().heads_count == 3
    assert LedgerDigestHead.objects.count() == 3


def test_a_digest_holds_the_heads_that_moved_since_the_one_before(ledger, shop_app):
    first = LedgerDigest.objects.get()
    assert list(first.heads.order_by("user_id").values_list("user_id", "seq")) == [(ALICE, 4), (BOB, 4), (CAROL, 4)]
    services.points_earn(user_id=CAROL, points=1, description="later", app=shop_app)

    second = ledger_digest_cut()
    third = ledger_digest_cut()  # nothing moved since: an empty digest, still chained and signed

    assert list(second.heads.order_by("user_id").values_list("user_id", "seq")) == [(BOB, 5), (CAROL, 5)]
    assert bytes(second.previous_hash) == bytes(first.hash) and bytes(third.previous_hash) == bytes(second.hash)
    assert third.heads_count == 0
    heads = [head_leaf(BOB, 5, bytes(row(BOB, 5).hash)), head_leaf(CAROL, 5, bytes(row(CAROL, 5).hash))]
    assert bytes(second.heads_root) == heads_root(heads)
    # The audit chain's head is signed too (none yet in a flushed database: seq 0).
    head = AuditChainHead.objects.values_list("seq", "hash").first() or (0, bytes(32))
    audit_head = (head[0], bytes(head[1]))
    assert (second.audit_seq, bytes(second.audit_hash)) == audit_head
    signed = digest_hash(chain_time(second.cut_at), bytes(first.hash), 2, heads_root(heads), audit_head)
    assert bytes(second.hash) == signed
    call_command("verify_ledger")
    assert Account.objects.get(user_id=BOB).chain_seq == 5


def test_the_digest_command_and_the_beat_job(ledger, capsys, settings):
    from rewards.tasks import ledger_digest

    call_command("ledger_digest")
    assert "head(s)" in capsys.readouterr().out and LedgerDigest.objects.count() == 2
    assert ledger_digest() == LedgerDigest.objects.order_by("-id").first().pk
    assert settings.CELERY_BEAT_SCHEDULE["ledger-digest"]["schedule"] <= 24 * 3600


def test_no_digest_is_cut_without_a_key(db, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.LEDGER_SIGNING_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="LEDGER_SIGNING_KEY"):
        ledger_digest_cut()
    assert not LedgerDigest.objects.exists()


def test_keygen_prints_a_seed_and_its_public_key(capsys):
    call_command("ledger_keygen")
    seed_line, public_line = capsys.readouterr().out.splitlines()
    seed = seed_line.removeprefix("LEDGER_SIGNING_KEY=")
    public = public_line.removeprefix("# public key: ")
    assert len(seed) == 64 and len(public) == 64
    assert public_key_of(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))).hex() == public


def test_serving_refuses_to_start_without_a_signing_key():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("LEDGER_SIGNING_KEY", "DEBUG")}
    env |= {"DJANGO_SETTINGS_MODULE": "rewards_project.settings", "DEBUG": "0", "SECRET_KEY": "a-real-secret"}
    result = subprocess.run(
        [sys.executable, "-c", "import rewards_project.wsgi"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Set LEDGER_SIGNING_KEY" in result.stderr

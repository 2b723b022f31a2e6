"""Signed digests of the ledger's hash chains (docs/VERIFY.md).

A digest holds every customer's chain head (user_id, seq, hash) that moved since the digest
before it, in user_id order, as the leaves of a Merkle tree; its hash covers the moment it was
cut, the previous digest's hash, the tree's root and the audit chain's head, and is signed with Ed25519 by
``LEDGER_SIGNING_KEY``. A customer's export carries the digests that hold their heads, each with
the Merkle proof of its head, so it is checked without anyone else's heads.

Cuts are one at a time (the digest table is locked for the cut's short transaction; postings
never wait for it: heads are read from one snapshot of the accounts, without locking them).
"""

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from rewards.models import LedgerDigest, LedgerDigestHead
from rewards.verify import ZERO_HASH, chain_time, digest_hash, head_leaf, heads_proof, heads_root


def signing_key() -> Ed25519PrivateKey:
    """The configured key; ImproperlyConfigured without one (digests are never cut unsigned)."""
    if not settings.LEDGER_SIGNING_KEY:
        raise ImproperlyConfigured(
            "Set LEDGER_SIGNING_KEY to cut ledger digests (`manage.py ledger_keygen` prints one)."
        )
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(settings.LEDGER_SIGNING_KEY))


def public_key_of(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_signing_key() -> tuple[str, str]:
    """A new key: its seed and its public key, each as hex."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    return seed.hex(), public_key_of(key).hex()


def public_key() -> bytes | None:
    """The public key of the configured signing key (None without one)."""
    return public_key_of(signing_key()) if settings.LEDGER_SIGNING_KEY else None


def trusted_public_keys() -> set[bytes] | None:
    """The keys whose digests verify_ledger accepts: the signing key's and the retired ones
    (None when neither is configured: each digest is then checked against the key it names)."""
    keys = {bytes.fromhex(key) for key in settings.LEDGER_RETIRED_PUBLIC_KEYS}
    current = public_key()
    if current:
        keys.add(current)
    return keys or None


# The heads that moved since they were last in a digest, from one snapshot of the accounts.
_MOVED_HEADS = """
    SELECT a.user_id, a.chain_seq, a.chain_hash FROM rewards_account a
    WHERE a.chain_seq > COALESCE(
        (SELECT h.seq FROM rewards_ledgerdigesthead h WHERE h.user_id = a.user_id ORDER BY h.seq DESC LIMIT 1), 0)
    ORDER BY a.user_id
"""


def ledger_digest_cut(*, now: datetime | None = None) -> LedgerDigest:
    """Cut a digest now: every head that moved since the last one, signed. Every row committed
    before its ``cut_at`` is held by it or by a digest before it."""
    key = signing_key()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE rewards_ledgerdigest IN EXCLUSIVE MODE")
            previous = LedgerDigest.objects.order_by("-id").only("hash").first()
            cut_at = now or timezone.now()
            cursor.execute(_MOVED_HEADS)
            heads = [(user_id, seq, bytes(head)) for user_id, seq, head in cursor.fetchall()]
            # The audit chain's head in the same snapshot: every audited change committed before.
            # (Its row moves at commit, by a deferred trigger: what this transaction deferred runs first.)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SELECT seq, hash FROM rewards_auditchainhead WHERE id = 1")
            audit_head = cursor.fetchone()  # none before the first change (a flushed database)
            audit = (audit_head[0], bytes(audit_head[1])) if audit_head else (0, ZERO_HASH)
        root = heads_root([head_leaf(*head) for head in heads])
        previous_hash = bytes(previous.hash) if previous else ZERO_HASH
        signed = digest_hash(chain_time(cut_at), previous_hash, len(heads), root, audit)
        digest = LedgerDigest.objects.create(
            cut_at=cut_at,
            previous_hash=previous_hash,
            heads_count=len(heads),
            heads_root=root,
            hash=signed,
            audit_seq=audit[0],
            audit_hash=audit[1],
            public_key=public_key_of(key),
            signature=key.sign(signed),
        )
        LedgerDigestHead.objects.bulk_create(
            (LedgerDigestHead(digest=digest, user_id=user_id, seq=seq, hash=head) for user_id, seq, head in heads),
            batch_size=5000,
        )
    return digest


def digest_fields(digest: LedgerDigest) -> dict:
    """A digest as the API and exports show it (bytes as lower-case hex)."""
    return {
        "id": digest.id,
        "cut_at": chain_time(digest.cut_at),
        "previous_hash": bytes(digest.previous_hash).hex(),
        "heads_count": digest.heads_count,
        "heads_root": bytes(digest.heads_root).hex(),
        "audit_seq": digest.audit_seq,
        "audit_hash": None if digest.audit_hash is None else bytes(digest.audit_hash).hex(),
        "hash": bytes(digest.hash).hex(),
        "public_key": bytes(digest.public_key).hex(),
        "signature": bytes(digest.signature).hex(),
    }


def customer_digests(user_id: int) -> list[dict]:
    """Each digest that holds one of the customer's heads, with that head and its Merkle proof."""
    held = []
    for mine in LedgerDigestHead.objects.filter(user_id=user_id).select_related("digest").order_by("seq"):
        heads = list(mine.digest.heads.order_by("user_id").values_list("user_id", "seq", "hash"))
        leaves = [head_leaf(u, s, bytes(h)) for u, s, h in heads]
        index = next(i for i, (u, _, _) in enumerate(heads) if u == user_id)
        held.append(
            {
                **digest_fields(mine.digest),
                "head": {"user_id": user_id, "seq": mine.seq, "hash": bytes(mine.hash).hex()},
                "proof": heads_proof(leaves, index),
            }
        )
    return held

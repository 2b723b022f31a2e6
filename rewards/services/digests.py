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

from rewards.models import LedgerDigest, LedgerDigestHead, LedgerDigestLevel
from rewards.verify import ZERO_HASH, chain_time, digest_hash, head_leaf, heads_levels, heads_root, proof_step


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
        levels = heads_levels([head_leaf(*head) for head in heads])
        root = heads_root(levels[0])
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
            (
                LedgerDigestHead(digest=digest, user_id=user_id, seq=seq, hash=head, position=position)
                for position, (user_id, seq, head) in enumerate(heads)
            ),
            batch_size=5000,
        )
        # Every level but the root's, so that a customer's proof never reads the other heads.
        LedgerDigestLevel.objects.bulk_create(
            LedgerDigestLevel(digest=digest, level=number, nodes=b"".join(nodes))
            for number, nodes in enumerate(levels[:-1])
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


# A customer's head in each digest, with its proof's siblings: at each level, the 32 bytes of
# the node beside the one above their leaf (none past the level's end: that node is carried up).
_PROOFS = """
    SELECT h.digest_id, h.seq, h.hash, h.position, l.level,
           substring(l.nodes FROM ((h.position >> l.level) # 1) * 32 + 1 FOR 32)
    FROM rewards_ledgerdigesthead h LEFT JOIN rewards_ledgerdigestlevel l ON l.digest_id = h.digest_id
    WHERE h.user_id = %s ORDER BY h.digest_id, l.level
"""


def customer_digests(user_id: int) -> list[dict]:
    """Each digest that holds one of the customer's heads, with that head and its Merkle proof:
    one slice of each of the digest's stored levels, whatever the number of heads it holds."""
    with connection.cursor() as cursor:
        cursor.execute(_PROOFS, [user_id])
        found = cursor.fetchall()
    digests = LedgerDigest.objects.in_bulk({digest_id for digest_id, *_ in found})
    held: dict[int, dict] = {}
    for digest_id, seq, head, position, level, sibling in found:
        entry = held.setdefault(
            digest_id,
            {
                **digest_fields(digests[digest_id]),
                "head": {"user_id": user_id, "seq": seq, "hash": bytes(head).hex()},
                "proof": [],
            },
        )
        if level is not None and sibling:
            entry["proof"].append(proof_step(position >> level, bytes(sibling)))
    return [held[digest_id] for digest_id in sorted(held)]

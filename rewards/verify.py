"""Check a ledger's hash chains and signed digests without trusting the service.

    python -m rewards.verify export.json --public-key KEY

checks a customer's export offline: every row of their chain against its hash and its
description's commitment, the chain's order (1, 2, 3 ... with no gap), and each digest that
holds one of its heads (the head is that row, the Merkle proof leads to the digest's root, the
digest's hash is its own, and its Ed25519 signature verifies with KEY, 64 hex characters).

This module is the second, independent home of the canonical forms (the first is
rewards/sql/ledger.sql's ``ledger_row_hash``, which writes them); docs/VERIFY.md gives them byte
for byte. It needs the standard library and ``cryptography`` only: no Django, no database.
``manage.py verify_ledger`` runs the same checks over the whole database.
"""

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ZERO_HASH = bytes(32)
ERASED = "[erased]"
ROW_FORM = "ledger-row-v1"
DIGEST_FORM = "ledger-digest-v1"
# A digest that also holds the audit chain's head (every digest cut since the record was chained).
DIGEST_FORM_WITH_AUDIT = "ledger-digest-v2"
AUDIT_FORM = "audit-entry-v1"
# A row's fields in its canonical form, in order (its description commitment comes last).
ROW_FIELDS = (
    "user_id",
    "seq",
    "kind",
    "points_earned",
    "points_redeemed",
    "pending_change",
    "earned_date",
    "redeemed_date",
    "created_at",
    "application_id",
    "imported_from",
    "rule_id",
    "rule_version",
    "description_commitment",
)


def chain_time(moment: datetime | None) -> str | None:
    """A time as the canonical forms write it: UTC, always with microseconds, and "Z"."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def micros_time(micros: int | None) -> str | None:
    """``chain_time`` of a moment given as microseconds since 1970 UTC (what verify_ledger reads:
    it spares a million rows their datetimes)."""
    if micros is None:
        return None
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{fraction:06d}Z"


def row_form(values: Sequence[Any]) -> bytes:
    """A row's canonical form from its values in ``ROW_FIELDS`` order (times as ``chain_time``
    writes them, the commitment as lower-case hex; None is empty)."""
    text = "|".join("" if value is None else str(value) for value in values)
    return f"{ROW_FORM}|{text}".encode()


def row_hash(previous: bytes | None, values: Sequence[Any]) -> bytes:
    """SHA-256 of the previous row's hash (32 zero bytes before the first) and the row's form."""
    return hashlib.sha256((previous or ZERO_HASH) + row_form(values)).digest()


def description_commitment(salt: bytes, description: str) -> bytes:
    return hashlib.sha256(salt + description.encode()).digest()


def description_problem(description: str, salt: bytes | None, commitment: bytes) -> str | None:
    """What is wrong with a row's description against its commitment, if anything: with its salt
    it must match; without (erased) it must read ``[erased]``."""
    if salt is None:
        return None if description == ERASED else "its description's salt is gone but the description is not erased"
    if description_commitment(salt, description) != commitment:
        return "its description does not match its commitment"
    return None


class ChainRow(NamedTuple):
    """One ledger row as the checks read it: its canonical values, stored hash, description (a
    tuple: a million of them are made by verify_ledger)."""

    row_id: int | None
    values: tuple  # ROW_FIELDS' values, the commitment as hex
    hash: bytes
    description: str
    description_salt: bytes | None
    commitment: bytes

    @property
    def user_id(self) -> int:
        return self.values[0]

    @property
    def seq(self) -> int:
        return self.values[1]


@dataclass(frozen=True)
class Problem:
    user_id: int | None
    seq: int | None
    row_id: int | None
    what: str

    def __str__(self) -> str:
        where = []
        if self.user_id is not None:
            where.append(f"user {self.user_id}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.row_id is not None:
            where.append(f"row id {self.row_id}")
        return f"{', '.join(where) or 'digests'}: {self.what}"


def chain_problems(rows: Iterable[ChainRow]) -> Iterator[Problem]:
    """Every customer's chain, from rows in (user_id, seq) order: a Problem for the first row of
    each chain that does not match (edited, inserted, out of order, or rows missing before it);
    the rest of that chain is not read (every later hash depends on it)."""
    customer = None
    previous: bytes | None = None
    expected = 1
    broken = False
    for row in rows:
        if row.user_id != customer:
            customer, previous, expected, broken = row.user_id, None, 1, False
        if broken:
            continue
        problem = None
        if row.seq != expected:
            if row.seq < expected:
                problem = f"seq {row.seq} again after seq {expected - 1}: a row inserted or reordered"
            else:
                problem = f"rows {expected}..{row.seq - 1} are missing before it: deleted or reordered"
        else:
            described = description_problem(row.description, row.description_salt, row.commitment)
            if described:
                problem = described
            elif row_hash(previous, row.values) != row.hash:
                problem = "its hash does not match its contents and the row before it: edited, moved or inserted"
        if problem:
            broken = True
            yield Problem(row.user_id, row.seq, row.row_id, problem)
            continue
        previous = row.hash
        expected += 1


# The digests' Merkle tree over the heads they hold (in user_id order).
def head_leaf(user_id: int, seq: int, head_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + f"{user_id}|{seq}|{head_hash.hex()}".encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def heads_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The Merkle tree's levels, the leaves first and the root last: each level pairs the nodes
    of the one below left to right and carries an odd last node up unchanged."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [_node(below[i], below[i + 1]) if i + 1 < len(below) else below[i] for i in range(0, len(below), 2)]
        )
    return levels


def heads_root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle root of the leaves; no leaves at all: SHA-256 of nothing."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    return heads_levels(leaves)[-1][0]


def proof_step(index: int, sibling: bytes) -> dict[str, str]:
    """One step of a proof: the sibling of node ``index`` at its level, and its side."""
    return {"side": "left" if index % 2 else "right", "hash": sibling.hex()}


def heads_proof(leaves: Sequence[bytes], index: int) -> list[dict[str, str]]:
    """The siblings that lead from leaf ``index`` to the root, each with its side."""
    proof = []
    for level in heads_levels(leaves)[:-1]:
        if index ^ 1 < len(level):
            proof.append(proof_step(index, level[index ^ 1]))
        index //= 2
    return proof


def root_from_proof(leaf: bytes, proof: Iterable[dict[str, str]]) -> bytes:
    node = leaf
    for step in proof:
        sibling = bytes.fromhex(step["hash"])
        node = _node(sibling, node) if step["side"] == "left" else _node(node, sibling)
    return node


def digest_hash(
    cut_at: str, previous_hash: bytes, heads_count: int, root: bytes, audit: tuple[int, bytes] | None = None
) -> bytes:
    """SHA-256 of a digest's canonical form: when it was cut, the previous digest's hash (32 zero
    bytes before the first), how many heads it holds and their Merkle root, and (``audit``, every
    digest cut since the audit record was chained) the audit chain's head, its seq and hash."""
    form = f"{DIGEST_FORM}|{cut_at}|{previous_hash.hex()}|{heads_count}|{root.hex()}"
    if audit is not None:
        audit_seq, audit_hash = audit
        form = f"{DIGEST_FORM_WITH_AUDIT}{form[len(DIGEST_FORM) :]}|{audit_seq}|{audit_hash.hex()}"
    return hashlib.sha256(form.encode()).digest()


def digest_audit(digest: dict[str, Any]) -> tuple[int, bytes] | None:
    """The audit head an exported digest holds (None for a digest cut before there was one)."""
    if digest.get("audit_seq") is None:
        return None
    return digest["audit_seq"], bytes.fromhex(digest["audit_hash"])


# ---- the audit record's chain ------------------------------------------------------------------


def _json_string(text: str) -> str:
    escaped = []
    for char in text:
        if char == '"':
            escaped.append('\\"')
        elif char == "\\":
            escaped.append("\\\\")
        elif char in _JSON_ESCAPES:
            escaped.append(_JSON_ESCAPES[char])
        elif char < " ":
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


_JSON_ESCAPES = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def canonical_json(value: Any) -> str:
    """A JSON value written as PostgreSQL's jsonb writes it (docs/VERIFY.md): an object's keys by
    their UTF-8 length, then their bytes; ``", "`` and ``": "`` between; numbers as written
    (read them with ``parse_float=Decimal``); strings with only ``"``, ``\\`` and control
    characters escaped."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(canonical_json(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: (len(key.encode()), key.encode()))
        return "{" + ", ".join(f"{_json_string(key)}: {canonical_json(value[key])}" for key in keys) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


class AuditRow(NamedTuple):
    """One audit entry as the chain's check reads it: its fields in the canonical form's order
    (the time as ``chain_time`` writes it, the context and data as parsed JSON), its stored hash."""

    seq: int | None
    entry_id: int
    subject: str
    object_id: str | None
    action: str
    at: str
    context_id: str | None
    context: Any
    data: dict[str, Any]
    hash: bytes | None


def audit_entry_form(entry: AuditRow) -> bytes:
    """An audit entry's canonical form: the UTF-8 of its fields joined by "|" (None is empty)."""
    context = "" if entry.context is None else canonical_json(entry.context)
    fields = (AUDIT_FORM, entry.seq, entry.entry_id, entry.subject, entry.object_id, entry.action, entry.at)
    text = "|".join("" if value is None else str(value) for value in fields)
    return f"{text}|{entry.context_id or ''}|{context}|{canonical_json(entry.data)}".encode()


def audit_entry_hash(previous: bytes, entry: AuditRow) -> bytes:
    return hashlib.sha256(previous + audit_entry_form(entry)).digest()


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    entry_id: int | None
    subject: str | None
    object_id: str | None
    what: str

    def __str__(self) -> str:
        where = ["audit"]
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.entry_id is not None:
            where.append(f"entry id {self.entry_id}")
        if self.subject is not None:
            where.append(f"({self.subject} {self.object_id})")
        return f"{' '.join(where)}: {self.what}"


def audit_chain_problems(entries: Iterable[AuditRow]) -> tuple[list[AuditProblem], int, bytes]:
    """The audit chain from its entries in seq order (those with no link, first): a problem for
    each entry written with no link, and for the first entry of the chain that does not match
    (edited, deleted, inserted or moved: every later hash depends on it, so the rest is not
    checked). Also the seq and hash of the last link checked (0 and 32 zero bytes for none)."""
    problems: list[AuditProblem] = []
    previous, expected, last_id = ZERO_HASH, 1, 0
    for entry in entries:
        where = (entry.seq, entry.entry_id, entry.subject, entry.object_id)
        if entry.seq is None or entry.hash is None:
            problems.append(AuditProblem(*where, "not in the chain: written with its chain's trigger off"))
            continue
        if entry.seq != expected:
            if entry.seq < expected:
                what = f"seq {entry.seq} again after seq {expected - 1}: an entry inserted or reordered"
            else:
                what = f"entries {expected}..{entry.seq - 1} are missing before it: deleted"
        elif entry.entry_id <= last_id:
            what = f"its id is not after the id of the entry before it ({last_id}): reordered"
        elif audit_entry_hash(previous, entry) != entry.hash:
            what = "its hash does not match its contents and the entry before it: edited, moved or inserted"
        else:
            previous, expected, last_id = entry.hash, expected + 1, entry.entry_id
            continue
        problems.append(AuditProblem(*where, what))
        break
    return problems, expected - 1, previous


def signature_valid(public_key: bytes, signature: bytes, signed: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed)
    except (InvalidSignature, ValueError):
        return False
    return True


def _hex(value: str | None) -> bytes | None:
    return None if value is None else bytes.fromhex(value)


def export_chain_entry(row: ChainRow) -> dict[str, Any]:
    """A row as an export carries it: its canonical values by name, its description and salt,
    its hash (bytes as lower-case hex); what ``export_chain_row`` reads back. Every field is
    checked: none can change and the chain still verify."""
    return {
        **dict(zip(ROW_FIELDS, row.values, strict=True)),
        "description": row.description,
        "description_salt": None if row.description_salt is None else row.description_salt.hex(),
        "hash": row.hash.hex(),
    }


def export_chain_row(entry: dict[str, Any]) -> ChainRow:
    """A row of an export's ``chain`` as the checks read it."""
    values = tuple(entry[name] for name in ROW_FIELDS)
    return ChainRow(
        row_id=None,
        values=values,
        hash=bytes.fromhex(entry["hash"]),
        description=entry["description"],
        description_salt=_hex(entry["description_salt"]),
        commitment=bytes.fromhex(entry["description_commitment"]),
    )


def export_problems(export: dict[str, Any], public_key: bytes) -> list[str]:
    """Everything in a customer's export that does not verify, in words (empty: it verifies)."""
    chain = export.get("chain") or {}
    entries = chain.get("rows", [])
    user_id = export.get("user_id")
    problems: list[str] = []
    rows = []
    for entry in entries:
        try:
            row = export_chain_row(entry)
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"user {user_id}, seq {entry.get('seq')}: not a chain row ({error})")
            return problems
        if row.user_id != user_id:
            problems.append(f"user {user_id}, seq {row.seq}: a row of user {row.user_id} in this chain")
            return problems
        rows.append(row)
    problems += [str(problem) for problem in chain_problems(rows)]
    if problems:
        return problems
    last_seq, last_hash = (rows[-1].seq, rows[-1].hash) if rows else (0, None)
    head = chain.get("head") or {}
    if head.get("seq") != last_seq or _hex(head.get("hash")) != last_hash:
        problems.append(
            f"user {user_id}: the account's head (seq {head.get('seq')}) is not the chain's last row (seq {last_seq})"
        )
    by_seq = {row.seq: row.hash for row in rows}
    for digest in export.get("digests", []):
        name = f"user {user_id}: digest {digest.get('id')}"
        held = digest["head"]
        if held["user_id"] != user_id or by_seq.get(held["seq"]) != bytes.fromhex(held["hash"]):
            problems.append(f"{name}: the head it holds (seq {held['seq']}) is not the chain's row")
            continue
        root = root_from_proof(head_leaf(held["user_id"], held["seq"], bytes.fromhex(held["hash"])), digest["proof"])
        if root.hex() != digest["heads_root"]:
            problems.append(f"{name}: the head's proof does not lead to the digest's root")
            continue
        signed = digest_hash(
            digest["cut_at"], bytes.fromhex(digest["previous_hash"]), digest["heads_count"], root, digest_audit(digest)
        )
        if signed.hex() != digest["hash"]:
            problems.append(f"{name}: its hash does not match its contents")
            continue
        if bytes.fromhex(digest["public_key"]) != public_key:
            problems.append(f"{name}: signed by another key ({digest['public_key']})")
        elif not signature_valid(public_key, bytes.fromhex(digest["signature"]), signed):
            problems.append(f"{name}: its signature does not verify")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rewards.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="a customer's export (JSON), as the service gives it")
    parser.add_argument("--public-key", required=True, help="the ledger's Ed25519 public key, 64 hex characters")
    args = parser.parse_args(argv)
    try:
        public_key = bytes.fromhex(args.public_key)
        if len(public_key) != 32:
            raise ValueError
    except ValueError:
        parser.error("--public-key is 64 hex characters (32 bytes)")
    try:
        with open(args.export, encoding="utf-8") as handle:
            export = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"Cannot read {args.export}: {error}", file=sys.stderr)
        return 2
    # An admin export is a list of customers' exports; the API answers one.
    exports = export if isinstance(export, list) else [export]
    failed = 0
    for one in exports:
        if not isinstance(one, dict):
            print("Not a customer's export.")
            return 2
        problems = export_problems(one, public_key)
        for problem in problems:
            print(problem)
        if problems:
            failed += 1
            continue
        rows = (one.get("chain") or {}).get("rows", [])
        digests = one.get("digests", [])
        held = max((d["head"]["seq"] for d in digests), default=0)
        print(
            f"Verified: user {one.get('user_id')}'s chain of {len(rows)} row(s); {len(digests)} signed digest(s) "
            f"hold it up to seq {held}"
            + (f" (rows after seq {held} are in no digest yet)." if held < len(rows) else ".")
        )
    if failed:
        print(f"NOT VERIFIED: {failed} of {len(exports)} export(s) do not verify.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Each digest keeps its Merkle tree's levels (but the root) and each head its leaf's place, so
that a customer's proof is one slice of each level, not a read of every head (docs/VERIFY.md).
The digests already cut get theirs, computed from their heads (with the heads' append-only
trigger set aside for this transaction only). The levels' own append-only trigger comes next
(0043)."""

import hashlib

import django.db.models.deletion
from django.db import migrations, models


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def levels_of_digests_cut(apps, schema_editor):
    """The levels of every digest cut so far, from its heads in user_id order (frozen: the tree
    of docs/VERIFY.md's digest form v1 and v2, a leaf SHA-256(0x00 ‖ "<user_id>|<seq>|<hash>"))."""
    digests = apps.get_model("rewards", "LedgerDigest")
    heads = apps.get_model("rewards", "LedgerDigestHead")
    levels = apps.get_model("rewards", "LedgerDigestLevel")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE rewards_ledgerdigesthead DISABLE TRIGGER ledger_digest_head_append_only")
        for digest_id in digests.objects.order_by("id").values_list("id", flat=True):
            held = list(
                heads.objects.filter(digest_id=digest_id)
                .order_by("user_id", "id")
                .values_list("id", "user_id", "seq", "hash")
            )
            cursor.execute(
                "UPDATE rewards_ledgerdigesthead h SET position = p.position FROM unnest(%s::bigint[], %s::int[]) "
                "AS p(id, position) WHERE h.id = p.id",
                [[pk for pk, *_ in held], list(range(len(held)))],
            )
            level = [hashlib.sha256(b"\x00" + f"{u}|{s}|{bytes(h).hex()}".encode()).digest() for _, u, s, h in held]
            number = 0
            while len(level) > 1:
                levels.objects.create(digest_id=digest_id, level=number, nodes=b"".join(level))
                level = [
                    _node(level[i], level[i + 1]) if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)
                ]
                number += 1
        cursor.execute("ALTER TABLE rewards_ledgerdigesthead ENABLE TRIGGER ledger_digest_head_append_only")


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0044_audit_chain_links"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerdigesthead",
            name="position",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.CreateModel(
            name="LedgerDigestLevel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("level", models.PositiveSmallIntegerField()),
                ("nodes", models.BinaryField()),
                (
                    "digest",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="levels", to="rewards.ledgerdigest"
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("digest", "level"), name="digest_level_once")],
            },
        ),
        # The hashes are incompressible: stored as they are, a slice of a level reads its pages only.
        migrations.RunSQL(
            "ALTER TABLE rewards_ledgerdigestlevel ALTER COLUMN nodes SET STORAGE EXTERNAL", migrations.RunSQL.noop
        ),
        migrations.RunPython(levels_of_digests_cut, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ledgerdigesthead",
            name="position",
            field=models.PositiveIntegerField(),
        ),
    ]

"""Every ledger row is the next link of its customer's hash chain (seq, hash, a salted commitment
to its description), computed by ledger_row under the account's lock; the account keeps the
head; existing rows are chained in the order they were written; signed digests of the heads,
append-only.

Installs 0032_ledger_chain.sql: a frozen snapshot of what changed in rewards/sql/, written by
``manage.py sql_snapshot`` and never edited (the live definitions are in rewards/sql/). Going
back puts back the definitions the migrations before it installed."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

from rewards.sqlfiles import snapshot_install

# The existing rows, chained in the order they were written (by id, per customer), each given a
# salt and its description's commitment, with ledger_row_hash as this migration installs it; the
# accounts get their heads. One pass in the server.
CHAIN_EXISTING_ROWS = """
DO $chain$
DECLARE
    r rewards_reward;
    previous bytea;
    customer bigint;
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM rewards_reward ORDER BY user_id, id LOOP
        IF r.user_id IS DISTINCT FROM customer THEN
            customer := r.user_id;
            n := 0;
            previous := NULL;
        END IF;
        n := n + 1;
        r.seq := n;
        r.description_salt := uuid_send(gen_random_uuid());
        r.description_commitment := sha256(r.description_salt || convert_to(r.reward_description, 'UTF8'));
        r.hash := ledger_row_hash(previous, r);
        UPDATE rewards_reward
        SET seq = r.seq, hash = r.hash, description_salt = r.description_salt,
            description_commitment = r.description_commitment
        WHERE id = r.id;
        previous := r.hash;
    END LOOP;
    UPDATE rewards_account a SET chain_seq = h.seq, chain_hash = h.hash
    FROM (SELECT DISTINCT ON (user_id) user_id, seq, hash FROM rewards_reward ORDER BY user_id, seq DESC) h
    WHERE h.user_id = a.user_id;
END $chain$;
"""



class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0031_event_types_of_messages_and_segments"),
    ]

    operations = [
        migrations.AddField("account", "chain_seq", models.BigIntegerField(db_default=0, default=0)),
        migrations.AddField("account", "chain_hash", models.BinaryField(blank=True, null=True)),
        migrations.AddField("reward", "seq", models.BigIntegerField(null=True)),
        migrations.AddField("reward", "hash", models.BinaryField(null=True)),
        migrations.AddField("reward", "description_salt", models.BinaryField(blank=True, null=True)),
        migrations.AddField("reward", "description_commitment", models.BinaryField(null=True)),
        migrations.CreateModel(
            name="LedgerDigest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("cut_at", models.DateTimeField()),
                ("previous_hash", models.BinaryField()),
                ("heads_count", models.PositiveIntegerField()),
                ("heads_root", models.BinaryField()),
                ("hash", models.BinaryField()),
                ("public_key", models.BinaryField()),
                ("signature", models.BinaryField()),
            ],
            options={"verbose_name": "ledger digest"},
        ),
        migrations.CreateModel(
            name="LedgerDigestHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_id", models.BigIntegerField()),
                ("seq", models.BigIntegerField()),
                ("hash", models.BinaryField()),
                (
                    "digest",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="heads", to="rewards.ledgerdigest"
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["user_id", "seq"], name="digest_head_user_seq")]},
        ),
        snapshot_install(Path(__file__).with_suffix(".sql")),
        migrations.RunSQL(CHAIN_EXISTING_ROWS, migrations.RunSQL.noop),
        migrations.AlterField("reward", "seq", models.BigIntegerField()),
        migrations.AlterField("reward", "hash", models.BinaryField()),
        migrations.AlterField("reward", "description_commitment", models.BinaryField()),
    ]

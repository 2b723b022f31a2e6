"""The audit entries already written are chained, in id order (as audit_chain_link would have
chained them, with the form 0040 installed), the chain's head is set, and every audit table gets
its trigger audit_chain, which chains each entry from now on (docs/VERIFY.md). Audit entries are
append-only: their tables' triggers are set aside for the chaining only, in this transaction."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

# Every audit table when the chain began, with its subject (frozen: live code may add more).
AUDIT_TABLES = {
    "rewards_ruleaudit": "rule",
    "rewards_ruleversionaudit": "rule_version",
    "rewards_tierladderaudit": "tier_ladder",
    "rewards_tieraudit": "tier",
    "rewards_catalogitemaudit": "catalog_item",
    "rewards_segmentaudit": "segment",
    "rewards_badgeaudit": "badge",
    "rewards_challengeaudit": "challenge",
    "loyalty_applicationaudit": "application",
    "loyalty_webhooksubscriptionaudit": "webhook_subscription",
    "loyalty_adjustmentsubmissionaudit": "staff_adjustment",
    "loyalty_personaldataerasureaudit": "personal_data_erasure",
}

ENTRIES = " UNION ALL ".join(
    f"SELECT '{table}'::text AS tbl, '{subject}'::text AS subject, e.pgh_id, to_jsonb(e) AS entry FROM {table} e"
    for table, subject in AUDIT_TABLES.items()
)

CHAIN_EXISTING = (
    "SET LOCAL TimeZone = 'UTC';\n"
    + "".join(f"ALTER TABLE {table} DISABLE TRIGGER USER;\n" for table in AUDIT_TABLES)
    + f"""
DO $chain$
DECLARE
    link record;
    n bigint := 0;
    previous bytea := '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    last_id bigint;
BEGIN
    FOR link IN SELECT * FROM ({ENTRIES}) entries ORDER BY pgh_id LOOP
        n := n + 1;
        previous := sha256(previous || convert_to(audit_entry_form(n, link.subject, link.entry), 'UTF8'));
        EXECUTE format('UPDATE %I SET pgh_seq = $1, pgh_hash = $2 WHERE pgh_id = $3', link.tbl) USING n, previous, link.pgh_id;
        last_id := link.pgh_id;
    END LOOP;
    INSERT INTO rewards_auditchainhead (id, seq, entry_id, hash) VALUES (1, n, last_id, previous);
END $chain$;
"""
    + "".join(f"ALTER TABLE {table} ENABLE TRIGGER USER;\n" for table in AUDIT_TABLES)
)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0043_audit_chain_functions"),
        ("loyalty", "0013_audit_chain"),
    ]

    operations = [
        migrations.RunSQL(CHAIN_EXISTING, "DELETE FROM rewards_auditchainhead"),
        pgtrigger.migrations.AddTrigger(
            model_name="badgeaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'badge') link; RETURN NEW;",
                    hash="54e319d56c0a1023701983ec5333d6e676814a9c",
                    operation="INSERT",
                    pgid="pgtrigger_chain_ed479",
                    table="rewards_badgeaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="badgeaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="e9d3a2d0664b1cf3d22527141eea49c008dfc0a6",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_f1e93",
                    table="rewards_badgeaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="challengeaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'challenge') link; RETURN NEW;",
                    hash="4eca11f95b47e4af01d1e8df2762485ab724aa89",
                    operation="INSERT",
                    pgid="pgtrigger_chain_c44f4",
                    table="rewards_challengeaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="challengeaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="74e1efa1e64d193b063f7012aa8043f23bdd0d2a",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_32538",
                    table="rewards_challengeaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="catalogitemaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'catalog_item') link; RETURN NEW;",
                    hash="ec301c10d66739006001cedb940dfe3094c76296",
                    operation="INSERT",
                    pgid="pgtrigger_chain_c59c1",
                    table="rewards_catalogitemaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="catalogitemaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="297a2b78ca9785708a86c42b4cd0d88a41e9ad03",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_2d931",
                    table="rewards_catalogitemaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="ruleaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'rule') link; RETURN NEW;",
                    hash="f31d98f2e22d90fff4203ac333566483d5bfc6a3",
                    operation="INSERT",
                    pgid="pgtrigger_chain_17dca",
                    table="rewards_ruleaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="ruleaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="fe6566eceded6cc65a3ad5bf0bca27b96de3086f",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_0b338",
                    table="rewards_ruleaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="ruleversionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'rule_version') link; RETURN NEW;",
                    hash="01ac00a2c34b1e0cd81f3442c746ef1606582245",
                    operation="INSERT",
                    pgid="pgtrigger_chain_549b3",
                    table="rewards_ruleversionaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="ruleversionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="7ba93949bf65336cc87a637b4b2601c5e636adad",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_5483e",
                    table="rewards_ruleversionaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="segmentaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'segment') link; RETURN NEW;",
                    hash="10045d2a035337a807685eb1f6af5aa0bba655a8",
                    operation="INSERT",
                    pgid="pgtrigger_chain_6ccb3",
                    table="rewards_segmentaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="segmentaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="dd7cc447ac2d670d5dfdf892d0ebc3e88bf435e5",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_9a12c",
                    table="rewards_segmentaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tieraudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'tier') link; RETURN NEW;",
                    hash="761759a0eda809ada5eaf54cc83e6cd1cca0e863",
                    operation="INSERT",
                    pgid="pgtrigger_chain_679cb",
                    table="rewards_tieraudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tieraudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="6b5ee8b9f892126da75fe75b541a4c0bbefc054e",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_4ce71",
                    table="rewards_tieraudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tierladderaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'tier_ladder') link; RETURN NEW;",
                    hash="269c8430b2064d2cd5dcbee1f89a1cc504e2c3cc",
                    operation="INSERT",
                    pgid="pgtrigger_chain_c16b0",
                    table="rewards_tierladderaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="tierladderaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="55ae08bbde0af6bd2e9cac0fa3b431eee5bc63cb",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_cc7fb",
                    table="rewards_tierladderaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
    ]

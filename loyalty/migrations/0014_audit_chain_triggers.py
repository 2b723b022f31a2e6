"""Every loyalty audit table gets its trigger audit_chain (after rewards 0041 chained the
entries already written): each entry from now on is the next link of the audit chain."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0013_audit_chain"),
        ("rewards", "0044_audit_chain_links"),
    ]

    operations = [
        pgtrigger.migrations.AddTrigger(
            model_name="adjustmentsubmissionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'staff_adjustment') link; RETURN NEW;",
                    hash="5d49bc0d3edc79ef3221f5d7978d9690938fa643",
                    operation="INSERT",
                    pgid="pgtrigger_chain_5eb15",
                    table="loyalty_adjustmentsubmissionaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="adjustmentsubmissionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="cf9964fe6892acaa2361a83e50eb51f8ccbcf15f",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_0f29e",
                    table="loyalty_adjustmentsubmissionaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="applicationaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'application') link; RETURN NEW;",
                    hash="f719cf3df819644c006b49ae6670ef79e3dca9fe",
                    operation="INSERT",
                    pgid="pgtrigger_chain_cca56",
                    table="loyalty_applicationaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="applicationaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="8426edc005dd7637bad4b1c98822defdcb22492e",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_ec030",
                    table="loyalty_applicationaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="personaldataerasureaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'personal_data_erasure') link; RETURN NEW;",
                    hash="0ee19cc2e0660457654a1daa91f521826c014b8a",
                    operation="INSERT",
                    pgid="pgtrigger_chain_1959c",
                    table="loyalty_personaldataerasureaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="personaldataerasureaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="cb8a46ce881aa815c3978e5ee2dae959c9bbc231",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_dcc0b",
                    table="loyalty_personaldataerasureaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="webhooksubscriptionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="SELECT link.seq, link.id, link.hash INTO NEW.pgh_seq, NEW.pgh_id, NEW.pgh_hash FROM audit_chain_link(NEW, 'webhook_subscription') link; RETURN NEW;",
                    hash="90735c51dc96143502258c5ad2ac13ccd8dd7d15",
                    operation="INSERT",
                    pgid="pgtrigger_chain_5e846",
                    table="loyalty_webhooksubscriptionaudit",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="webhooksubscriptionaudit",
            trigger=pgtrigger.compiler.Trigger(
                name="chain_head",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (NEW.pgh_id::text = current_setting('audit_chain.first', true))",
                    constraint="CONSTRAINT",
                    func="PERFORM audit_chain_head_save(); RETURN NULL;",
                    hash="d62f3c615f3cb054154197915e0045438d926c99",
                    operation="INSERT",
                    pgid="pgtrigger_chain_head_a1070",
                    table="loyalty_webhooksubscriptionaudit",
                    timing="DEFERRABLE INITIALLY DEFERRED",
                    when="AFTER",
                ),
            ),
        ),
    ]

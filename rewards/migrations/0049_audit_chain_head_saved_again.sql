-- A frozen snapshot of rewards/sql/ (0048_audit_chain_head_saved_again): what changed there; never edited.

-- The next link of the chain, for an entry about to be written (its table's trigger sets the
-- entry's pgh_seq, pgh_id and pgh_hash from it). The transaction's first link takes the head's
-- row lock, held until the transaction ends, so concurrent changes chain one transaction after
-- another; it draws the entry's id under that lock, so ids, the chain and commits are in one
-- order. The transaction's last link so far is kept in its own settings (audit_chain.*,
-- transaction-local, undone with a rolled-back savepoint), not written to the head's row each
-- time: the head's row is written once, at commit (audit_chain_head_save), so a transaction
-- that records 50,000 changes does not make 50,000 versions of one row. In UTC (the session's
-- time zone would change how to_jsonb writes a time).
CREATE OR REPLACE FUNCTION audit_chain_link(p_entry anyelement, p_subject text) RETURNS audit_link
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
DECLARE
    head rewards_auditchainhead;
    link audit_link;
    previous bytea;
    xact text := txid_current()::text;
BEGIN
    IF current_setting('audit_chain.xact', true) IS DISTINCT FROM xact THEN
        SELECT * INTO head FROM rewards_auditchainhead WHERE id = 1 FOR UPDATE;
        IF NOT FOUND THEN  -- the chain's start (the migration writes the row; a flushed database has none)
            INSERT INTO rewards_auditchainhead (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
            ON CONFLICT (id) DO NOTHING;
            SELECT * INTO head FROM rewards_auditchainhead WHERE id = 1 FOR UPDATE;
        END IF;
        link.seq := head.seq + 1;
        previous := head.hash;
        link.id := nextval('audit_event_id');  -- under the lock, as every later link's
        PERFORM set_config('audit_chain.first', link.id::text, true);  -- its entry saves the head at commit
    ELSE
        link.seq := current_setting('audit_chain.seq')::bigint + 1;
        previous := decode(current_setting('audit_chain.hash'), 'hex');
        link.id := nextval('audit_event_id');
        IF current_setting('audit_chain.first') = '' THEN
            -- the head was saved early (SET CONSTRAINTS ALL IMMEDIATE): this entry saves it again
            PERFORM set_config('audit_chain.first', link.id::text, true);
        END IF;
    END IF;
    link.hash := sha256(previous || convert_to(
        audit_entry_form(link.seq, p_subject, to_jsonb(p_entry) || jsonb_build_object('pgh_id', link.id)), 'UTF8'));
    PERFORM set_config('audit_chain.xact', xact, true), set_config('audit_chain.seq', link.seq::text, true),
            set_config('audit_chain.id', link.id::text, true), set_config('audit_chain.hash', encode(link.hash, 'hex'), true);
    RETURN link;
END $$;

-- At commit, the head's row moves to the transaction's last link: a deferred trigger on every
-- audit table runs it for the transaction's first entry only (its WHEN names that entry's id).
-- Run before commit (SET CONSTRAINTS ALL IMMEDIATE), it hands the saving on to the next link.
CREATE OR REPLACE FUNCTION audit_chain_head_save() RETURNS void LANGUAGE sql AS $$
    UPDATE rewards_auditchainhead
    SET seq = current_setting('audit_chain.seq')::bigint, entry_id = current_setting('audit_chain.id')::bigint,
        hash = decode(current_setting('audit_chain.hash'), 'hex')
    WHERE id = 1 AND current_setting('audit_chain.xact', true) = txid_current()::text;
    SELECT set_config('audit_chain.first', '', true);
$$;

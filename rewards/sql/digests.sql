-- Signed digests of the ledger's hash chains (rewards_ledgerdigest and the heads each holds,
-- rewards_ledgerdigesthead), cut by rewards/services/digests.py and checked by
-- `manage.py verify_ledger` (docs/VERIFY.md).

-- A digest, once written, is never rewritten: the trigger on both tables refuses every UPDATE and
-- DELETE, whoever runs it. (Someone who may drop the trigger may still change a digest; its
-- signature is what shows it, as verify_ledger does.)
CREATE OR REPLACE FUNCTION ledger_digest_unchangeable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Ledger digests are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

-- A signed digest and the heads it holds are never rewritten: an UPDATE or DELETE is refused,
-- whoever sends it (the verifier would name the digest, but refusing is earlier).
CREATE OR REPLACE TRIGGER ledger_digest_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigest
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

-- The heads a digest holds, as append-only as the digest.
CREATE OR REPLACE TRIGGER ledger_digest_head_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigesthead
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

-- The stored levels of a digest's Merkle tree, as append-only as the digest.
CREATE OR REPLACE TRIGGER ledger_digest_level_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigestlevel
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

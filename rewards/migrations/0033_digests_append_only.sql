-- A frozen snapshot of rewards/sql/ (0033_digests_append_only): what changed there; never edited.

-- A signed digest and the heads it holds are never rewritten: an UPDATE or DELETE is refused,
-- whoever sends it (the verifier would name the digest, but refusing is earlier).
CREATE OR REPLACE TRIGGER ledger_digest_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigest
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

-- The heads a digest holds, as append-only as the digest.
CREATE OR REPLACE TRIGGER ledger_digest_head_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigesthead
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

-- A frozen snapshot of rewards/sql/ (0046_digest_levels_append_only): what changed there; never edited.

-- The stored levels of a digest's Merkle tree, as append-only as the digest.
CREATE OR REPLACE TRIGGER ledger_digest_level_append_only BEFORE UPDATE OR DELETE ON rewards_ledgerdigestlevel
    FOR EACH ROW EXECUTE FUNCTION ledger_digest_unchangeable();

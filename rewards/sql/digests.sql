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

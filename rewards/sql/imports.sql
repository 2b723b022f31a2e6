-- Imports: a predecessor system's rows posted through the ledger's own credit and debit
-- (ledger.sql). Called by the importers (rewards/importers/base.py).

-- A predecessor system's rows, posted in order through the rules above (no events: the
-- importer announces each customer once). Entries with points > 0 are credits, available at
-- their own date and expiring at p_expires_at; the others debits, which may take a balance
-- below zero, with the item a redemption bought. Returns the first customer whose totals
-- would overflow (the caller then refuses the whole import), or NULL.
CREATE OR REPLACE FUNCTION ledger_import(
    p_source text, p_now timestamptz, p_expires_at timestamptz, p_notice_horizon timestamptz,
    p_user_ids bigint[], p_kinds text[], p_points bigint[], p_descriptions text[], p_ats timestamptz[],
    p_is_active boolean[], p_catalog_item_ids bigint[], p_item_codes text[], p_item_descriptions text[],
    p_amounts numeric[]
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    posted ledger_posting;
BEGIN
    FOR i IN 1 .. COALESCE(array_length(p_user_ids, 1), 0) LOOP
        IF p_points[i] > 0 THEN
            posted := ledger_credit(p_user_ids[i], p_points[i], p_kinds[i], p_descriptions[i], NULL, p_ats[i], p_now,
                                    p_pending => false, p_available_at => p_ats[i], p_expires_at => p_expires_at,
                                    p_notice_horizon => p_notice_horizon, p_imported_from => p_source);
        ELSE
            posted := ledger_debit(p_user_ids[i], -p_points[i], p_kinds[i], p_descriptions[i], NULL, p_ats[i], p_now,
                                   p_must_cover => false, p_is_active => p_is_active[i], p_imported_from => p_source,
                                   p_catalog_item_id => p_catalog_item_ids[i], p_item_code => p_item_codes[i],
                                   p_item_description => p_item_descriptions[i], p_amount => p_amounts[i]);
        END IF;
        IF posted.outcome <> 'ok' THEN
            RETURN p_user_ids[i];
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

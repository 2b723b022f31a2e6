-- The lifecycle: time moves lots on. The caller holds the account row lock (taken with SKIP
-- LOCKED, so a busy customer waits for the next pass); each lot is checked again here, so a lot
-- another pass or a debit already moved is left alone. Each returns how many lots it moved.
-- Called by rewards/services/lifecycle.py.

-- Pending lots whose time has come: a 'release' row moves their points from pending to
-- available, where they pay what the customer owes first.
CREATE OR REPLACE FUNCTION ledger_release(p_user_id bigint, p_lot_ids bigint[], p_now timestamptz, p_notice_horizon timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account := ledger_account_lock(p_user_id, p_now, false);
    lot rewards_pointlot;
    r rewards_reward;
    points bigint;
    done integer := 0;
BEGIN
    FOR lot IN
        SELECT * FROM rewards_pointlot
        WHERE id = ANY(p_lot_ids) AND user_id = p_user_id AND pending AND remaining > 0 AND available_at <= p_now
        ORDER BY available_at, id
    LOOP
        points := lot.remaining;
        IF a.total_points_earned > 9223372036854775807 - points THEN
            RAISE WARNING 'Lot % not released: customer %''s total would overflow', lot.id, p_user_id;
            CONTINUE;
        END IF;
        r := ledger_row(a, 'release', points, 0, -points, 'Now available: ' || ledger_credit_description(lot),
                        p_now, p_now, NULL, p_now);
        a.chain_seq := r.seq;
        a.chain_hash := r.hash;
        UPDATE rewards_pointlot SET pending = false WHERE id = lot.id;
        lot.pending := false;
        a.total_points_earned := a.total_points_earned + points;
        a.pending_points := a.pending_points - points;
        a := ledger_lot_make_available(a, lot, p_now, p_notice_horizon);
        a.next_available_at := ledger_next_available(p_user_id);
        SELECT * INTO lot FROM rewards_pointlot WHERE id = lot.id;
        PERFORM ledger_account_save(a, p_now);
        PERFORM ledger_event('points.available', a, NULL, r, jsonb_build_object('lot', ledger_lot_json(lot)), p_now);
        done := done + 1;
    END LOOP;
    RETURN done;
END $$;

-- Expired lots: what is left of each is debited with an 'expiry' row.
CREATE OR REPLACE FUNCTION ledger_expire(p_user_id bigint, p_lot_ids bigint[], p_now timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account := ledger_account_lock(p_user_id, p_now, false);
    lot rewards_pointlot;
    r rewards_reward;
    done integer := 0;
BEGIN
    FOR lot IN
        SELECT * FROM rewards_pointlot
        WHERE id = ANY(p_lot_ids) AND user_id = p_user_id AND NOT pending AND remaining > 0 AND expires_at <= p_now
        ORDER BY expires_at, id
    LOOP
        r := ledger_row(a, 'expiry', 0, lot.remaining, 0, 'Expired: ' || ledger_credit_description(lot),
                        NULL, p_now, NULL, p_now);
        a.chain_seq := r.seq;
        a.chain_hash := r.hash;
        a.total_points_redeemed := a.total_points_redeemed + lot.remaining;
        IF lot.notice_at IS NOT NULL THEN
            a.expiring_points := a.expiring_points - lot.remaining;
        END IF;
        UPDATE rewards_pointlot SET remaining = 0, expired_points = expired_points + lot.remaining
        WHERE id = lot.id RETURNING * INTO lot;
        a.next_expiry_at := ledger_next_expiry(p_user_id);
        PERFORM ledger_account_save(a, p_now);
        PERFORM ledger_event('points.expired', a, NULL, r, jsonb_build_object('lot', ledger_lot_json(lot)), p_now);
        done := done + 1;
    END LOOP;
    RETURN done;
END $$;

-- Lots entering the notice window: their points now count as expiring soon. One notice per
-- customer and pass, naming the lots that entered the window.
CREATE OR REPLACE FUNCTION ledger_notice(p_user_id bigint, p_lot_ids bigint[], p_now timestamptz, p_notice_horizon timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account := ledger_account_lock(p_user_id, p_now, false);
    points bigint;
    lots jsonb;
    done integer;
BEGIN
    WITH noticed AS (
        UPDATE rewards_pointlot SET notice_at = p_now
        WHERE id = ANY(p_lot_ids) AND user_id = p_user_id AND NOT pending AND remaining > 0 AND notice_at IS NULL
          AND expires_at <= p_notice_horizon
        RETURNING *
    )
    SELECT COALESCE(sum(remaining), 0), jsonb_agg(ledger_lot_json(noticed::rewards_pointlot) ORDER BY expires_at, id), count(*)
    INTO points, lots, done
    FROM noticed;
    IF done > 0 THEN
        a.expiring_points := a.expiring_points + points;
        PERFORM ledger_account_save(a, p_now);
        PERFORM ledger_event('points.expiring_soon', a, NULL, NULL, jsonb_build_object('lots', lots), p_now);
    END IF;
    RETURN done;
END $$;

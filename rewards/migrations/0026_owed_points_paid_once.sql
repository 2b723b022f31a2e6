-- A frozen snapshot of rewards/sql/ (0026_owed_points_paid_once): what changed there; never edited.

-- Points that just became spendable in a lot pay what the customer owes first: the one place
-- owed points are paid (a credit, a release, a refund). The payment is a consumption of the lot
-- with no debit; returns the account with its debt lowered, for the caller to save. The caller
-- takes what was paid (the debt before less after) off the lot's remaining points.
CREATE OR REPLACE FUNCTION ledger_owed_pay(a rewards_account, p_lot_id bigint, p_points bigint, p_now timestamptz)
RETURNS rewards_account LANGUAGE plpgsql AS $$
DECLARE
    paid bigint := LEAST(a.points_owed, p_points);
BEGIN
    IF paid > 0 THEN
        INSERT INTO rewards_lotconsumption (lot_id, debit_id, points, created_at) VALUES (p_lot_id, NULL, paid, p_now);
        a.points_owed := a.points_owed - paid;
    END IF;
    RETURN a;
END $$;

-- A lot's points just became spendable (the caller has counted them in the earned total): they
-- pay what the customer owes first (ledger_owed_pay); what is left may enter the expiry notice
-- window and may be the soonest to expire. Writes the lot's changes; returns the account, for
-- the caller to save.
CREATE OR REPLACE FUNCTION ledger_lot_make_available(
    a rewards_account, lot rewards_pointlot, p_now timestamptz, p_notice_horizon timestamptz
) RETURNS rewards_account LANGUAGE plpgsql AS $$
DECLARE
    owed bigint := a.points_owed;
    paid bigint;
    noticed boolean := false;
BEGIN
    a := ledger_owed_pay(a, lot.id, lot.remaining, p_now);
    paid := owed - a.points_owed;
    lot.remaining := lot.remaining - paid;
    IF lot.remaining > 0 AND lot.expires_at IS NOT NULL THEN
        IF lot.notice_at IS NULL AND lot.expires_at <= p_notice_horizon THEN
            noticed := true;
            a.expiring_points := a.expiring_points + lot.remaining;
        END IF;
        a.next_expiry_at := LEAST(a.next_expiry_at, lot.expires_at);
    END IF;
    IF paid > 0 OR noticed THEN
        UPDATE rewards_pointlot
        SET remaining = lot.remaining, notice_at = CASE WHEN noticed THEN p_now ELSE notice_at END
        WHERE id = lot.id;
    END IF;
    RETURN a;
END $$;

-- Give a redemption's points back (a void, or a refunded expiry): a 'refund' row credits them,
-- and each lot the redemption consumed gets its part back (a consumption of minus that part,
-- against the refund row), keeping its own expiry date. A part whose lot has expired meanwhile
-- expires at once (an 'expiry' row says so); what comes back available pays what the customer
-- owes first, as any credit does. The caller holds the item's row lock and has checked it is
-- active; this marks it p_state, gives back what it took of its catalog item, and writes
-- p_event_type. The answer's other figure is the points that came back expired.
CREATE OR REPLACE FUNCTION ledger_refund(
    p_item_id bigint, p_state text, p_reason text, p_kind text, p_description text, p_app uuid, p_now timestamptz,
    p_event_type text, p_event_data jsonb
) RETURNS ledger_posting LANGUAGE plpgsql AS $$
DECLARE
    item rewards_redeemeditem;
    debit rewards_reward;
    a rewards_account;
    r rewards_reward;
    part record;
    lot rewards_pointlot;
    paid bigint;
    given bigint := 0;
    expired bigint := 0;
BEGIN
    SELECT * INTO STRICT item FROM rewards_redeemeditem WHERE id = p_item_id;
    SELECT * INTO STRICT debit FROM rewards_reward WHERE id = item.reward_id;
    PERFORM catalog_give_back(item, debit.user_id);
    a := ledger_account_lock(debit.user_id, p_now, false);
    r := ledger_row(debit.user_id, p_kind, debit.points_redeemed, 0, 0, p_description, p_now, NULL, p_app, p_now);
    FOR part IN
        SELECT c.lot_id, SUM(c.points)::bigint AS points FROM rewards_lotconsumption c
        JOIN rewards_pointlot l ON l.id = c.lot_id
        WHERE l.user_id = debit.user_id AND c.debit_id = debit.id
        GROUP BY c.lot_id ORDER BY c.lot_id
    LOOP
        SELECT * INTO STRICT lot FROM rewards_pointlot WHERE id = part.lot_id;
        INSERT INTO rewards_lotconsumption (lot_id, debit_id, points, created_at)
        VALUES (lot.id, r.id, -part.points, p_now);
        given := given + part.points;
        IF lot.expires_at IS NOT NULL AND lot.expires_at <= p_now THEN
            -- Its lot expired meanwhile: the part comes back expired.
            PERFORM ledger_row(debit.user_id, 'expiry', 0, part.points, 0,
                               'Expired: ' || ledger_credit_description(lot) || ' (given back by ' || p_reason || ')',
                               NULL, p_now, NULL, p_now);
            a.total_points_redeemed := a.total_points_redeemed + part.points;
            expired := expired + part.points;
            UPDATE rewards_pointlot SET expired_points = expired_points + part.points WHERE id = lot.id;
            CONTINUE;
        END IF;
        paid := a.points_owed;
        a := ledger_owed_pay(a, lot.id, part.points, p_now);
        paid := paid - a.points_owed;
        UPDATE rewards_pointlot SET remaining = remaining + part.points - paid WHERE id = lot.id RETURNING * INTO lot;
        IF lot.notice_at IS NOT NULL THEN  -- (a lot not yet noticed is for the lifecycle's next pass)
            a.expiring_points := a.expiring_points + part.points - paid;
        END IF;
        IF lot.remaining > 0 THEN
            a.next_expiry_at := LEAST(a.next_expiry_at, lot.expires_at);
        END IF;
    END LOOP;
    IF given <> debit.points_redeemed THEN
        RAISE EXCEPTION 'Redemption % consumed % points of its lots, not %', debit.id, given, debit.points_redeemed;
    END IF;
    a.total_points_earned := a.total_points_earned + given;
    UPDATE rewards_redeemeditem SET state = p_state, refund_id = r.id, refund_reason = left(p_reason, 255)
    WHERE id = item.id;
    UPDATE rewards_reward SET is_active = false WHERE id = debit.id;
    RETURN ledger_posted(a, r, expired, p_app, p_event_type,
                         COALESCE(p_event_data, '{}'::jsonb) || jsonb_build_object('item', ledger_item_json(item),
                                                                                  'points_expired', expired),
                         p_now);
END $$;

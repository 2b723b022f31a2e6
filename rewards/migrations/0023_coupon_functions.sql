-- Rewards with stock, limits and validity, and voiding a coupon.
--
-- ledger_debit writes a redemption's item whole: its state (a coupon is active, a donation
-- delivered), its valid_until, and what it counted (a unit of stock, one of the customer's
-- redemptions in a limit period), so a void gives back exactly that.
-- catalog_take takes a unit and a count under their row locks, or says why it cannot.
-- ledger_refund gives a coupon's points back to the very lots they came from.

DROP FUNCTION ledger_debit(bigint, bigint, text, text, uuid, timestamptz, timestamptz, boolean, boolean, text, bigint,
    text, text, numeric, text, jsonb);

CREATE FUNCTION ledger_debit(
    p_user_id bigint, p_points bigint, p_kind text, p_description text, p_app uuid,
    p_at timestamptz, p_now timestamptz, p_must_cover boolean, p_is_active boolean, p_imported_from text DEFAULT '',
    p_catalog_item_id bigint DEFAULT NULL, p_item_code text DEFAULT NULL, p_item_description text DEFAULT NULL,
    p_amount numeric DEFAULT NULL, p_event_type text DEFAULT NULL, p_event_data jsonb DEFAULT NULL,
    p_valid_until timestamptz DEFAULT NULL, p_stock_counted boolean DEFAULT false, p_limit_period text DEFAULT '',
    p_limit_period_start date DEFAULT NULL
) RETURNS ledger_posting LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account;
    r rewards_reward;
    item rewards_redeemeditem;
    owed bigint;
    data jsonb := p_event_data;
BEGIN
    a := ledger_account_lock(p_user_id, p_now, NOT p_must_cover);
    IF p_must_cover AND (a.user_id IS NULL OR a.total_points_earned - a.total_points_redeemed < p_points) THEN
        RETURN ledger_answer('insufficient', NULL, NULL, a);
    END IF;
    IF a.total_points_redeemed > 9223372036854775807 - p_points THEN
        RETURN ledger_answer('limit', NULL, NULL, a);
    END IF;
    r := ledger_row(p_user_id, p_kind, 0, p_points, 0, p_description, NULL, p_at, p_app, p_at, p_is_active,
                    p_imported_from);
    IF p_item_code IS NOT NULL THEN
        INSERT INTO rewards_redeemeditem (reward_id, catalog_item_id, kind, item_code, item_description, amount,
                                          created_at, state, valid_until, stock_counted, limit_period,
                                          limit_period_start, refund_reason)
        VALUES (r.id, p_catalog_item_id, p_kind, p_item_code, p_item_description, p_amount, p_at,
                CASE WHEN p_is_active THEN 'active' ELSE 'used' END, p_valid_until, p_stock_counted, p_limit_period,
                p_limit_period_start, '')
        RETURNING * INTO item;
        data := COALESCE(data, '{}'::jsonb) || jsonb_build_object('item', ledger_item_json(item));
    END IF;
    owed := a.points_owed;
    a.total_points_redeemed := a.total_points_redeemed + p_points;
    a := ledger_lots_consume(a, p_points, r.id, p_now);
    IF p_must_cover AND a.points_owed <> owed THEN
        -- The balance said it covers this, so the lots must: they disagree with the account.
        RAISE EXCEPTION 'Customer %''s lots do not cover a covered debit of % points', p_user_id, p_points;
    END IF;
    RETURN ledger_posted(a, r, item.id, p_app, p_event_type, data, p_now);
END $$;

-- What a redemption from a catalog item takes of it, under row locks, in the redemption's
-- transaction (so a refused or failed debit gives it back by rolling back): a unit of stock
-- when the item has a stock, and one of the customer's redemptions in the limit period when it
-- has a limit. Answers 'ok', 'out_of_stock' or 'limit_reached'. The item's row lock comes
-- first, then the count's, then (in ledger_debit) the account's: a void takes them in the same
-- order.
CREATE FUNCTION catalog_take(
    p_item_id bigint, p_user_id bigint, p_stock boolean, p_limit bigint, p_period text, p_period_start date
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    taken integer;
BEGIN
    IF p_stock THEN
        UPDATE rewards_catalogitem SET units_out = units_out + 1
        WHERE id = p_item_id AND (stock IS NULL OR units_out < stock);
        GET DIAGNOSTICS taken = ROW_COUNT;
        IF taken = 0 THEN
            RETURN 'out_of_stock';
        END IF;
    END IF;
    IF p_limit IS NOT NULL THEN
        IF p_limit < 1 THEN
            RETURN 'limit_reached';
        END IF;
        INSERT INTO rewards_catalogredemptioncount AS c (catalog_item_id, user_id, period, period_start, count)
        VALUES (p_item_id, p_user_id, p_period, p_period_start, 1)
        ON CONFLICT (catalog_item_id, user_id, period, period_start) DO UPDATE SET count = c.count + 1
        WHERE c.count < p_limit;
        GET DIAGNOSTICS taken = ROW_COUNT;
        IF taken = 0 THEN
            RETURN 'limit_reached';
        END IF;
    END IF;
    RETURN 'ok';
END $$;

-- Give back what a redemption took of its catalog item: the unit and the count.
CREATE FUNCTION catalog_give_back(p_item rewards_redeemeditem, p_user_id bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_item.stock_counted THEN
        UPDATE rewards_catalogitem SET units_out = units_out - 1 WHERE id = p_item.catalog_item_id;
    END IF;
    IF p_item.limit_period_start IS NOT NULL THEN
        UPDATE rewards_catalogredemptioncount SET count = count - 1
        WHERE catalog_item_id = p_item.catalog_item_id AND user_id = p_user_id AND period = p_item.limit_period
          AND period_start = p_item.limit_period_start;
    END IF;
END $$;

-- Give a redemption's points back (a void, or a refunded expiry): a 'refund' row credits them,
-- and each lot the redemption consumed gets its part back (a consumption of minus that part,
-- against the refund row), keeping its own expiry date. A part whose lot has expired meanwhile
-- expires at once (an 'expiry' row says so); what comes back available pays what the customer
-- owes first, as any credit does. The caller holds the item's row lock and has checked it is
-- active; this marks it p_state, gives back what it took of its catalog item, and writes
-- p_event_type. The answer's other figure is the points that came back expired.
CREATE FUNCTION ledger_refund(
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
        paid := LEAST(a.points_owed, part.points);
        IF paid > 0 THEN
            INSERT INTO rewards_lotconsumption (lot_id, debit_id, points, created_at) VALUES (lot.id, NULL, paid, p_now);
            a.points_owed := a.points_owed - paid;
        END IF;
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

-- Redemptions already made: a donation was delivered, a coupon no longer active was used.
UPDATE rewards_redeemeditem i SET state = 'used'
FROM rewards_reward r WHERE r.id = i.reward_id AND (i.kind = 'donation' OR NOT r.is_active);

-- An item in an event is as the API shows it: its state and valid_until too.
CREATE OR REPLACE FUNCTION ledger_item_json(i rewards_redeemeditem) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('item_code', i.item_code, 'item_description', i.item_description, 'amount', i.amount,
                              'state', i.state, 'valid_until', ledger_iso(i.valid_until))
$$;

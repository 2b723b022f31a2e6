-- The ledger's postings: the live definition of each function (the one place to read or change
-- it; migrations install frozen snapshots of these files, see rewards/sqlfiles.py).
--
-- Python decides what to post (how many points, of which kind, when they become available and
-- expire); these functions decide how the ledger moves: the ledger row, the lots, what is owed,
-- the expiry notice, the account row and the event, in one call, so a posting costs one round
-- trip. Every posting calls them: the API, staff adjustments, order returns, voids, the
-- lifecycle jobs (lifecycle.sql) and the importers (imports.sql).
--
-- Each function first takes the customer's account row lock (ledger_account_lock) and reads
-- the lots after it, so it sees every committed change and two postings for one customer
-- never interleave. A function that refuses (not enough points, a total that would pass a
-- bigint) has written nothing and says so in its outcome.
--
-- What holds after each of them is what `manage.py check_ledger` verifies, independently:
-- the account's totals are the sums of its rows, every credit opened one lot, a lot's
-- remaining = points - consumed - expired - cancelled, available points = the remaining
-- points of available lots - points_owed, and the account's expiring_points, next_expiry_at,
-- pending_points and next_available_at agree with the lots.

-- What every posting function answers: whether it posted, the ledger row it wrote, and the
-- account after (the columns of rewards.selectors.BALANCE_COLUMNS, then points_owed).
CREATE TYPE ledger_posting AS (
    outcome text,  -- 'ok', 'insufficient' (a covered debit the balance does not cover), 'limit' (a total would overflow)
    reward_id bigint,
    other_id bigint,  -- the credit's lot, or the redemption's item
    points_earned bigint,
    points_redeemed bigint,
    pending_change bigint,
    reward_description text,
    earned_date timestamptz,
    redeemed_date timestamptz,
    is_active boolean,
    user_id bigint,
    total_points_earned bigint,
    total_points_redeemed bigint,
    pending_points bigint,
    expiring_points bigint,
    next_expiry_at timestamptz,
    next_available_at timestamptz,
    points_owed bigint
);

-- A time as the API renders it: UTC, "Z", microseconds only when there are some.
CREATE OR REPLACE FUNCTION ledger_iso(moment timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_trunc('second', moment) = moment THEN '' ELSE to_char(moment AT TIME ZONE 'UTC', '.US') END
        || 'Z'
$$;

-- A time as a JSON value (the API's text, or null), and a text as a JSON string (or null),
-- escaped as the API's renderer escapes it: for answers PostgreSQL writes as text.
CREATE OR REPLACE FUNCTION ledger_json_time(moment timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE('"' || ledger_iso(moment) || '"', 'null')
$$;

CREATE OR REPLACE FUNCTION ledger_json_text(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(to_json(value)::text, 'null')
$$;

-- The one shape of a balance in SQL: its members as compact JSON text, in the API's order (a
-- customer never seen, a NULL account, reads as zero). get-user-info's answer embeds them as
-- they are; events take them as jsonb (ledger_balance_json).
CREATE OR REPLACE FUNCTION ledger_balance_fields(a rewards_account) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT '"total_points":' || (COALESCE(a.total_points_earned, 0) - COALESCE(a.total_points_redeemed, 0))
        || ',"total_points_earned":' || COALESCE(a.total_points_earned, 0)
        || ',"total_points_redeemed":' || COALESCE(a.total_points_redeemed, 0)
        || ',"pending_points":' || COALESCE(a.pending_points, 0)
        || ',"next_available_at":' || ledger_json_time(a.next_available_at)
        || ',"expiring_points":' || COALESCE(a.expiring_points, 0)
        || ',"next_expiry_at":' || ledger_json_time(a.next_expiry_at)
$$;

CREATE OR REPLACE FUNCTION ledger_balance_json(a rewards_account) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT ('{' || ledger_balance_fields(a) || '}')::jsonb
$$;

CREATE OR REPLACE FUNCTION ledger_row_json(r rewards_reward) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', r.id,
        'user_id', r.user_id,
        'kind', r.kind,
        'points_earned', r.points_earned,
        'points_redeemed', r.points_redeemed,
        'reward_description', r.reward_description,
        'pending_change', r.pending_change,
        'earned_date', ledger_iso(r.earned_date),
        'redeemed_date', ledger_iso(r.redeemed_date),
        'is_active', r.is_active)
$$;

CREATE OR REPLACE FUNCTION ledger_lot_json(l rewards_pointlot) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', l.id,
        'credit_id', l.credit_id,
        'points', l.points,
        'remaining', l.remaining,
        'available_at', ledger_iso(l.available_at),
        'expires_at', ledger_iso(l.expires_at))
$$;

-- An item in an event is as the API shows it: its state and valid_until too.
CREATE OR REPLACE FUNCTION ledger_item_json(i rewards_redeemeditem) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('item_code', i.item_code, 'item_description', i.item_description, 'amount', i.amount,
                              'state', i.state, 'valid_until', ledger_iso(i.valid_until))
$$;

-- The event of a posting: what the caller adds (an order, an item, a lot), the ledger row and
-- the balance after. A NULL type writes none (the importers announce per customer instead).
CREATE OR REPLACE FUNCTION ledger_event(
    p_type text, a rewards_account, p_app uuid, r rewards_reward, p_data jsonb, p_now timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF p_type IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO rewards_event (type, user_id, application_id, reward_id, data, created_at)
    VALUES (
        p_type, a.user_id, p_app, r.id,
        COALESCE(p_data, '{}'::jsonb)
            || jsonb_build_object('balance', ledger_balance_json(a))
            || CASE WHEN r.id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('reward', ledger_row_json(r)) END,
        p_now);
END $$;

-- The customer's account, locked until commit; created first when p_create (else all NULL for
-- a customer never seen).
CREATE OR REPLACE FUNCTION ledger_account_lock(p_user_id bigint, p_now timestamptz, p_create boolean)
RETURNS rewards_account LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account;
BEGIN
    SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id FOR UPDATE;
    IF NOT FOUND AND p_create THEN
        INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                                     expiring_points, created_at, updated_at)
        VALUES (p_user_id, 0, 0, 0, 0, 0, p_now, p_now)
        ON CONFLICT (user_id) DO NOTHING;
        SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id FOR UPDATE;
    END IF;
    RETURN a;
END $$;

CREATE OR REPLACE FUNCTION ledger_account_save(a rewards_account, p_now timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rewards_account SET
        total_points_earned = a.total_points_earned,
        total_points_redeemed = a.total_points_redeemed,
        pending_points = a.pending_points,
        points_owed = a.points_owed,
        expiring_points = a.expiring_points,
        next_expiry_at = a.next_expiry_at,
        next_available_at = a.next_available_at,
        chain_seq = a.chain_seq,
        chain_hash = a.chain_hash,
        updated_at = p_now
    WHERE user_id = a.user_id;
END $$;

CREATE OR REPLACE FUNCTION ledger_answer(p_outcome text, r rewards_reward, p_other_id bigint, a rewards_account)
RETURNS ledger_posting LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p_outcome, r.id, p_other_id, r.points_earned, r.points_redeemed, r.pending_change, r.reward_description,
               r.earned_date, r.redeemed_date, r.is_active, a.user_id, a.total_points_earned,
               a.total_points_redeemed, a.pending_points, a.expiring_points, a.next_expiry_at, a.next_available_at,
               a.points_owed)::ledger_posting
$$;

-- The end of every posting: the account saved, the event written, the answer.
CREATE OR REPLACE FUNCTION ledger_posted(
    a rewards_account, r rewards_reward, p_other_id bigint, p_app uuid, p_event_type text, p_event_data jsonb,
    p_now timestamptz
) RETURNS ledger_posting LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_account_save(a, p_now);
    PERFORM ledger_event(p_event_type, a, p_app, r, p_event_data, p_now);
    RETURN ledger_answer('ok', r, p_other_id, a);
END $$;

-- The soonest expiry of the customer's available points (NULL: none expire).
CREATE OR REPLACE FUNCTION ledger_next_expiry(p_user_id bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT expires_at FROM rewards_pointlot
    WHERE user_id = p_user_id AND NOT pending AND remaining > 0
    ORDER BY expires_at, id LIMIT 1
$$;

-- The description of the credit that opened a lot (release and expiry rows name it).
CREATE OR REPLACE FUNCTION ledger_credit_description(lot rewards_pointlot) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT reward_description FROM rewards_reward WHERE id = lot.credit_id
$$;

-- When the customer's next pending points become available (NULL: none are pending).
CREATE OR REPLACE FUNCTION ledger_next_available(p_user_id bigint) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT min(available_at) FROM rewards_pointlot WHERE user_id = p_user_id AND pending AND remaining > 0
$$;

-- A row's hash in its customer's chain: SHA-256 of the previous row's hash (32 zero bytes before
-- the first) and the row's canonical form, the UTF-8 text below (docs/VERIFY.md, byte for byte;
-- rewards/verify.py computes it again on its own). A NULL field is empty; times are UTC with
-- microseconds. The description is in it only as its salted commitment, so erasing the
-- description and the salt leaves every hash as it was.
CREATE OR REPLACE FUNCTION ledger_row_hash(p_previous bytea, r rewards_reward) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(
        COALESCE(p_previous, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
        || convert_to(format('ledger-row-v1|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s',
            r.user_id, r.seq, r.kind, r.points_earned, r.points_redeemed, r.pending_change,
            to_char(r.earned_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            to_char(r.redeemed_date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            r.application_id, r.imported_from, r.rule_id, r.rule_version,
            encode(r.description_commitment, 'hex')), 'UTF8'))
$$;

-- A ledger row: the one place rows are written. Descriptions are cut to the column's 255. The
-- row is the next of its customer's hash chain: the caller holds the account's lock, passes the
-- account (its head: chain_seq, chain_hash) and moves the head to the row it gets back
-- (a.chain_seq := r.seq; a.chain_hash := r.hash), which ledger_account_save writes.
CREATE OR REPLACE FUNCTION ledger_row(
    a rewards_account, p_kind text, p_earned bigint, p_redeemed bigint, p_pending bigint, p_description text,
    p_earned_date timestamptz, p_redeemed_date timestamptz, p_app uuid, p_at timestamptz,
    p_is_active boolean DEFAULT true, p_imported_from text DEFAULT '', p_rule_id bigint DEFAULT NULL,
    p_rule_version integer DEFAULT NULL
) RETURNS rewards_reward LANGUAGE plpgsql AS $$
DECLARE
    r rewards_reward;
BEGIN
    IF a.user_id IS NULL THEN
        RAISE EXCEPTION 'A ledger row needs its customer''s account, locked';
    END IF;
    r.user_id := a.user_id;
    r.seq := a.chain_seq + 1;
    r.kind := p_kind;
    r.points_earned := p_earned;
    r.points_redeemed := p_redeemed;
    r.pending_change := p_pending;
    r.reward_description := left(p_description, 255);
    r.earned_date := p_earned_date;
    r.redeemed_date := p_redeemed_date;
    r.application_id := p_app;
    r.imported_from := p_imported_from;
    r.rule_id := p_rule_id;
    r.rule_version := p_rule_version;
    r.created_at := p_at;
    r.description_salt := uuid_send(gen_random_uuid());  -- 16 random bytes
    r.description_commitment := sha256(r.description_salt || convert_to(r.reward_description, 'UTF8'));
    r.hash := ledger_row_hash(a.chain_hash, r);
    INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                                earned_date, redeemed_date, is_active, application_id, imported_from, rule_id,
                                rule_version, created_at, seq, hash, description_salt, description_commitment)
    VALUES (r.user_id, r.kind, r.points_earned, r.points_redeemed, r.pending_change, r.reward_description,
            r.earned_date, r.redeemed_date, p_is_active, r.application_id, r.imported_from, r.rule_id,
            r.rule_version, r.created_at, r.seq, r.hash, r.description_salt, r.description_commitment)
    RETURNING * INTO r;
    RETURN r;
END $$;

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

-- Take p_points from the customer's available lots: soonest-expiring first, never-expiring
-- last, oldest first among equals, recording each consumption against the debit's row. What
-- no lot covers is owed. Keeps expiring_points and next_expiry_at; returns the account, for
-- the caller to save. Reads about as many lots as it consumes.
CREATE OR REPLACE FUNCTION ledger_lots_consume(a rewards_account, p_points bigint, p_debit_id bigint, p_now timestamptz)
RETURNS rewards_account LANGUAGE plpgsql AS $$
DECLARE
    lot record;
    take bigint;
    uncovered bigint := p_points;
BEGIN
    a.next_expiry_at := NULL;
    FOR lot IN
        SELECT id, remaining, expires_at, notice_at FROM rewards_pointlot
        WHERE user_id = a.user_id AND NOT pending AND remaining > 0
        ORDER BY expires_at, id
    LOOP
        IF uncovered = 0 THEN
            a.next_expiry_at := lot.expires_at;  -- the soonest lot this debit left alone
            EXIT;
        END IF;
        take := LEAST(lot.remaining, uncovered);
        UPDATE rewards_pointlot SET remaining = remaining - take WHERE id = lot.id;
        INSERT INTO rewards_lotconsumption (lot_id, debit_id, points, created_at) VALUES (lot.id, p_debit_id, take, p_now);
        IF lot.notice_at IS NOT NULL THEN
            a.expiring_points := a.expiring_points - take;
        END IF;
        uncovered := uncovered - take;
        IF lot.remaining > take THEN
            a.next_expiry_at := lot.expires_at;
            EXIT;
        END IF;
    END LOOP;
    a.points_owed := a.points_owed + uncovered;
    RETURN a;
END $$;

-- A credit: its ledger row and its lot, pending until p_available_at or available at once;
-- available points pay what the customer owes first. p_at is the row's time (a source's date
-- for an import), p_now the posting's. An earning rule's award names the rule and its version.
CREATE OR REPLACE FUNCTION ledger_credit(
    p_user_id bigint, p_points bigint, p_kind text, p_description text, p_app uuid,
    p_at timestamptz, p_now timestamptz, p_pending boolean, p_available_at timestamptz, p_expires_at timestamptz,
    p_notice_horizon timestamptz, p_imported_from text DEFAULT '', p_event_type text DEFAULT NULL,
    p_event_data jsonb DEFAULT NULL, p_rule_id bigint DEFAULT NULL, p_rule_version integer DEFAULT NULL
) RETURNS ledger_posting LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account;
    r rewards_reward;
    lot rewards_pointlot;
BEGIN
    a := ledger_account_lock(p_user_id, p_now, true);
    IF (p_pending AND a.pending_points > 9223372036854775807 - p_points)
        OR (NOT p_pending AND a.total_points_earned > 9223372036854775807 - p_points) THEN
        RETURN ledger_answer('limit', NULL, NULL, a);
    END IF;
    r := ledger_row(a, p_kind, CASE WHEN p_pending THEN 0 ELSE p_points END, 0,
                    CASE WHEN p_pending THEN p_points ELSE 0 END, p_description, p_at, NULL, p_app, p_at,
                    p_imported_from => p_imported_from, p_rule_id => p_rule_id, p_rule_version => p_rule_version);
    a.chain_seq := r.seq;
    a.chain_hash := r.hash;
    INSERT INTO rewards_pointlot (user_id, credit_id, points, remaining, pending, available_at, expires_at, notice_at,
                                  expired_points, cancelled_points, created_at)
    VALUES (p_user_id, r.id, p_points, p_points, p_pending, p_available_at, p_expires_at, NULL, 0, 0, p_now)
    RETURNING * INTO lot;
    IF p_pending THEN
        a.pending_points := a.pending_points + p_points;
        a.next_available_at := LEAST(a.next_available_at, p_available_at);
    ELSE
        a.total_points_earned := a.total_points_earned + p_points;
        a := ledger_lot_make_available(a, lot, p_now, p_notice_horizon);
    END IF;
    RETURN ledger_posted(a, r, lot.id, p_app, p_event_type, p_event_data, p_now);
END $$;

-- A debit from the available points: a redemption (p_must_cover: refused unless the balance
-- covers it, with the item it bought), or a take-back, which may take the balance below zero.
CREATE OR REPLACE FUNCTION ledger_debit(
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
    r := ledger_row(a, p_kind, 0, p_points, 0, p_description, NULL, p_at, p_app, p_at, p_is_active,
                    p_imported_from);
    a.chain_seq := r.seq;
    a.chain_hash := r.hash;
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

-- Take back points a credit gave (goods returned). While the credit's lot is pending its points
-- are cancelled there, and the available balance is untouched; once available, they are taken
-- back like any debit, even below zero. Which of the two is decided under the account row lock.
CREATE OR REPLACE FUNCTION ledger_take_back(
    p_credit_id bigint, p_points bigint, p_kind text, p_description text, p_app uuid, p_now timestamptz,
    p_event_type text, p_event_data jsonb
) RETURNS ledger_posting LANGUAGE plpgsql AS $$
DECLARE
    a rewards_account;
    r rewards_reward;
    lot rewards_pointlot;
BEGIN
    SELECT * INTO STRICT lot FROM rewards_pointlot WHERE credit_id = p_credit_id;
    a := ledger_account_lock(lot.user_id, p_now, true);
    SELECT * INTO STRICT lot FROM rewards_pointlot WHERE credit_id = p_credit_id;  -- as of the lock
    IF NOT lot.pending THEN
        RETURN ledger_debit(lot.user_id, p_points, p_kind, p_description, p_app, p_now, p_now, p_must_cover => false,
                            p_is_active => true, p_event_type => p_event_type, p_event_data => p_event_data);
    END IF;
    IF lot.remaining < p_points THEN
        RAISE EXCEPTION 'Lot % has % pending points, not %', lot.id, lot.remaining, p_points;
    END IF;
    r := ledger_row(a, p_kind, 0, 0, -p_points, p_description, NULL, p_now, p_app, p_now);
    a.chain_seq := r.seq;
    a.chain_hash := r.hash;
    UPDATE rewards_pointlot
    SET remaining = remaining - p_points, cancelled_points = cancelled_points + p_points
    WHERE id = lot.id;
    a.pending_points := a.pending_points - p_points;
    IF lot.remaining = p_points AND lot.available_at = a.next_available_at THEN
        a.next_available_at := ledger_next_available(lot.user_id);
    END IF;
    RETURN ledger_posted(a, r, NULL, p_app, p_event_type, p_event_data, p_now);
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
    expiry rewards_reward;
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
    r := ledger_row(a, p_kind, debit.points_redeemed, 0, 0, p_description, p_now, NULL, p_app, p_now);
    a.chain_seq := r.seq;
    a.chain_hash := r.hash;
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
            expiry := ledger_row(a, 'expiry', 0, part.points, 0,
                                 'Expired: ' || ledger_credit_description(lot) || ' (given back by ' || p_reason || ')',
                                 NULL, p_now, NULL, p_now);
            a.chain_seq := expiry.seq;
            a.chain_hash := expiry.hash;
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

-- A frozen snapshot of rewards/sql/ (0050_read_answers): what changed there; never edited.

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

-- A credit that was pending: on_the_way (its points still are), arrived (they became available),
-- cancelled (a return took them all back first); NULL for every other row.
CREATE OR REPLACE FUNCTION answer_pending_status(p_pending_change bigint, l rewards_pointlot) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_pending_change <= 0 OR l.id IS NULL THEN NULL
        WHEN NOT l.pending THEN 'arrived'
        WHEN l.remaining > 0 THEN 'on_the_way'
        ELSE 'cancelled'
    END
$$;

-- A history row as RewardHistoryOutput: its rule's name, its pending state from its lot, and
-- when the points of a credit on the way become available. One expression (no FROM), so the
-- planner inlines it into the query that reads the rows: a function planned per row would
-- cost more than the whole page.
CREATE OR REPLACE FUNCTION answer_history_row(r rewards_reward, p_rule_name text, l rewards_pointlot) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"id":' || r.id
        || ',"kind":' || ledger_json_text(r.kind)
        || ',"points_earned":' || r.points_earned
        || ',"points_redeemed":' || r.points_redeemed
        || ',"pending_change":' || r.pending_change
        || ',"earned_date":' || ledger_json_time(r.earned_date)
        || ',"redeemed_date":' || ledger_json_time(r.redeemed_date)
        || ',"reward_description":' || ledger_json_text(r.reward_description)
        || ',"rule_name":' || ledger_json_text(p_rule_name)
        || ',"pending_status":' || ledger_json_text(answer_pending_status(r.pending_change, l))
        || ',"available_at":' || ledger_json_time(
               CASE WHEN answer_pending_status(r.pending_change, l) = 'on_the_way' THEN l.available_at END)
        || '}'
$$;

-- Every row of a customer's history, each with its id and its shape (answer_history_row): the
-- one place a row meets its rule and its lot. Inlined where it is read, so a page's order and
-- limit reach the index and only the rows shown are shaped.
CREATE OR REPLACE FUNCTION answer_history_rows(p_user_id bigint) RETURNS TABLE (id bigint, shown text)
LANGUAGE sql STABLE AS $$
    SELECT r.id, answer_history_row(r, ru.name, l)
    FROM rewards_reward r
    LEFT JOIN rewards_rule ru ON ru.id = r.rule_id
    LEFT JOIN rewards_pointlot l ON l.credit_id = r.id
    WHERE r.user_id = p_user_id
$$;

-- A page of a customer's history, newest first, before the row p_before (NULL: from the
-- newest): the members "reward_history", "has_more" and "next_cursor" (the last row's id, as
-- text, when another page exists). One row more than asked tells whether it does. PL/pgSQL,
-- as the other answers: its plan is kept per connection (a LANGUAGE sql function with a FROM
-- is planned again at every call). The cursor is one index condition either way, so a kept
-- plan serves a first page and a deep one alike.
CREATE OR REPLACE FUNCTION answer_history_fields(p_user_id bigint, p_limit integer, p_before bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        WITH page AS (
            SELECT h.id, h.shown, row_number() OVER (ORDER BY h.id DESC) AS n
            FROM (
                SELECT id, shown FROM answer_history_rows(p_user_id)
                WHERE id < COALESCE(p_before, 9223372036854775807)
                ORDER BY id DESC
                LIMIT p_limit + 1
            ) h
        )
        SELECT '"reward_history":['
            || COALESCE(string_agg(shown, ',' ORDER BY n) FILTER (WHERE n <= p_limit), '')
            || '],"has_more":' || (count(*) > p_limit)::text
            || ',"next_cursor":' || CASE WHEN count(*) > p_limit
                                         THEN '"' || min(id) FILTER (WHERE n <= p_limit) || '"'
                                         ELSE 'null' END
        FROM page
    );
END $$;

-- The badges a customer holds now, oldest award first: a JSON array.
CREATE OR REPLACE FUNCTION answer_badges_held(p_user_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT '[' || COALESCE(string_agg(
            '{"code":' || ledger_json_text(b.code)
                || ',"name":' || ledger_json_text(b.name)
                || ',"description":' || ledger_json_text(b.description)
                || ',"image_url":' || ledger_json_text(b.image_url)
                || ',"awarded_at":' || ledger_json_time(w.awarded_at)
                || '}',
            ',' ORDER BY w.id), '') || ']'
        FROM rewards_badgeaward w JOIN rewards_badge b ON b.id = w.badge_id
        WHERE w.user_id = p_user_id AND w.revoked_at IS NULL
    );
END $$;

-- get-user-info's whole answer: the balance (zero for a customer never seen), the badges held and
-- a page of the history (p_limit rows before the row p_before; NULL: the newest), with "tier" and
-- "tier_progress" null. While a tier ladder is set the service puts those two in, in place
-- (rewards/services/tiers.py): which tier a customer holds is rewards/tiers.py's rule, which
-- the writes decide by, and it lives there only.
CREATE OR REPLACE FUNCTION answer_user_info(p_user_id bigint, p_limit integer, p_before bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a rewards_account;  -- all NULL for a customer never seen: ledger_balance_fields reads zero
BEGIN
    SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id;
    RETURN '{"success":true,"user_id":' || p_user_id
        || ',' || ledger_balance_fields(a)
        || ',"tier":null,"tier_progress":null'
        || ',"badges":' || answer_badges_held(p_user_id)
        || ',' || answer_history_fields(p_user_id, p_limit, p_before)
        || '}';
END $$;

-- get-all-history's whole answer: get-user-info's page of the history, without the totals.
CREATE OR REPLACE FUNCTION answer_all_history(p_user_id bigint, p_limit integer, p_before bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"success":true,"user_id":' || p_user_id || ',' || answer_history_fields(p_user_id, p_limit, p_before) || '}'
$$;

-- get-points' answer now: the customer's balance (zero for one never seen), with "tier" and
-- "tier_progress" null (the service puts them in while a ladder is set). PL/pgSQL, whose plan is
-- kept per connection: a LANGUAGE sql function called from a larger query (the lean path's
-- token check) is planned again on every call, twice the statement's time on the hot read.
CREATE OR REPLACE FUNCTION points_answer(p_user_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    a rewards_account;  -- all NULL for a customer never seen: ledger_balance_fields reads zero
BEGIN
    SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id;
    RETURN '{"success":true,"user_id":' || p_user_id || ',' || ledger_balance_fields(a)
        || ',"tier":null,"tier_progress":null}';
END $$;

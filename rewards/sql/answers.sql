-- Read answers PostgreSQL writes whole: the one home of a history row's, a held badge's and a
-- tier's shape as the API answers them, and of get-user-info's and get-all-history's answers,
-- as compact JSON text byte for byte what the API's renderer writes (key order, "Z" times,
-- escapes, numbers, nulls). The view hands the text on as it is: no Python dict in between.
--
-- Each is a plain function of its arguments (no session state, no writes), so it can be one
-- column of a larger statement (a read path that checks the token in the same statement). The
-- moment the answer is for (p_now) is an argument, as the service's clock says it.

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

-- A customer's tier and progress, the members "tier" and "tier_progress" (both null while no
-- ladder is set). The rules are rewards/tiers.py's, which the writes (upgrades, floors,
-- requalification) decide by: the tier is the one the standing names (the lowest with no
-- standing; the one the qualifying points reach when the ladder no longer has it), or the
-- staff floor while it lasts if that is higher; qualifying points are the window's sum
-- (tier_qualifying_points) up to p_now's day in the program's time zone (p_time_zone).
-- tests/rewards/test_user_info_answer.py pins each case to the figures the rows make.
CREATE OR REPLACE FUNCTION answer_tier_fields(p_user_id bigint, p_now timestamptz, p_time_zone text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    ladder rewards_tierladder;
    standing rewards_tierstanding;
    today date := (p_now AT TIME ZONE p_time_zone)::date;
    qualifying bigint;
    held rewards_tier;
    floor rewards_tier;
    following rewards_tier;
    earned boolean;
BEGIN
    SELECT * INTO ladder FROM rewards_tierladder WHERE EXISTS (SELECT 1 FROM rewards_tier);
    IF NOT FOUND THEN
        RETURN '"tier":null,"tier_progress":null';
    END IF;
    SELECT * INTO standing FROM rewards_tierstanding WHERE user_id = p_user_id;
    qualifying := tier_qualifying_points(p_user_id, today - ladder.window_days, today);
    IF standing.user_id IS NOT NULL THEN
        SELECT * INTO held FROM rewards_tier WHERE code = standing.tier_code;
        IF held.code IS NULL THEN
            SELECT * INTO held FROM rewards_tier WHERE entry_points <= qualifying ORDER BY entry_points DESC LIMIT 1;
        END IF;
        IF standing.floor_code <> '' AND standing.floor_until > p_now THEN
            SELECT * INTO floor FROM rewards_tier WHERE code = standing.floor_code;
            IF floor.code IS NOT NULL AND floor.entry_points >= held.entry_points THEN
                held := floor;
            END IF;
        END IF;
    ELSE
        SELECT * INTO held FROM rewards_tier ORDER BY entry_points LIMIT 1;
    END IF;
    SELECT * INTO following FROM rewards_tier WHERE entry_points > held.entry_points ORDER BY entry_points LIMIT 1;
    earned := standing.user_id IS NOT NULL AND standing.tier_code = held.code;
    RETURN '"tier":{"code":' || ledger_json_text(held.code)
        || ',"name":' || ledger_json_text(held.name)
        || ',"multiplier":' || ledger_json_text(trim_scale(held.multiplier)::text)
        || ',"benefits":[' || COALESCE((
               SELECT string_agg(ledger_json_text(benefit), ',' ORDER BY n)
               FROM jsonb_array_elements_text(held.benefits) WITH ORDINALITY AS e(benefit, n)), '') || ']'
        || ',"since":' || ledger_json_time(CASE WHEN earned THEN standing.since END)
        || ',"requalify_at":' || ledger_json_time(CASE WHEN earned THEN standing.requalify_at END)
        || ',"floor_until":' || ledger_json_time(
               CASE WHEN NOT earned AND standing.floor_code = held.code THEN standing.floor_until END)
        || '},"tier_progress":{"qualifying_points":' || qualifying
        || ',"next_tier":' || CASE WHEN following.code IS NULL THEN 'null' ELSE
               '{"code":' || ledger_json_text(following.code) || ',"name":' || ledger_json_text(following.name)
               || ',"entry_points":' || following.entry_points || '}' END
        || ',"points_to_next":' || CASE WHEN following.code IS NULL THEN 'null'
                                        ELSE greatest(following.entry_points - qualifying, 0)::text END
        || ',"points_to_retain":' || greatest(held.retain_points - qualifying, 0)
        || '}';
END $$;

-- get-user-info's whole answer: the balance (zero for a customer never seen), the tier, the
-- badges held and a page of the history (p_limit rows before the row p_before; NULL: the
-- newest), at p_now. p_time_zone is the program's (settings.PROGRAM_TIME_ZONE): it says which
-- day the tiers' window ends on.
CREATE OR REPLACE FUNCTION answer_user_info(
    p_user_id bigint, p_limit integer, p_before bigint, p_now timestamptz, p_time_zone text
) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    a rewards_account;  -- all NULL for a customer never seen: ledger_balance_fields reads zero
BEGIN
    SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id;
    RETURN '{"success":true,"user_id":' || p_user_id
        || ',' || ledger_balance_fields(a)
        || ',' || answer_tier_fields(p_user_id, p_now, p_time_zone)
        || ',"badges":' || answer_badges_held(p_user_id)
        || ',' || answer_history_fields(p_user_id, p_limit, p_before)
        || '}';
END $$;

-- get-all-history's whole answer: get-user-info's page of the history, without the totals.
CREATE OR REPLACE FUNCTION answer_all_history(p_user_id bigint, p_limit integer, p_before bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT '{"success":true,"user_id":' || p_user_id || ',' || answer_history_fields(p_user_id, p_limit, p_before) || '}'
$$;

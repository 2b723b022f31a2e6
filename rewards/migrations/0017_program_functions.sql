-- Earning rules on the ledger. An award is a credit like any other, but its row names the rule
-- and the version that made it: ledger_row and ledger_credit take both (NULL for every other
-- row). A rule's caps are taken by program_cap_take, under the cap counts' row locks.

DROP FUNCTION ledger_credit(bigint, bigint, text, text, uuid, timestamptz, timestamptz, boolean, timestamptz,
    timestamptz, timestamptz, text, text, jsonb);
DROP FUNCTION ledger_row(bigint, text, bigint, bigint, bigint, text, timestamptz, timestamptz, uuid, timestamptz,
    boolean, text);

-- A ledger row: the one place rows are written. Descriptions are cut to the column's 255.
CREATE FUNCTION ledger_row(
    p_user_id bigint, p_kind text, p_earned bigint, p_redeemed bigint, p_pending bigint, p_description text,
    p_earned_date timestamptz, p_redeemed_date timestamptz, p_app uuid, p_at timestamptz,
    p_is_active boolean DEFAULT true, p_imported_from text DEFAULT '', p_rule_id bigint DEFAULT NULL,
    p_rule_version integer DEFAULT NULL
) RETURNS rewards_reward LANGUAGE plpgsql AS $$
DECLARE
    r rewards_reward;
BEGIN
    INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                                earned_date, redeemed_date, is_active, application_id, imported_from, rule_id,
                                rule_version, created_at)
    VALUES (p_user_id, p_kind, p_earned, p_redeemed, p_pending, left(p_description, 255), p_earned_date,
            p_redeemed_date, p_is_active, p_app, p_imported_from, p_rule_id, p_rule_version, p_at)
    RETURNING * INTO r;
    RETURN r;
END $$;

-- A credit: its ledger row and its lot, pending until p_available_at or available at once;
-- available points pay what the customer owes first. p_at is the row's time (a source's date
-- for an import), p_now the posting's. An earning rule's award names the rule and its version.
CREATE FUNCTION ledger_credit(
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
    r := ledger_row(p_user_id, p_kind, CASE WHEN p_pending THEN 0 ELSE p_points END, 0,
                    CASE WHEN p_pending THEN p_points ELSE 0 END, p_description, p_at, NULL, p_app, p_at,
                    p_imported_from => p_imported_from, p_rule_id => p_rule_id, p_rule_version => p_rule_version);
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

-- The trigger's active rules, in the order they run: the one read of every earning event. A
-- function, so its plan is made once per connection rather than at every event.
CREATE FUNCTION program_rules_active(p_trigger text) RETURNS SETOF rewards_rule LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT * FROM rewards_rule WHERE trigger = p_trigger AND status = 'active' ORDER BY priority, id;
END $$;

-- What one of a rule's cap counts holds, its row locked until commit (created at 0 first).
CREATE FUNCTION program_cap_count_lock(p_rule_id bigint, p_user_id bigint, p_period text, p_period_start date)
RETURNS bigint LANGUAGE sql AS $$
    INSERT INTO rewards_rulecapcount AS c (rule_id, user_id, period, period_start, points)
    VALUES (p_rule_id, p_user_id, p_period, p_period_start, 0)
    ON CONFLICT (rule_id, user_id, period, period_start) DO UPDATE SET points = c.points
    RETURNING points
$$;

-- A rule's caps: grant up to p_points, no more than what is left of the customer's count for
-- the period (p_per_customer, NULL: no such cap) and of the rule's whole budget (p_budget,
-- counted as user 0), and count what was granted. A cap partly left grants what is left. The
-- counts are read under their row locks, so racing awards never pass a cap; every event takes
-- its rules' caps in the same order (the order the rules run), so they never deadlock.
CREATE FUNCTION program_cap_take(
    p_rule_id bigint, p_user_id bigint, p_period text, p_period_start date, p_per_customer bigint, p_budget bigint,
    p_points bigint
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    granted bigint := p_points;
BEGIN
    IF p_per_customer IS NOT NULL THEN
        granted := LEAST(granted, GREATEST(
            p_per_customer - program_cap_count_lock(p_rule_id, p_user_id, p_period, p_period_start), 0));
    END IF;
    IF p_budget IS NOT NULL THEN
        granted := LEAST(granted, GREATEST(p_budget - program_cap_count_lock(p_rule_id, 0, 'budget', '0001-01-01'), 0));
    END IF;
    IF granted > 0 AND p_per_customer IS NOT NULL THEN
        UPDATE rewards_rulecapcount SET points = points + granted
        WHERE rule_id = p_rule_id AND user_id = p_user_id AND period = p_period AND period_start = p_period_start;
    END IF;
    IF granted > 0 AND p_budget IS NOT NULL THEN
        UPDATE rewards_rulecapcount SET points = points + granted
        WHERE rule_id = p_rule_id AND user_id = 0 AND period = 'budget' AND period_start = '0001-01-01';
    END IF;
    RETURN granted;
END $$;

-- Earning rules on the ledger: the active rules of a trigger, and a rule's caps taken under the
-- cap counts' row locks. An award is a credit like any other (ledger_credit names its rule and
-- version).

-- The trigger's active rules, in the order they run: the one read of every earning event. A
-- function, so its plan is made once per connection rather than at every event.
CREATE OR REPLACE FUNCTION program_rules_active(p_trigger text) RETURNS SETOF rewards_rule LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT * FROM rewards_rule WHERE trigger = p_trigger AND status = 'active' ORDER BY priority, id;
END $$;

-- What one of a rule's cap counts holds, its row locked until commit (created at 0 first).
CREATE OR REPLACE FUNCTION program_cap_count_lock(p_rule_id bigint, p_user_id bigint, p_period text, p_period_start date)
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
CREATE OR REPLACE FUNCTION program_cap_take(
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

-- A frozen snapshot of rewards/sql/ (0024_tier_window_end): what changed there; never edited.

-- Tiers' qualifying points are bounded on both sides: the window is the days after
-- p_window_before up to p_today, the day it ends. A credit dated in the future (an order whose
-- completed_at is ahead) is recorded on its own day and counts from that day on, never before.


-- A customer's qualifying points: their day buckets after p_window_before and up to p_today.
-- The one place they are summed: a credit's upgrade, the API and the jobs read it here.
CREATE FUNCTION tier_qualifying_points(p_user_id bigint, p_window_before date, p_today date) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(points), 0)::bigint FROM rewards_qualifyingday
    WHERE user_id = p_user_id AND day > p_window_before AND day <= p_today
$$;

-- Record the qualifying credits of one event (their ids and points, on p_day) and answer the
-- customer's qualifying points in the window that ends on p_today.
CREATE FUNCTION tier_qualify(
    p_user_id bigint, p_day date, p_window_before date, p_today date, p_credit_ids bigint[], p_points bigint[]
) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rewards_qualifyingcredit (credit_id, user_id, day, points, taken_back)
    SELECT credit_id, p_user_id, p_day, points, 0 FROM unnest(p_credit_ids, p_points) AS u(credit_id, points);
    INSERT INTO rewards_qualifyingday AS q (user_id, day, points)
    SELECT p_user_id, p_day, SUM(points) FROM unnest(p_points) AS u(points)
    ON CONFLICT (user_id, day) DO UPDATE SET points = q.points + EXCLUDED.points;
    RETURN tier_qualifying_points(p_user_id, p_window_before, p_today);
END $$;

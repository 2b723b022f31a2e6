-- Tiers' qualifying points: a credit that counts is recorded with its event's day, and the
-- customer's day bucket grows by it; a return takes back from both. The qualifying points are
-- the sum of the window's day buckets. The caller holds the customer's account row lock, so a
-- customer's buckets change one posting at a time.

-- A customer's qualifying points: their day buckets after p_window_before and up to p_today.
-- The one place they are summed: a credit's upgrade, the API and the jobs read it here.
CREATE OR REPLACE FUNCTION tier_qualifying_points(p_user_id bigint, p_window_before date, p_today date) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(points), 0)::bigint FROM rewards_qualifyingday
    WHERE user_id = p_user_id AND day > p_window_before AND day <= p_today
$$;

-- Record the qualifying credits of one event (their ids and points, on p_day) and answer the
-- customer's qualifying points in the window that ends on p_today.
CREATE OR REPLACE FUNCTION tier_qualify(
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

-- A return took back points of these credits: what counted of those that qualified goes down
-- by as much, on their own days. Credits that never qualified (a tier award, a credit made
-- with no ladder) are left alone.
CREATE OR REPLACE FUNCTION tier_take_back(p_credit_ids bigint[], p_points bigint[]) RETURNS void LANGUAGE sql AS $$
    WITH taken AS (
        UPDATE rewards_qualifyingcredit q SET taken_back = q.taken_back + u.points
        FROM unnest(p_credit_ids, p_points) AS u(credit_id, points)
        WHERE q.credit_id = u.credit_id
        RETURNING q.user_id, q.day, u.points
    ), per_day AS (
        SELECT user_id, day, SUM(points) AS points FROM taken GROUP BY user_id, day
    )
    UPDATE rewards_qualifyingday d SET points = d.points - per_day.points
    FROM per_day WHERE d.user_id = per_day.user_id AND d.day = per_day.day
$$;

-- A customer's tier standing, its row locked until commit (none: the lowest tier), after the
-- customer's account row lock: a qualifying credit takes both in this order, a staff floor too;
-- the requalification job locks standings only (SKIP LOCKED), so none of them deadlock.
CREATE OR REPLACE FUNCTION tier_standing_lock(p_user_id bigint, p_now timestamptz)
RETURNS SETOF rewards_tierstanding LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_account_lock(p_user_id, p_now, true);
    RETURN QUERY SELECT * FROM rewards_tierstanding WHERE user_id = p_user_id FOR UPDATE;
END $$;

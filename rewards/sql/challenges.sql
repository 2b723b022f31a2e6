-- Challenges' progress: what an event adds to it and what a return takes back of it, each one
-- call (rewards/services/challenges.py decides which challenges an event counts for, and
-- completes or cancels them with what these answer).

-- A trigger's active challenges: the one read of every order, purchase and activity (the partial
-- index challenge_active). A function, so its plan is made once per connection rather than at
-- every event.
CREATE OR REPLACE FUNCTION challenges_active(p_trigger text) RETURNS SETOF rewards_challenge LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT * FROM rewards_challenge WHERE status = 'active' AND trigger = p_trigger ORDER BY id;
END $$;

-- The longest run of consecutive days among a customer's contributions to a streak challenge in
-- one period: what a streak's progress is (a day missed starts a run again). Gaps and islands:
-- consecutive days minus their rank are one same date.
CREATE OR REPLACE FUNCTION challenge_streak_longest(p_challenge_id bigint, p_user_id bigint, p_period_start date)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT COALESCE(max(run), 0) FROM (
        SELECT count(*) AS run FROM (
            SELECT day - (row_number() OVER (ORDER BY day))::integer AS island
            FROM (
                SELECT DISTINCT day FROM rewards_challengecontribution
                WHERE challenge_id = p_challenge_id AND user_id = p_user_id AND period_start = p_period_start
            ) AS days
        ) AS numbered
        GROUP BY island
    ) AS runs
$$;

-- What counts toward a challenge with a rolling window: its contributions that occurred after
-- p_since, less what returns took back of them.
CREATE OR REPLACE FUNCTION challenge_window_sum(
    p_challenge_id bigint, p_user_id bigint, p_period_start date, p_since timestamptz
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(amount - taken_back), 0)::bigint FROM rewards_challengecontribution
    WHERE challenge_id = p_challenge_id AND user_id = p_user_id AND period_start = p_period_start
        AND occurred_at > p_since
$$;

-- A streak's progress once p_day is among a customer's contributions' days: the longest run of
-- consecutive days (one statement writing that day's contribution does not see it yet); when
-- p_day had one already, no run changes: the progress as it is.
CREATE OR REPLACE FUNCTION challenge_streak_with(
    p_challenge_id bigint, p_user_id bigint, p_period_start date, p_day date
) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM rewards_challengecontribution
        WHERE challenge_id = p_challenge_id AND user_id = p_user_id AND period_start = p_period_start AND day = p_day
    ) THEN (
        SELECT value FROM rewards_challengeprogress
        WHERE challenge_id = p_challenge_id AND user_id = p_user_id AND period_start = p_period_start
    ) ELSE (
        SELECT max(run) FROM (
            SELECT count(*) AS run FROM (
                SELECT day - (row_number() OVER (ORDER BY day))::integer AS island
                FROM (
                    SELECT day FROM rewards_challengecontribution
                    WHERE challenge_id = p_challenge_id AND user_id = p_user_id AND period_start = p_period_start
                    UNION SELECT p_day
                ) AS days
            ) AS numbered
            GROUP BY island
        ) AS runs
    ) END
$$;

-- One event's contributions to the challenges it counts for (the arrays, one entry each), under
-- the customer's account lock (taken here, so an event that posted nothing is serialised too),
-- in one statement for them all: each contribution written once (an event counts once per
-- challenge), its progress moved, and for each the progress now, what is measured against the
-- target (the rolling window's sum, else the progress) and whether that reaches a target no
-- completion of the period holds yet.
CREATE OR REPLACE FUNCTION challenge_progress_add(
    p_user_id bigint, p_source text, p_source_id bigint, p_occurred_at timestamptz, p_day date, p_now timestamptz,
    p_challenge_ids bigint[], p_period_starts date[], p_amounts bigint[], p_streaks boolean[],
    p_window_days integer[], p_targets bigint[]
) RETURNS TABLE (o_challenge_id bigint, o_period_start date, o_value bigint, o_measured bigint, o_reached boolean)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_account_lock(p_user_id, p_now, true);
    RETURN QUERY
    WITH args AS (
        SELECT * FROM unnest(p_challenge_ids, p_period_starts, p_amounts, p_streaks, p_window_days, p_targets)
            AS a(challenge_id, period_start, amount, streak, window_days, target)
    ), added AS (
        INSERT INTO rewards_challengecontribution AS c (
            challenge_id, user_id, period_start, source, source_id, occurred_at, day, amount, taken_back
        )
        SELECT a.challenge_id, p_user_id, a.period_start, p_source, p_source_id, p_occurred_at, p_day, a.amount, 0
        FROM args a
        ON CONFLICT DO NOTHING
        RETURNING c.challenge_id
    ), moved AS (
        INSERT INTO rewards_challengeprogress AS p (challenge_id, user_id, period_start, value, updated_at)
        SELECT a.challenge_id, p_user_id, a.period_start,
            CASE WHEN a.streak THEN challenge_streak_with(a.challenge_id, p_user_id, a.period_start, p_day)
                ELSE a.amount END,
            p_now
        FROM args a JOIN added d ON d.challenge_id = a.challenge_id
        ON CONFLICT (challenge_id, user_id, period_start) DO UPDATE SET
            value = CASE WHEN (SELECT a.streak FROM args a WHERE a.challenge_id = p.challenge_id)
                THEN EXCLUDED.value ELSE p.value + EXCLUDED.value END,
            updated_at = EXCLUDED.updated_at
        RETURNING p.challenge_id, p.period_start, p.value
    ), measured AS (
        SELECT m.challenge_id, m.period_start, m.value,
            CASE WHEN a.window_days IS NULL THEN m.value
                ELSE challenge_window_sum(m.challenge_id, p_user_id, m.period_start,
                        p_now - make_interval(days => a.window_days))
                    + CASE WHEN p_occurred_at > p_now - make_interval(days => a.window_days) THEN a.amount ELSE 0 END
                END AS measured,
            a.target
        FROM moved m JOIN args a ON a.challenge_id = m.challenge_id
    )
    SELECT m.challenge_id, m.period_start, m.value, m.measured,
        m.measured >= m.target AND NOT EXISTS (
            SELECT 1 FROM rewards_challengecompletion d
            WHERE d.challenge_id = m.challenge_id AND d.user_id = p_user_id
                AND d.period_start = m.period_start AND d.cancelled_at IS NULL)
    FROM measured m;
END $$;

-- An order's return, in the progress that counted it: spend gives back the returned cost
-- (p_cost, at most what is left of the contribution), orders the whole order once it is whole
-- returned (p_whole). Under the customer's account lock (taken here: a return that takes no
-- points back has not taken it). Answers each progress moved, as it is now.
CREATE OR REPLACE FUNCTION challenge_order_return(
    p_user_id bigint, p_order_id bigint, p_cost bigint, p_whole boolean, p_now timestamptz
) RETURNS TABLE (o_challenge_id bigint, o_period_start date, o_value bigint)
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM rewards_challengecontribution WHERE source = 'order' AND source_id = p_order_id) THEN
        RETURN;
    END IF;
    PERFORM ledger_account_lock(p_user_id, p_now, true);
    RETURN QUERY
    WITH due AS (
        SELECT c.id, c.taken_back AS was_taken,
            CASE WHEN ch.goal ->> 'metric' = 'spend' THEN LEAST(c.amount, c.taken_back + p_cost) ELSE c.amount END
                AS now_taken
        FROM rewards_challengecontribution c JOIN rewards_challenge ch ON ch.id = c.challenge_id
        WHERE c.source = 'order' AND c.source_id = p_order_id AND c.taken_back < c.amount
            AND (ch.goal ->> 'metric' = 'spend' OR (ch.goal ->> 'metric' = 'orders' AND p_whole))
        FOR UPDATE OF c
    ), taken AS (
        UPDATE rewards_challengecontribution AS c SET taken_back = due.now_taken
        FROM due WHERE c.id = due.id
        RETURNING c.challenge_id, c.user_id, c.period_start, due.now_taken - due.was_taken AS took
    )
    UPDATE rewards_challengeprogress AS p
    SET value = p.value - t.took, updated_at = p_now
    FROM taken t
    WHERE p.challenge_id = t.challenge_id AND p.user_id = t.user_id AND p.period_start = t.period_start
    RETURNING p.challenge_id, p.period_start, p.value;
END $$;

-- A frozen snapshot of rewards/sql/ (0047_challenge_progress_one_statement): what changed there; never edited.

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

-- A frozen snapshot of rewards/sql/ (0041_challenge_reads): what changed there; never edited.

-- A trigger's active challenges: the one read of every order, purchase and activity (the partial
-- index challenge_active). A function, so its plan is made once per connection rather than at
-- every event.
CREATE OR REPLACE FUNCTION challenges_active(p_trigger text) RETURNS SETOF rewards_challenge LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT * FROM rewards_challenge WHERE status = 'active' AND trigger = p_trigger ORDER BY id;
END $$;

-- One event's contributions to the challenges it counts for (the arrays, one entry each), under
-- the customer's account lock (taken here, so an event that posted nothing is serialised too):
-- each contribution written once (an event counts once per challenge), its progress moved, and
-- for each the progress now, what is measured against the target (the rolling window's sum,
-- else the progress) and whether that reaches a target no completion of the period holds yet.
CREATE OR REPLACE FUNCTION challenge_progress_add(
    p_user_id bigint, p_source text, p_source_id bigint, p_occurred_at timestamptz, p_day date, p_now timestamptz,
    p_challenge_ids bigint[], p_period_starts date[], p_amounts bigint[], p_streaks boolean[],
    p_window_days integer[], p_targets bigint[]
) RETURNS TABLE (o_challenge_id bigint, o_period_start date, o_value bigint, o_measured bigint, o_reached boolean)
LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    PERFORM ledger_account_lock(p_user_id, p_now, true);
    FOR i IN 1 .. COALESCE(array_length(p_challenge_ids, 1), 0) LOOP
        INSERT INTO rewards_challengecontribution AS c (
            challenge_id, user_id, period_start, source, source_id, occurred_at, day, amount, taken_back
        )
        VALUES (p_challenge_ids[i], p_user_id, p_period_starts[i], p_source, p_source_id, p_occurred_at, p_day,
            p_amounts[i], 0)
        ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND;
        IF p_streaks[i] THEN
            -- A day that had an event already changes no run: the progress stays as it is.
            SELECT p.value INTO o_value FROM rewards_challengeprogress p
            WHERE p.challenge_id = p_challenge_ids[i] AND p.user_id = p_user_id AND p.period_start = p_period_starts[i]
                AND (SELECT count(*) FROM rewards_challengecontribution d
                     WHERE d.challenge_id = p_challenge_ids[i] AND d.user_id = p_user_id
                         AND d.period_start = p_period_starts[i] AND d.day = p_day) > 1;
            IF NOT FOUND THEN
                o_value := challenge_streak_longest(p_challenge_ids[i], p_user_id, p_period_starts[i]);
                INSERT INTO rewards_challengeprogress AS p (challenge_id, user_id, period_start, value, updated_at)
                VALUES (p_challenge_ids[i], p_user_id, p_period_starts[i], o_value, p_now)
                ON CONFLICT (challenge_id, user_id, period_start)
                    DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at;
            END IF;
        ELSE
            INSERT INTO rewards_challengeprogress AS p (challenge_id, user_id, period_start, value, updated_at)
            VALUES (p_challenge_ids[i], p_user_id, p_period_starts[i], p_amounts[i], p_now)
            ON CONFLICT (challenge_id, user_id, period_start)
                DO UPDATE SET value = p.value + EXCLUDED.value, updated_at = EXCLUDED.updated_at
            RETURNING p.value INTO o_value;
        END IF;
        o_challenge_id := p_challenge_ids[i];
        o_period_start := p_period_starts[i];
        o_measured := CASE WHEN p_window_days[i] IS NULL THEN o_value
            ELSE challenge_window_sum(p_challenge_ids[i], p_user_id, p_period_starts[i],
                p_now - make_interval(days => p_window_days[i])) END;
        o_reached := false;
        IF o_measured >= p_targets[i] THEN
            o_reached := NOT EXISTS (
                SELECT 1 FROM rewards_challengecompletion d
                WHERE d.challenge_id = p_challenge_ids[i] AND d.user_id = p_user_id
                    AND d.period_start = p_period_starts[i] AND d.cancelled_at IS NULL);
        END IF;
        RETURN NEXT;
    END LOOP;
END $$;

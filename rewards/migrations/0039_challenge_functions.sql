-- A frozen snapshot of rewards/sql/ (0039_challenge_functions): what changed there; never edited.

-- The message an event writes (a kind of MessageKind), or NULL for none; the trigger's WHEN
-- clause below lets only these events reach message_outbox, so an event that writes no message
-- (an earn, an order) runs no function and reads no row.
CREATE OR REPLACE FUNCTION message_kind(p_type text, p_reward_kind text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_type = 'points.expiring_soon' THEN 'points_expiring'
        WHEN p_type = 'tier.upgraded' THEN 'tier_upgraded'
        WHEN p_type = 'tier.downgraded' THEN 'tier_downgraded'
        WHEN p_type = 'points.redeemed' AND p_reward_kind = 'coupon' THEN 'coupon_issued'
        WHEN p_type = 'coupon.expiring_soon' THEN 'coupon_expiring'
        WHEN p_type = 'points.earned' AND p_reward_kind = 'birthday' THEN 'birthday_award'
        WHEN p_type = 'challenge.completed' THEN 'challenge_completed'
        WHEN p_type = 'badge.awarded' THEN 'badge_given'
    END
$$;

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
            o_value := challenge_streak_longest(p_challenge_ids[i], p_user_id, p_period_starts[i]);
            INSERT INTO rewards_challengeprogress AS p (challenge_id, user_id, period_start, value, updated_at)
            VALUES (p_challenge_ids[i], p_user_id, p_period_starts[i], o_value, p_now)
            ON CONFLICT (challenge_id, user_id, period_start)
                DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at;
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
        o_reached := o_measured >= p_targets[i] AND NOT EXISTS (
            SELECT 1 FROM rewards_challengecompletion d
            WHERE d.challenge_id = p_challenge_ids[i] AND d.user_id = p_user_id
                AND d.period_start = p_period_starts[i] AND d.cancelled_at IS NULL);
        RETURN NEXT;
    END LOOP;
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

-- The hook: every event is written by ledger_event (rewards/sql/ledger.sql) or event_record
-- (rewards/services/events.py), and both pass here. The WHEN clause lets by, without running
-- the function, every event message_kind gives no message: it names the same types in plain
-- SQL, since PostgreSQL prepares a trigger's WHEN for each statement and inlining a function
-- there would cost an earn more (tests/rewards/test_messages.py checks the two agree).
CREATE OR REPLACE TRIGGER message_outbox AFTER INSERT ON rewards_event FOR EACH ROW
    WHEN (NEW.user_id IS NOT NULL AND (
        NEW.type IN ('points.expiring_soon', 'tier.upgraded', 'tier.downgraded', 'coupon.expiring_soon',
            'challenge.completed', 'badge.awarded')
        OR (NEW.type = 'points.redeemed' AND NEW.data -> 'reward' ->> 'kind' = 'coupon')
        OR (NEW.type = 'points.earned' AND NEW.data -> 'reward' ->> 'kind' = 'birthday')))
    EXECUTE FUNCTION message_outbox();

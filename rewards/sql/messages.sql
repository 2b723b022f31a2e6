-- Messages to customers: which events write a message, and the trigger on rewards_event that
-- writes it into the messages' outbox (rewards_message) in the event's own transaction. The
-- worker sends it (rewards/services/messages.py).

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

-- The topic a message kind belongs to: what the customer consents to (rewards_contact.topics).
CREATE OR REPLACE FUNCTION message_topic(p_kind text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_kind = 'points_expiring' THEN 'points_expiring'
        WHEN p_kind IN ('tier_upgraded', 'tier_downgraded') THEN 'tier_changes'
        WHEN p_kind IN ('coupon_issued', 'coupon_expiring') THEN 'coupons'
        WHEN p_kind IN ('challenge_completed', 'badge_given') THEN 'challenges'
        WHEN p_kind = 'birthday_award' THEN 'birthday'
    END
$$;

-- An event that writes a message: one message when the customer has a contact with an email
-- and the topic on (one primary-key lookup), none otherwise. One per event, topic and customer,
-- and a points_expiring message once per customer and day (UTC): the unique constraints of
-- rewards_message, a second one does nothing.
CREATE OR REPLACE FUNCTION message_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind text := message_kind(NEW.type, NEW.data -> 'reward' ->> 'kind');
    topic text := message_topic(kind);
    c rewards_contact;
BEGIN
    SELECT * INTO c FROM rewards_contact WHERE user_id = NEW.user_id;
    IF NOT FOUND OR c.email = '' OR NOT COALESCE((c.topics ->> topic)::boolean, false) THEN
        RETURN NULL;
    END IF;
    INSERT INTO rewards_message (
        user_id, event_id, topic, kind, day, state, attempts, next_attempt_at, last_error,
        to_email, language, subject, created_at
    )
    VALUES (
        NEW.user_id, NEW.id, topic, kind, (NEW.created_at AT TIME ZONE 'UTC')::date, 'pending', 0, now(), '',
        '', '', '', now()
    )
    ON CONFLICT DO NOTHING;
    RETURN NULL;
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

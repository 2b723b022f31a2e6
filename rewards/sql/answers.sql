-- Answers built whole in PostgreSQL, as the API writes JSON (compact, keys in the API's order):
-- a hot read hands these bytes on as they are, with no Python dict in between
-- (loyalty/lean.py, rewards/services/tiers.py). The live definition of each (see
-- rewards/sqlfiles.py).

-- A value as the API's JSON writes it; NULL is null. A time goes through ledger_iso first.
CREATE OR REPLACE FUNCTION answer_json(p_value anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(to_json(p_value)::text, 'null')
$$;

-- get-points' answer now: the customer's balance (zero for one never seen), with "tier" and
-- "tier_progress" null. While a tier ladder is set Python fills those two in (the tier
-- arithmetic lives in rewards/tiers.py), in place, so the keys keep this order. PL/pgSQL, whose
-- plan is cached per connection: a LANGUAGE sql function called from a larger query is planned
-- again on every call (twice the statement's time on the hot read).
CREATE OR REPLACE FUNCTION points_answer(p_user_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    a rewards_account;
BEGIN
    SELECT * INTO a FROM rewards_account WHERE user_id = p_user_id;
    RETURN '{"success":true,"user_id":' || p_user_id
        || ',"total_points":' || COALESCE(a.total_points_earned - a.total_points_redeemed, 0)
        || ',"total_points_earned":' || COALESCE(a.total_points_earned, 0)
        || ',"total_points_redeemed":' || COALESCE(a.total_points_redeemed, 0)
        || ',"pending_points":' || COALESCE(a.pending_points, 0)
        || ',"next_available_at":' || answer_json(ledger_iso(a.next_available_at))
        || ',"expiring_points":' || COALESCE(a.expiring_points, 0)
        || ',"next_expiry_at":' || answer_json(ledger_iso(a.next_expiry_at))
        || ',"tier":null,"tier_progress":null}';
END $$;

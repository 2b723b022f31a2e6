-- The same write as earn-points/: the account upsert, one ledger row, its lot and its outbox event,
-- one transaction.
\set user random(1000, 10999)
BEGIN;
INSERT INTO rewards_account AS a (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                                  expiring_points, version, created_at, updated_at)
VALUES (:user, 10, 0, 0, 0, 0, 1, now(), now())
ON CONFLICT (user_id) DO UPDATE SET total_points_earned = a.total_points_earned + excluded.total_points_earned,
    version = a.version + 1, updated_at = excluded.updated_at
RETURNING total_points_earned, total_points_redeemed;
WITH reward AS (
    INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                                earned_date, is_active, created_at)
    VALUES (:user, 'earn', 10, 0, 0, 'pgbench', now(), true, now()) RETURNING id
), lot AS (
    INSERT INTO rewards_pointlot (user_id, credit_id, points, remaining, pending, available_at, expired_points,
                                  cancelled_points, created_at)
    SELECT :user, id, 10, 10, false, now(), 0, 0, now() FROM reward RETURNING id
)
INSERT INTO rewards_event (type, user_id, reward_id, data, created_at)
SELECT 'points.earned', :user, reward.id,
       jsonb_build_object('reward', jsonb_build_object('id', reward.id, 'kind', 'earn', 'user_id', :user,
           'points_earned', 10, 'reward_description', 'pgbench', 'earned_date', now()),
           'balance', jsonb_build_object('total_points', 10, 'pending_points', 0)), now()
FROM reward, lot RETURNING id;
COMMIT;

-- The same write as earn-points/: one ledger row and the account upsert, one transaction.
\set user random(1000, 10999)
BEGIN;
INSERT INTO rewards_account AS a (user_id, total_points_earned, total_points_redeemed, created_at, updated_at)
VALUES (:user, 10, 0, now(), now())
ON CONFLICT (user_id) DO UPDATE SET total_points_earned = a.total_points_earned + excluded.total_points_earned,
    updated_at = excluded.updated_at
RETURNING total_points_earned, total_points_redeemed;
INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, reward_description, earned_date,
                            is_active, created_at)
VALUES (:user, 'earn', 10, 0, 'pgbench', now(), true, now()) RETURNING id;
COMMIT;

-- The same write as earn-points/: one call of the ledger's credit function (the account row, one
-- ledger row, its lot and its outbox event), its own transaction.
\set user random(1000, 10999)
SELECT * FROM ledger_credit(:user, 10, 'earn', 'pgbench', NULL, now(), now(), false, now(), NULL,
                            now() + interval '30 days', '', 'points.earned', NULL);

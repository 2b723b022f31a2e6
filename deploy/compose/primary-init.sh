#!/bin/bash
# Runs once, when the primary's data directory is created (docker-entrypoint-initdb.d).
# Streaming replicas connect with the application's role; and the database carries the
# app's session bounds itself, because behind PgBouncer's transaction pooling the app
# cannot set them per connection.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
ALTER DATABASE ${POSTGRES_DB} SET statement_timeout = 5000;
ALTER DATABASE ${POSTGRES_DB} SET lock_timeout = 100;
ALTER DATABASE ${POSTGRES_DB} SET idle_in_transaction_session_timeout = 10000;
ALTER DATABASE ${POSTGRES_DB} SET timezone = 'UTC';
SQL

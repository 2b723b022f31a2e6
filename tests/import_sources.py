"""The layouts of the two systems this service replaces, as the import tests and the import
benchmark build their sources (no Django here: the benchmark imports it bare)."""

# The rewards system (CPS714): Django on SQLite.
CPS714_SCHEMA = """
CREATE TABLE rewards_reward (
    reward_id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id integer NOT NULL,
    points_earned integer NOT NULL,
    points_redeemed integer NOT NULL,
    reward_description varchar(255) NOT NULL,
    is_active bool NOT NULL,
    earned_date datetime NULL,
    redeemed_date datetime NULL
);
CREATE TABLE rewards_redeemeditem (
    reward_id integer NOT NULL PRIMARY KEY REFERENCES rewards_reward (reward_id),
    item_code varchar(16) NULL UNIQUE,
    item_description varchar(255) NOT NULL,
    amount real NULL
);
"""

# The CLP API: FastAPI on PostgreSQL.
CLP_SCHEMA = """
CREATE TABLE applications (app_id uuid PRIMARY KEY, app_name varchar(30) NOT NULL, secret varchar(64) NOT NULL);
CREATE TABLE users (user_id bigint PRIMARY KEY, current_balance double precision, num_of_deleted_orders integer);
CREATE TABLE orders (
    order_id bigint PRIMARY KEY, user_id bigint NOT NULL, total_cost double precision, completed_at bigint
);
"""

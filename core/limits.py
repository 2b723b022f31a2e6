"""The limits every layer shares: the range a points column holds, and the most one ledger
entry may move."""

MAX_BIGINT = 2**63 - 1  # PostgreSQL bigint: the range of every points column
# One ledger entry credits at most this many points, whatever its kind.
MAX_POINTS_PER_ENTRY = 1_000_000_000

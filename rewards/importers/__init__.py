"""Taking over customers from the systems this service replaces: the shared machinery (``base``:
reading a source, the report, posting a batch through the ledger's functions), the rewards
system's importer (``cps714``) and the CSV balances importer (``balances_csv``). The CLP's
importer builds on ``base`` and lives in ``loyalty`` (``loyalty/services/clp.py``): rewards
imports nothing of loyalty."""

from rewards.importers.balances_csv import balances_csv_import
from rewards.importers.base import ImportRefused, ImportReport
from rewards.importers.cps714 import cps714_import

__all__ = ["ImportRefused", "ImportReport", "balances_csv_import", "cps714_import"]

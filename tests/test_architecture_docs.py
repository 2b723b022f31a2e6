"""docs/ARCHITECTURE.md names the file that holds each rule: its table of the ledger's functions
lists every function of rewards/sql/*.sql beside the file that defines it, and no other; and
every file of the project it names is there."""

import re
from pathlib import Path

from rewards.sqlfiles import LIVE_DIR, LIVE_FILES, definitions

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "ARCHITECTURE.md").read_text()

# A row of the functions' table: the functions it is about, then the file that holds them.
_FUNCTIONS_ROW = re.compile(r"^\| (?P<names>`\w+`(?:, `\w+`)*) \| `(?P<file>rewards/sql/\w+\.sql)` \|", re.MULTILINE)
_PATH = re.compile(r"`((?:rewards|loyalty|core|tests|deploy|bench)/[\w./-]*|services/[\w./-]+)`")


def test_the_functions_table_names_every_live_function_with_its_file():
    documented = {
        name: row["file"]
        for row in _FUNCTIONS_ROW.finditer(ARCHITECTURE)
        for name in re.findall(r"`(\w+)`", row["names"])
    }
    live = {
        name: f"rewards/sql/{file}"
        for file in LIVE_FILES
        for name in definitions((LIVE_DIR / file).read_text())
        if not name.startswith(("type ", "trigger "))  # a trigger is named with its function
    }
    assert documented == live


def test_every_file_it_names_exists():
    named = set(_PATH.findall(ARCHITECTURE))
    # ``services/…`` is short for the rewards app's services, as the tables write it.
    missing = sorted(
        path for path in named if not (ROOT / ("rewards/" if path.startswith("services/") else "") / path).exists()
    )
    assert missing == []

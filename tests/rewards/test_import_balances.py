"""Balances from a CSV file: user_id,points[,description]."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rewards.importers.balances_csv import balances_csv_import
from rewards.models import ImportedRow, Reward
from rewards.selectors import account_balance, ledger_drift
from rewards.services import points_earn


def test_each_line_is_a_ledger_row_and_odd_lines_are_reported(tmp_path, db):
    points_earn(user_id=12, points=5, description="Here first", app=None)
    path = tmp_path / "balances.csv"
    path.write_text(
        "\ufeffuser_id,points,description\n"
        "11,250,Opening balance\n"
        "12,100\n"
        '13,-40,"Owed, from the old till"\n'
        "\n"
        "abc,10\n"
        "14,0\n"
        "15,1.5\n"
        "16,10,a,b\n"
        "17,+20,Plus sign\n",
        encoding="utf-8",
    )

    report = balances_csv_import(path)

    assert {user: account_balance(user_id=user).total_points for user in (11, 12, 13)} == {11: 250, 12: 105, 13: -40}
    rows = Reward.objects.filter(imported_from="csv").order_by("user_id")
    assert [(r.user_id, r.kind, r.points_earned, r.points_redeemed, r.reward_description) for r in rows] == [
        (11, "import", 250, 0, "Opening balance"),
        (12, "import", 100, 0, "Balance imported from balances.csv"),
        (13, "import", 0, 40, "Owed, from the old till"),
    ]
    assert (report.counts["ledger rows"], report.counts["customers"], report.counts["customers below zero"]) == (
        3,
        3,
        1,
    )
    assert [(anomaly.problem, anomaly.row.split(",")[0]) for anomaly in report.anomalies] == [
        ("user_id is not a positive integer", "line=6"),
        ("points is not a whole number between -1,000,000,000 and 1,000,000,000 other than 0", "line=7"),
        ("points is not a whole number between -1,000,000,000 and 1,000,000,000 other than 0", "line=8"),
        ("not 2 or 3 columns", "line=9"),
        ("points is not a whole number between -1,000,000,000 and 1,000,000,000 other than 0", "line=10"),
        ("balance below zero", "user_id=13"),
    ]
    assert ledger_drift() == []

    again = balances_csv_import(path)
    assert again.counts["rows already imported"] == 8 and again.counts["ledger rows"] == 0
    assert account_balance(user_id=11).total_points == 250


def test_a_dry_run_and_a_broken_file_write_nothing(tmp_path, db):
    path = tmp_path / "b.csv"
    path.write_text("21,30\n22,40\n")
    report = balances_csv_import(path, dry_run=True)
    assert report.counts["ledger rows"] == 2 and not Reward.objects.filter(imported_from="csv").exists()

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"21,30\n22,\xff\xfe40\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_balances", str(broken))
    assert not Reward.objects.filter(imported_from="csv").exists() and not ImportedRow.objects.exists()

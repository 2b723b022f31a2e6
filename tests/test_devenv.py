"""How a second terminal reaches `make run`'s service (rewards_project/devenv.py): the address
file is read only with no DATABASE_URL and while the make run that wrote it runs, and says so;
a database that cannot be used gets a hint for the way it was found; the filesystem broker
queues from any process of this machine with nothing installed."""

import os
import subprocess
import sys

import pytest

from rewards_project.devenv import (
    DEFAULT_DATABASE_URL,
    database_hint,
    dev_env_load,
    dev_env_read,
    dev_env_remove,
    dev_env_write,
    development_signing_key,
)
from tests.live import ROOT, TEST_SECRET_KEY, database_url

VALUES = {
    "DATABASE_URL": "postgres://postgres@/rewards?host=/somewhere/.pgdata",
    "CELERY_BROKER_URL": "filesystem://localhost/somewhere/.run/broker",
    "DEBUG": "1",
    "WEBHOOK_ALLOW_PRIVATE": "1",
}


def a_finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_file_is_the_owners_alone_and_read_back_whole(tmp_path):
    path = tmp_path / ".run" / "dev.env"
    dev_env_write(VALUES, pid=os.getpid(), path=path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert dev_env_read(path) == {"MAKE_RUN_PID": str(os.getpid()), **VALUES}


def test_with_no_database_url_a_running_make_runs_file_is_read_and_said(tmp_path, capsys):
    path = tmp_path / "dev.env"
    dev_env_write(VALUES, pid=os.getpid(), path=path)
    environ = {"DEBUG": "0"}  # what the shell sets wins

    assert dev_env_load(path, environ) is True

    assert environ == {**VALUES, "DEBUG": "0"}
    assert capsys.readouterr().err == (
        f"DATABASE_URL is not set: using the database and broker of `make run` ({path}).\n"
    )


def test_a_process_given_its_database_never_reads_it(tmp_path, capsys):
    path = tmp_path / "dev.env"
    dev_env_write(VALUES, pid=os.getpid(), path=path)
    environ = {"DATABASE_URL": "postgres://u@db.example/prod"}

    assert dev_env_load(path, environ) is False

    assert environ == {"DATABASE_URL": "postgres://u@db.example/prod"}
    assert capsys.readouterr().err == ""


def test_a_file_left_by_a_make_run_that_is_gone_is_ignored_and_said(tmp_path, capsys):
    path = tmp_path / "dev.env"
    dev_env_write(VALUES, pid=a_finished_pid(), path=path)
    environ: dict[str, str] = {}

    assert dev_env_load(path, environ) is False

    assert environ == {}
    assert "is no longer running" in capsys.readouterr().err


def test_no_file_is_no_word(tmp_path, capsys):
    environ: dict[str, str] = {}
    assert dev_env_load(tmp_path / "dev.env", environ) is False
    assert environ == {}
    assert capsys.readouterr().err == ""


def test_only_the_make_run_that_wrote_it_removes_it(tmp_path):
    path = tmp_path / "dev.env"
    dev_env_write(VALUES, pid=os.getpid(), path=path)
    dev_env_remove(pid=os.getpid() + 1, path=path)
    assert path.exists()
    dev_env_remove(pid=os.getpid(), path=path)
    assert not path.exists()


def test_the_hint_points_at_where_the_database_was_looked_for():
    missing = 'connection to server failed: FATAL:  database "rewards" does not exist'
    assert database_hint(missing, from_dev_env=False, url="postgres://app@db.example:6432/rewards") == (
        f"Cannot use the database in DATABASE_URL: {missing}. Create it first (`createdb -h db.example -p 6432"
        " -U app rewards`), or unset DATABASE_URL and use `make run`, which starts an embedded PostgreSQL"
        " (a second terminal then finds it by itself)."
    )
    socket = database_hint(missing, from_dev_env=False, url="postgres://postgres@/shop?host=/run/postgresql")
    assert "`createdb -h /run/postgresql -p 5432 -U postgres shop`" in socket
    unset = database_hint(missing, from_dev_env=False, url=None)
    assert "createdb" not in unset
    assert (
        f"DATABASE_URL is not set and no `make run` is running, so this tried the default, {DEFAULT_DATABASE_URL}"
        in unset
    )
    gone = database_hint("No such file or directory", from_dev_env=True, url=VALUES["DATABASE_URL"])
    assert gone == (
        "Cannot use the database of `make run` (.run/dev.env): No such file or directory. "
        "Is `make run` still running? Otherwise set DATABASE_URL."
    )


@pytest.mark.django_db
def test_manage_py_names_the_database_it_could_not_find():
    url = database_url("no_such_database_here")
    result = subprocess.run(
        [sys.executable, "manage.py", "check_ledger"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rewards_project.settings", "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Cannot use the database in DATABASE_URL: ")
    assert 'database "no_such_database_here" does not exist' in result.stderr
    assert "no_such_database_here`), or unset DATABASE_URL and use `make run`" in result.stderr


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "rewards_project.settings",
            "SECRET_KEY": TEST_SECRET_KEY,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_web_process_queues_a_delivery_on_the_filesystem_broker(tmp_path):
    """What runserver does when events commit under `make run`: a message in the broker's
    folder, for whichever worker reads it, with nothing but the project installed."""
    broker = tmp_path / "broker"
    code = "import django; django.setup()\nfrom loyalty.tasks import deliver_webhooks\ndeliver_webhooks.delay()\n"
    result = run_python(code, CELERY_BROKER_URL=f"filesystem://localhost{broker}")
    assert result.returncode == 0, result.stderr
    messages = list((broker / "queue").iterdir())
    assert [m.name.endswith(".celery.msg") for m in messages] == [True]
    assert "loyalty.tasks.deliver_webhooks" in messages[0].read_text()
    assert (broker / "control" / "celery.exchange").exists()


def test_a_filesystem_broker_names_a_folder_of_this_machine(tmp_path):
    result = run_python("import django; django.setup()", CELERY_BROKER_URL="filesystem://elsewhere/x")
    assert result.returncode == 1
    assert "A filesystem broker is filesystem://localhost/an/absolute/folder, not 'filesystem://elsewhere/x'." in (
        result.stderr
    )


def test_make_runs_signing_key_is_made_once_for_its_owner_and_kept(tmp_path):
    path = tmp_path / ".run" / "ledger-signing-key"

    key, new = development_signing_key(path)
    again, new_again = development_signing_key(path)

    assert (new, new_again) == (True, False) and again == key
    assert len(key) == 64 and bytes.fromhex(key)
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("not a key")
    assert development_signing_key(path)[0] != key

"""gunicorn 25+ opens a control socket (for gunicornc) by default in ~/.gunicorn/ or
$XDG_RUNTIME_DIR, one path shared by every gunicorn of the user: the project's config opens it
only where GUNICORN_CONTROL_SOCKET says, and `make serve` (deploy/serve.sh) puts it in its run
folder."""

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import edge_serving, gunicorn_serving

pytestmark = pytest.mark.django_db(transaction=True)

GUNICORNC = Path(sys.executable).parent / "gunicornc"


def is_socket(path: Path, wait: float = 10) -> bool:
    """Whether a socket is there (the master opens it just after its workers start, which may
    be after they answer)."""
    deadline = time.monotonic() + wait
    while not (path.exists() and stat.S_ISSOCK(path.stat().st_mode)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def workers_via(control: Path) -> list:
    shown = subprocess.run(
        [str(GUNICORNC), "-s", str(control), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(shown.stdout)["workers"]


def test_gunicorn_opens_no_control_socket_in_the_users_home(collected_static, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with gunicorn_serving(collected_static, env=env):
        assert not is_socket(home / ".gunicorn" / "gunicorn.ctl", wait=3)
    assert not (home / ".gunicorn").exists()


def test_gunicorn_opens_its_control_socket_where_told(collected_static, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    control = tmp_path / "gunicorn.ctl"
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": "", "GUNICORN_CONTROL_SOCKET": str(control)}
    with gunicorn_serving(collected_static, env=env, workers=2):
        assert is_socket(control)
        assert len(workers_via(control)) == 2
    assert not (home / ".gunicorn").exists()


def test_make_serve_keeps_the_control_socket_in_its_run_folder(collected_static, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    run_dir = tmp_path / "serve"
    run_dir.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": ""}
    with edge_serving(collected_static, workers=2, env=env, run_dir=run_dir):
        assert is_socket(run_dir / "gunicorn.ctl")
        assert len(workers_via(run_dir / "gunicorn.ctl")) == 2
    assert not (home / ".gunicorn").exists()

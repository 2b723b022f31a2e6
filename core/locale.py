"""The gettext catalogues compiled from their sources: ``.po`` files are kept in git, their
compiled ``.mo`` files never are (generated files stay out of the repository). They are compiled
with polib (a pure-Python package of requirements.txt), so a machine with only Python builds
them: at the project's startup when one is missing or older than its source (core/apps.py), and
by ``python -m core.locale`` (the Dockerfile, ``make run``, ``make test``)."""

import logging
import sys
from pathlib import Path

import polib

logger = logging.getLogger(__name__)


def catalogues(locale_paths: list[Path]) -> list[Path]:
    """Every ``.po`` file under the locale folders."""
    return sorted(po for folder in locale_paths for po in Path(folder).glob("*/LC_MESSAGES/*.po"))


def catalogues_compile(locale_paths: list[Path], *, force: bool = False) -> list[Path]:
    """Compile each catalogue whose ``.mo`` is missing or older than its ``.po``; the ones written."""
    written = []
    for po in catalogues(locale_paths):
        mo = po.with_suffix(".mo")
        if force or not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            polib.pofile(str(po)).save_as_mofile(str(mo))
            written.append(mo)
    return written


def catalogues_compile_at_startup(locale_paths: list[Path]) -> None:
    """At startup: compile what is missing; a read-only install (compiled at build) only logs."""
    try:
        catalogues_compile(locale_paths)
    except OSError:
        logger.warning("The gettext catalogues could not be compiled; texts stay in English.", exc_info=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    folders = [Path(__file__).resolve().parent.parent / "rewards" / "locale"]
    for path in catalogues_compile(folders, force="--force" in sys.argv):
        print(f"compiled {path}")

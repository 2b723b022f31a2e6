"""The gettext catalogues are complete: every text the rewards app marks for translation (its
templates and its Python) is in the English and French catalogues, translated, none fuzzy or
left over; and the compiled catalogues are built from them with Python alone (polib)."""

import ast
import re
from pathlib import Path

import polib
from django.utils.translation.template import templatize

from core.locale import catalogues_compile

REWARDS = Path(__file__).resolve().parents[2] / "rewards"
LOCALE = REWARDS / "locale"
_TEMPLATE_CALL = re.compile(r"\b(gettext|ngettext|pgettext|npgettext)\((u?'(?:[^'\\]|\\.)*')")
PLACEHOLDER = r"%\(\w+\)s|\{\w+\}"
_PYTHON_CALLS = {"gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "_"}


def marked() -> set[str]:
    """Every msgid the app marks: ``{% translate %}``/``{% blocktranslate %}`` in its templates
    (as Django's makemessages reads them) and gettext calls in its Python."""
    found: set[str] = set()
    for template in REWARDS.glob("templates/**/*.*"):
        for match in _TEMPLATE_CALL.finditer(templatize(template.read_text(), origin=str(template))):
            found.add(ast.literal_eval(match[2]))
    for module in REWARDS.rglob("*.py"):
        if "migrations" in module.parts:
            continue
        for call in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(call, ast.Call)
                and getattr(call.func, "id", getattr(call.func, "attr", None)) in _PYTHON_CALLS
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)
            ):
                found.add(call.args[0].value)
    return found


def test_the_app_marks_texts_for_translation():
    texts = marked()
    assert "Unsubscribe" in texts and "%(points)s point expires soon" in texts
    assert len(texts) >= 35


def test_the_french_and_english_catalogues_hold_every_text_translated():
    texts = marked()
    for language in ("en", "fr"):
        catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
        entries = {entry.msgid: entry for entry in catalogue if not entry.obsolete}
        assert sorted(texts - set(entries)) == [], f"missing from {language}: run makemessages and translate"
        untranslated = [e.msgid for e in catalogue.untranslated_entries()]
        assert untranslated == [], f"untranslated in {language}"
        assert [e.msgid for e in catalogue.fuzzy_entries()] == [], f"fuzzy in {language}"
        assert catalogue.obsolete_entries() == []
        for entry in entries.values():
            # Each placeholder of the English (%(name)s in Python and templates, {name} in the
            # page's script) is in every translation, and nothing else.
            placeholders = sorted(re.findall(PLACEHOLDER, entry.msgid))
            translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
            for translation in translations:
                assert sorted(re.findall(PLACEHOLDER, translation)) == placeholders, (language, entry.msgid)
        if language == "fr":
            assert catalogue.metadata["Plural-Forms"] == "nplurals=2; plural=(n > 1);"


def test_the_compiled_catalogues_are_built_by_python_alone(tmp_path):
    folder = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_bytes((LOCALE / "fr" / "LC_MESSAGES" / "django.po").read_bytes())

    assert catalogues_compile([tmp_path / "locale"]) == [folder / "django.mo"]
    assert catalogues_compile([tmp_path / "locale"]) == []  # up to date: nothing to do
    compiled = polib.mofile(str(folder / "django.mo"))
    assert compiled.find("Unsubscribe").msgstr == "Se désinscrire"

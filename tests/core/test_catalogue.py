"""The Japanese catalogues are complete and in step with the code.

The code and templates are copied into a scratch folder and `makemessages -l ja` runs
there (the repository's .po files are never touched), which extracts every string marked
for translation as of now, into the same catalogues the repository keeps (each app's
locale/, and the project's locale/ for templates/, config/ and demo/). Each string found
must be in the committed catalogue with a Japanese translation that is not empty, not
fuzzy, and carries exactly the placeholders of the English (%(name)s, %s, {name}).
Every offender is reported with the file:line it comes from.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The extensions `make catalogues` extracts from: the Markdown pack is a template too.
EXTRACT_OPTIONS = ["--extension", "html,txt,py,md", "--add-location=full"]
# What makemessages scans: everything the product runs (not tests/, bench/, scripts/).
SOURCES = ["manage.py", "config", "core", "cost", "roadmap", "demo", "templates"]
LANGUAGE = "ja"
# %(name)s, %s, %d, %.1f ... (not %%); {name} or {} of str.format (not {{ or }}).
PRINTF = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
BRACES = re.compile(r"(?<!\{)\{\w*(?:![rsa])?(?::[^{}]*)?\}(?!\})")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str | None, str]:
        return self.msgctxt, self.msgid


def read_catalogue(path: Path) -> dict[tuple[str | None, str], Entry]:
    """The live entries of a .po file (no header, no obsolete #~ entries)."""
    entries: dict[tuple[str | None, str], Entry] = {}
    entry, part, index = Entry(), "", 0

    def finish() -> None:
        nonlocal entry, part
        if part and entry.msgid:
            entries[entry.key] = entry
        entry, part = Entry(), ""

    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#:"):
            entry.references += line[2:].split()
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if part == "msgstr":
                entry.msgstr[index] += text
            else:
                setattr(entry, part, getattr(entry, part) + text)
        else:
            keyword, _space, quoted = line.partition(" ")
            if keyword in ("msgid", "msgctxt") and part.startswith("msgstr"):
                finish()
            text = ast.literal_eval(quoted)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if "[" in keyword else 0
                entry.msgstr[index] = text
                part = "msgstr"
            else:
                part = keyword
                setattr(entry, keyword, text)
    finish()
    return entries


def placeholders(text: str) -> Counter[str]:
    text = text.replace("%%", "")
    return Counter(PRINTF.findall(text)) + Counter(BRACES.findall(text))


def _where(entry: Entry) -> str:
    return ", ".join(entry.references) or "?"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def problems_of(found: Entry, committed: Entry | None) -> list[str]:
    """What is wrong with one string found in the code, against its committed entry."""
    if committed is None:
        return ["not in the catalogue (run makemessages -l ja and translate it)"]
    wrong = []
    translations = [committed.msgstr.get(i, "") for i in sorted(committed.msgstr) or [0]]
    if not any(translations) or not all(translations):
        wrong.append("no Japanese translation")
    elif "fuzzy" in committed.flags:
        wrong.append("translation marked fuzzy (check it, then remove the flag)")
    else:
        english = placeholders(found.msgid_plural or found.msgid)
        for translation in translations:
            japanese = placeholders(translation)
            if japanese != english:
                dropped = sorted((english - japanese).elements())
                added = sorted((japanese - english).elements())
                detail = "; ".join(
                    part
                    for part in (
                        f"drops {' '.join(dropped)}" if dropped else "",
                        f"adds {' '.join(added)}" if added else "",
                    )
                    if part
                )
                wrong.append(f"placeholders differ from the English: {detail}")
                break
    return wrong


def extract_now(scratch: Path) -> None:
    """makemessages over a copy of the code, into empty catalogues laid out like ours."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext not found: install GNU gettext (make system-packages)")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, scratch / name, ignore=shutil.ignore_patterns("locale", "__pycache__")
            )
        else:
            shutil.copy2(source, scratch / name)
    for catalogue in committed_catalogues():
        (scratch / catalogue.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "DEBUG": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    environment.pop("DATABASE_URL", None)  # makemessages opens no database
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", LANGUAGE, *EXTRACT_OPTIONS],
        cwd=scratch,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )


def committed_catalogues() -> list[Path]:
    return sorted(
        path
        for path in ROOT.glob(f"**/locale/{LANGUAGE}/LC_MESSAGES/django.po")
        if ".venv" not in path.parts
    )


@pytest.fixture(scope="module")
def offenders(tmp_path_factory) -> list[str]:
    scratch = tmp_path_factory.mktemp("catalogue")
    extract_now(scratch)
    found_by_catalogue = {
        path.relative_to(scratch): read_catalogue(path)
        for path in scratch.glob(f"**/locale/{LANGUAGE}/LC_MESSAGES/django.po")
    }
    assert found_by_catalogue, "makemessages extracted nothing"
    report = []
    for relative, found in sorted(found_by_catalogue.items()):
        committed_path = ROOT / relative
        committed = read_catalogue(committed_path) if committed_path.exists() else {}
        for key, entry in found.items():
            for problem in problems_of(entry, committed.get(key)):
                report.append(f"{_where(entry)}: {problem}: “{_short(entry.msgid)}” ({relative})")
    return report


def test_every_string_in_the_code_has_a_japanese_translation_with_its_placeholders(offenders):
    assert not offenders, f"{len(offenders)} strings need work:\n" + "\n".join(offenders)


# The reader and the checks above, on hand-written catalogues.


def _po(tmp_path: Path, text: str) -> dict[tuple[str | None, str], Entry]:
    path = tmp_path / "django.po"
    path.write_text('msgid ""\nmsgstr ""\n"Language: ja\\n"\n\n' + text, encoding="utf-8")
    return read_catalogue(path)


def test_the_reader_takes_references_flags_plurals_contexts_and_continued_lines(tmp_path):
    entries = _po(
        tmp_path,
        "#: core/a.py:3 core/b.py:9\n#, python-format\n"
        'msgid ""\n"Hello %(name)s, "\n"welcome"\nmsgstr "ようこそ、%(name)sさん"\n\n'
        '#: t.html:1\nmsgctxt "month"\nmsgid "May"\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] "%(n)s日"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "消えた"\n',
    )
    assert set(entries) == {
        (None, "Hello %(name)s, welcome"),
        ("month", "May"),
        (None, "%(n)s day"),
    }
    hello = entries[None, "Hello %(name)s, welcome"]
    assert hello.references == ["core/a.py:3", "core/b.py:9"]
    assert hello.msgstr == {0: "ようこそ、%(name)sさん"}
    days = entries[None, "%(n)s day"]
    assert (days.msgid_plural, days.msgstr, "fuzzy" in days.flags) == (
        "%(n)s days",
        {0: "%(n)s日"},
        True,
    )


def test_each_kind_of_fault_is_named(tmp_path):
    committed = _po(
        tmp_path,
        'msgid "Saved."\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Open"\nmsgstr "開く"\n\n'
        'msgid "%(count)s items in %(quarter)s"\nmsgstr "%(count)s 件"\n\n'
        'msgid "{team} asked"\nmsgstr "{team}と{who}が依頼"\n\n'
        'msgid "%s of %s"\nmsgstr "%s / %s"\n\n'
        'msgid "100%% sure"\nmsgstr "100%%確実"\n',
    )

    def check(msgid: str, plural: str | None = None) -> list[str]:
        return problems_of(Entry(msgid=msgid, msgid_plural=plural), committed.get((None, msgid)))

    assert check("New string") == ["not in the catalogue (run makemessages -l ja and translate it)"]
    assert check("Saved.") == ["no Japanese translation"]
    assert check("Open") == ["translation marked fuzzy (check it, then remove the flag)"]
    assert check("%(count)s items in %(quarter)s") == [
        "placeholders differ from the English: drops %(quarter)s"
    ]
    assert check("{team} asked") == ["placeholders differ from the English: adds {who}"]
    assert check("%s of %s") == []
    assert check("100%% sure") == []

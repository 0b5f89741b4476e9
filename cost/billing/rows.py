"""The rules every billing export row must follow, checked in Python: the slow, precise
pass that names the file, line and field of each problem (`BadInput`).

The DuckDB query in cost.billing.files checks the same rules per fact, fast; when it
finds a breach, the rows are read again here (`json_lines`, `check_row`) to say where.
"""

import datetime
import gzip
import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from django.utils.translation import gettext as _

from core.money import ISO_CURRENCIES
from core.times import TimeWindow

MAX_ERRORS = 20


class BadInput(Exception):
    """One problem in one place of one file."""

    def __init__(
        self, file: str, line: int | None, field: str | None, message: str, unit: str = "line"
    ):
        super().__init__(message)
        self.file, self.line, self.field, self.message = file, line, field, message
        self.unit = unit  # "line" of a text file, "row" of a Parquet file

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"{self.unit} {self.line}")
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}"


# --- Row rules (Python; the query checks the same, per fact where it can) -----------------


TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?( ?UTC|Z|[+-]\d{2}:\d{2})?", re.ASCII
)
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
# Far above any real row; below what DECIMAL(38, 18) holds, so SQL never refuses a
# number Python accepted. A day's sum must also fit the billionths column (9.2e9).
LARGEST_AMOUNT = Decimal("1e15")
SMALLEST_RATE = Decimal("1e-9")


def parse_timestamp(value: object) -> datetime.datetime | None:
    """`2020-11-09 23:00:00 UTC`, RFC 3339, or a zone-less time taken as UTC. Stricter than
    Python's fromisoformat, so that it never accepts a time the SQL side refuses."""
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value.strip()):
        return None
    text = value.strip().replace(" UTC", "+00:00").replace("UTC", "+00:00")
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and not NUMBER.fullmatch(value.strip()):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or abs(number) >= LARGEST_AMOUNT:
        return None
    return number


def _not_a_number(value: object) -> str:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            if abs(Decimal(str(value).strip())) >= LARGEST_AMOUNT:
                return f"{value!r} is larger than any real amount"
        except InvalidOperation:
            pass
    return f"{value!r} is not a number"


def _label_problems(path: str, value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        return []
    problems, seen = [], set()
    for index, label in enumerate(value):
        key = label.get("key") if isinstance(label, dict) else None
        if not isinstance(key, str) or not key:
            problems.append((f"{path}[{index}].key", "missing"))
        elif key in seen:
            problems.append((f"{path}[{index}].key", f"{key!r} appears twice"))
        else:
            seen.add(key)
        if isinstance(label, dict):
            for part in ("key", "value"):
                if isinstance(label.get(part), str) and "\x00" in label[part]:
                    problems.append((f"{path}[{index}].{part}", NUL))
    return problems


def unstorable(text: str) -> str | None:
    """Why the database would refuse this text, or None. PostgreSQL refuses NUL in text
    and JSON (SQLite takes it), and neither stores half a surrogate pair, which JSON can
    write ("\\ud800") and json.loads returns."""
    if "\x00" in text:
        return NUL
    if _has_surrogate(text):
        return SURROGATE
    return None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


NUL = "contains a NUL character (\\u0000)"
SURROGATE = "contains half a surrogate pair (\\ud800-\\udfff)"
# The text fields a fact keeps (cost.billing.facts.DailyFact), besides labels, credits
# and the currency: PostgreSQL would refuse a NUL in any of them.
STORED_TEXT = (
    "billing_account_id", "service.id", "service.description", "sku.id", "sku.description",
    "project.id", "project.name", "project.number", "project.ancestry_numbers",
    "location.location", "location.region", "cost_type", "usage.unit", "usage.pricing_unit",
    "resource.name", "resource.global_name",
)  # fmt: skip


def _surrogates(value: object, path: str = "") -> Iterator[str]:
    """The fields, anywhere in the row, holding half a surrogate pair: the SQL reader
    cannot read such a line at all, whatever the field."""
    if isinstance(value, str):
        if _has_surrogate(value):
            yield path or "-"
    elif isinstance(value, dict):
        for key, item in value.items():
            name = str(key).encode("utf-8", "backslashreplace").decode()  # printable
            inside = f"{path}.{name}" if path else name
            if _has_surrogate(str(key)):
                yield inside
            yield from _surrogates(item, inside)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _surrogates(item, f"{path}[{index}]")


def _get(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _time_problem(value: object, window: TimeWindow) -> str | None:
    """Why a usage or export time is refused: not a time, or outside the window."""
    moment = parse_timestamp(value)
    if moment is None:
        return f"{value!r} is not a time"
    if not window.holds(moment):
        return window.outside(value)
    return None


def check_row(row: object, *, window: TimeWindow) -> list[tuple[str, str]]:
    """(field, message) for every rule the row breaks; the same rules as the SQL. Times
    and the invoice month must fall inside `window` (core.times.data_window)."""
    if not isinstance(row, dict):
        return [("-", "expected a JSON object")]
    problems = []
    for record in ("service", "sku", "project", "location", "usage", "invoice",
                   "adjustment_info", "resource"):  # fmt: skip
        if row.get(record) is not None and not isinstance(row[record], dict):
            problems.append((record, f"expected a record, got {type(row[record]).__name__}"))
    for repeated in ("labels", "credits", "project.labels"):
        value = _get(row, repeated)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            problems.append((repeated, "expected a list of records"))
    for required in ("billing_account_id", "service.id", "sku.id"):
        if _get(row, required) in (None, ""):
            problems.append((required, "missing"))
        elif not isinstance(_get(row, required), str | int):
            problems.append((required, f"expected text, got {type(_get(row, required)).__name__}"))
    start = _get(row, "usage_start_time")
    if start is None:
        problems.append(("usage_start_time", "missing"))
    elif (problem := _time_problem(start, window)) is not None:
        problems.append(("usage_start_time", problem))
    end = _get(row, "usage_end_time")
    if end is not None and (problem := _time_problem(end, window)) is not None:
        problems.append(("usage_end_time", problem))
    month = _get(row, "invoice.month")
    if month is None:
        problems.append(("invoice.month", "missing"))
    elif not re.fullmatch(r"[0-9]{4}(0[1-9]|1[0-2])", str(month)):
        problems.append(("invoice.month", f"{month!r} is not a month written YYYYMM"))
    elif not window.holds_month(str(month)):
        problems.append(("invoice.month", window.outside(month)))
    cost = _get(row, "cost")
    if cost is None:
        problems.append(("cost", "missing"))
    elif _number(cost) is None:
        problems.append(("cost", _not_a_number(cost)))
    currency = row.get("currency")
    if currency is None:
        problems.append(("currency", "missing"))
    elif not isinstance(currency, str) or currency not in ISO_CURRENCIES:
        problems.append(("currency", f"{currency!r} is not an ISO 4217 currency code"))
    for optional in ("cost_at_list", "usage.amount", "usage.amount_in_pricing_units",
                     "currency_conversion_rate"):  # fmt: skip
        value = _get(row, optional)
        if value is not None and _number(value) is None:
            problems.append((optional, _not_a_number(value)))
    rate = _number(row.get("currency_conversion_rate"))
    if rate is not None and rate < SMALLEST_RATE:
        problems.append(("currency_conversion_rate", "must be greater than 0"))
    export_time = row.get("export_time")
    if export_time is not None and (problem := _time_problem(export_time, window)) is not None:
        problems.append(("export_time", problem))
    credits = row.get("credits")
    if isinstance(credits, list):
        for index, credit in enumerate(credits):
            if isinstance(credit, dict) and _number(credit.get("amount")) is None:
                problems.append((f"credits[{index}].amount", _not_a_number(credit.get("amount"))))
    problems += _label_problems("labels", row.get("labels"))
    problems += _label_problems("project.labels", _get(row, "project.labels"))
    for name in STORED_TEXT:
        if isinstance(text := _get(row, name), str) and "\x00" in text:
            problems.append((name, NUL))
    if isinstance(credits, list):
        for index, credit in enumerate(credits):
            kind = credit.get("type") if isinstance(credit, dict) else None
            if isinstance(kind, str) and "\x00" in kind:
                problems.append((f"credits[{index}].type", NUL))
    problems += [(field, SURROGATE) for field in _surrogates(row)]
    return problems


# The most a line of newline-delimited JSON may hold, billing row or job: a real one is a
# few kilobytes (a job's query text at most a megabyte). A longer line is refused by
# number, not read into memory whole.
MAX_LINE_BYTES = 16 * 2**20


def too_long() -> str:
    return _("longer than %(limit)s MiB, the most a line may hold (a real row is a few KB)") % {
        "limit": MAX_LINE_BYTES // 2**20
    }


class BinaryLines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


def bounded_lines(handle: BinaryLines) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) for each line of a binary stream; None for a line longer than
    MAX_LINE_BYTES, whose rest is skipped a megabyte at a time."""
    number = 0
    while raw := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(2**20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, raw


def json_lines(path: Path) -> Iterator[tuple[int, object, str | None]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, raw in bounded_lines(handle):
            if raw is None:
                yield number, None, too_long()
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None, "not UTF-8 text"
                continue
            if not text.strip():
                continue
            try:
                yield number, json.loads(text, parse_float=Decimal), None
            except json.JSONDecodeError as error:
                yield number, None, f"not valid JSON: {error.msg} (column {error.colno})"
            except RecursionError:
                yield number, None, "not valid JSON: nested too deeply"

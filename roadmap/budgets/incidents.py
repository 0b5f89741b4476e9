"""Incidents from a CSV file (`manage.py import_incidents`), for a team that keeps its
incident log in a spreadsheet or exports it from an incident tool.

The file has a header line naming its columns, in any order:

    title, detected_at, resolved_at, severity, impact, products, cause, caused_by, follow_up

title, detected_at, severity, impact and products are required. Moments are ISO 8601:
2026-10-05T09:30 (local time), 2026-10-05T09:30+09:00, or a day alone (00:00 local).
Severity and impact are given by value (sev1, late_data) or label (SEV1: critical, Late
data), in any case. products are data-product slugs separated by ";"; caused_by and
follow_up are roadmap item ids.

An import is all or nothing: every problem is reported with its line (the header is line
1; a cell that spans lines counts them all) and column, and nothing is written unless
every row is good. An incident is known by its title and detected_at: a row that matches
one updates it (its products replaced by the row's), so importing the same file again
changes nothing. A column the file leaves out keeps each existing incident's value.
"""

import csv
import datetime
import difflib
import io
import re
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from roadmap.budgets.rules import save_incident
from roadmap.models import DataProduct, Incident, RoadmapItem

COLUMNS = (
    "title", "detected_at", "resolved_at", "severity", "impact", "products", "cause",
    "caused_by", "follow_up",
)  # fmt: skip
REQUIRED_COLUMNS = ("title", "detected_at", "severity", "impact", "products")
LIST_SEPARATOR = ";"
TITLE_LENGTH: int = Incident._meta.get_field("title").max_length  # type: ignore[assignment]  # it has one
# The years quarters may have (roadmap.models.parse_quarter_code): a budget period is one.
FIRST_YEAR, LAST_YEAR = 2000, 2099
# A roadmap item id: ASCII digits (str.isdigit() takes '²'), few enough for the database.
ITEM_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class RowError:
    file: str
    line: int | None  # None: the file as a whole (it cannot be read)
    column: str | None  # None: the line as a whole
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(_("line %s") % self.line)
        if self.column:
            where.append(self.column)
        return f"{', '.join(where)}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    dry_run: bool


class _CellError(ValueError):
    pass


@dataclass
class _Row:
    line: int
    key: tuple[str, datetime.datetime]
    values: dict  # model field name -> value, for the columns the file has
    products: list[DataProduct]


def import_incidents(*, path: Path, by: User | None = None, dry_run: bool = False) -> ImportResult:
    """Check every row of the file, then create or update all its incidents in one
    transaction, or none (`dry_run`: only count what would change)."""
    name = str(path)
    columns, parsed, errors = _parse(_read(path, name), name)
    with transaction.atomic():
        rows = _check_rows(parsed, columns, name, errors)
        if errors:
            raise ImportRejected(sorted(errors, key=lambda error: error.line or 0))
        return _apply(rows, _match_existing(rows), by=by, dry_run=dry_run)


def _parse(
    text: str, name: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[RowError]]:
    """The columns, and each row's first line with its cells by column. A row starts on
    the line after the previous one ended: the reader's `line_num` counts the lines of a
    cell that spans several, and blank lines."""
    # strict: a file cut short inside a quoted cell is an error, not a last row whose
    # cell runs to the end of the file; so is text after a closing quote ("a"b).
    lines = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(lines, None)
    except csv.Error as error:
        message = _("cannot read the header: %s") % error
        raise ImportRejected([RowError(name, 1, None, message)]) from None
    columns = _check_header(header, name)
    errors: list[RowError] = []
    parsed: list[tuple[int, dict[str, str]]] = []
    previous_end = lines.line_num
    while True:
        try:
            cells = next(lines, None)
        except csv.Error as error:
            errors.append(RowError(name, previous_end + 1, None, _csv_problem(error)))
            break
        if cells is None:
            break
        line, previous_end = previous_end + 1, lines.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if any(cell.strip() for cell in cells[len(columns) :]):
            message = _("%(cells)s cells, but the header names %(columns)s columns") % {
                "cells": len(cells),
                "columns": len(columns),
            }
            errors.append(RowError(name, line, None, message))
            continue
        cells = [cell.strip() for cell in (cells + [""] * len(columns))[: len(columns)]]
        row = dict(zip(columns, cells, strict=True))
        # PostgreSQL stores no NUL in text (SQLite does): refused on both, where it is.
        nul = [RowError(name, line, column, _("contains a NUL character (\\u0000)"))
               for column, cell in row.items() if "\x00" in cell]  # fmt: skip
        if nul:
            errors += nul
            continue
        parsed.append((line, row))
    return columns, parsed, errors


def _csv_problem(error: csv.Error) -> str:
    if str(error) == "unexpected end of data":  # the csv module's words for it
        return _("a quoted cell is never closed: the file ends inside it (is it cut short?)")
    return _("cannot read it: %s") % error


def _read(path: Path, name: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportRejected(
            [RowError(name, None, None, _("cannot read the file: %s") % error.strerror)]
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = _("this is not UTF-8 text (byte 0x%(byte)02x); save the file as CSV UTF-8") % {
            "byte": data[error.start]
        }
        raise ImportRejected([RowError(name, line, None, message)]) from None
    if not text.strip():
        message = _("the file is empty; it needs a header line (%s) and a line per incident")
        raise ImportRejected([RowError(name, 1, None, message % ", ".join(COLUMNS))])
    return text


def _check_header(header: list[str] | None, name: str) -> list[str]:
    header = list(header or [])
    while header and not header[-1].strip():
        header.pop()  # a spreadsheet's trailing empty columns
    columns = [cell.strip().lower() for cell in header]
    if not any(columns):
        message = _("the first line is empty; it must name the columns (%s)")
        raise ImportRejected([RowError(name, 1, None, message % ", ".join(COLUMNS))])
    if len(columns) == 1 and LIST_SEPARATOR in columns[0]:
        message = _("the columns must be separated by commas, not semicolons")
        raise ImportRejected([RowError(name, 1, None, message)])
    errors = []
    for index, column in enumerate(columns):
        if column not in COLUMNS:
            message = _("unknown column %(column)r (the columns are: %(known)s)") % {
                "column": header[index].strip(),
                "known": ", ".join(COLUMNS),
            }
            errors.append(RowError(name, 1, header[index].strip() or "-", message))
        elif column in columns[:index]:
            errors.append(RowError(name, 1, column, _("this column appears twice")))
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            message = _("this required column is missing (required: %s)")
            errors.append(RowError(name, 1, column, message % ", ".join(REQUIRED_COLUMNS)))
    if errors:
        raise ImportRejected(errors)
    return columns


def _check_rows(
    parsed: list[tuple[int, dict[str, str]]], columns: list[str], name: str, errors: list[RowError]
) -> list[_Row]:
    products = {product.slug: product for product in DataProduct.objects.all()}
    item_ids = set()
    for _line, cells in parsed:
        for column in ("caused_by", "follow_up"):
            if ITEM_ID.fullmatch(cells.get(column, "")):
                item_ids.add(int(cells[column]))
    items = RoadmapItem.objects.in_bulk(item_ids)
    rows: list[_Row] = []
    seen: dict[tuple[str, datetime.datetime], int] = {}
    for line, cells in parsed:
        values: dict = {}
        row_products: list[DataProduct] = []
        row_errors: list[RowError] = []
        for column in columns:
            try:
                if column == "products":
                    row_products = _products(cells[column], products)
                else:
                    values.update(_value(column, cells[column], items))
            except _CellError as error:
                row_errors.append(RowError(name, line, column, str(error)))
        resolved, detected = values.get("resolved_at"), values.get("detected_at")
        if resolved and detected and resolved < detected:
            message = _("resolved (%(resolved)s) before it was detected (%(detected)s)") % {
                "resolved": _shown(resolved),
                "detected": _shown(detected),
            }
            row_errors.append(RowError(name, line, "resolved_at", message))
        if row_errors:
            errors += row_errors
            continue
        key = (values["title"], values["detected_at"])
        if key in seen:
            message = _("the same incident (title and detected_at) is already on line %s")
            errors.append(RowError(name, line, "title", message % seen[key]))
            continue
        seen[key] = line
        rows.append(_Row(line, key, values, row_products))
    return rows


def _value(column: str, cell: str, items: dict[int, RoadmapItem]) -> dict:
    """The model field and value of one cell; raises _CellError with what is wrong."""
    if column == "title":
        if not cell:
            raise _CellError(_("the title is empty"))
        if len(cell) > TITLE_LENGTH:
            message = _("the title is %(length)s characters long; at most %(max)s fit")
            raise _CellError(message % {"length": len(cell), "max": TITLE_LENGTH})
        return {"title": cell}
    if column in ("detected_at", "resolved_at"):
        if not cell:
            if column == "detected_at":
                raise _CellError(_("give the moment it was detected, e.g. 2026-10-05T09:30"))
            return {column: None}  # not resolved yet
        return {column: _moment(cell)}
    if column == "severity":
        return {"severity": _choice(cell, Incident.Severity, _("severity"))}
    if column == "impact":
        return {"impact": _choice(cell, Incident.Impact, _("impact"))}
    if column == "cause":
        return {"cause": cell.replace("\r\n", "\n").replace("\r", "\n")}
    if column in ("caused_by", "follow_up"):
        return {f"{column}_id": _item_id(cell, items)}
    raise AssertionError(column)  # the header is checked


def _moment(cell: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(cell)
    except ValueError:
        raise _CellError(
            _("%r is not a date and time; write 2026-10-05T09:30 (local time), "
              "2026-10-05T09:30+09:00 or 2026-10-05") % cell
        ) from None  # fmt: skip
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise _CellError(
            _("%(value)r is outside the years %(first)s to %(last)s")
            % {"value": cell, "first": FIRST_YEAR, "last": LAST_YEAR}
        )
    if timezone.is_naive(moment):
        zone = timezone.get_current_timezone()
        offsets = [_offset(moment.replace(tzinfo=zone, fold=fold)) for fold in (0, 1)]
        if offsets[0] != offsets[1]:
            raise _CellError(
                _("%(value)r is skipped or repeated in %(zone)s when the clocks change; "
                  "add the UTC offset: %(value)s%(first)s or %(value)s%(second)s")
                % {"value": cell, "zone": zone, "first": offsets[0], "second": offsets[1]}
            )  # fmt: skip
        moment = timezone.make_aware(moment, zone)
    if moment > timezone.now():
        raise _CellError(_("%r is in the future") % cell)
    return moment


def _offset(moment: datetime.datetime) -> str:
    """+09:00, -08:00: the UTC offset as ISO 8601 writes it."""
    offset = moment.utcoffset()
    assert offset is not None  # noqa: S101 -- always an aware time
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _choice(cell: str, choices: type[models.TextChoices], what: str) -> str:
    wanted = cell.casefold()
    for value, label in choices.choices:
        if wanted in (value.casefold(), str(label).casefold()):
            return value
    known = ", ".join(f"{value} ({label})" for value, label in choices.choices)
    if not cell:
        raise _CellError(_("give the %(what)s: %(known)s") % {"what": what, "known": known})
    raise _CellError(
        _("%(value)r is not a known %(what)s; use one of %(known)s")
        % {"value": cell, "what": what, "known": known}
    )


def _products(cell: str, products: dict[str, DataProduct]) -> list[DataProduct]:
    slugs = list(dict.fromkeys(part.strip() for part in cell.split(LIST_SEPARATOR)))
    slugs = [slug for slug in slugs if slug]
    if not slugs:
        raise _CellError(
            _("name at least one data product whose budget it spends (slugs separated by ;)")
        )
    unknown = [slug for slug in slugs if slug not in products]
    if unknown:
        messages = []
        for slug in unknown:
            message = _("no data product has the slug %r") % slug
            close = difflib.get_close_matches(slug, products, n=1)
            if close:
                message += _(" (did you mean %s?)") % close[0]
            messages.append(message)
        raise _CellError("; ".join(messages))
    return [products[slug] for slug in slugs]


def _item_id(cell: str, items: dict[int, RoadmapItem]) -> int | None:
    if not cell:
        return None
    if not ITEM_ID.fullmatch(cell):
        raise _CellError(_("%r is not a roadmap item id (a whole number, e.g. 42)") % cell)
    if int(cell) not in items:
        raise _CellError(_("no roadmap item has the id %s") % cell)
    return int(cell)


def _shown(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="minutes")


def _match_existing(rows: list[_Row]) -> dict[tuple[str, datetime.datetime], Incident]:
    """The incidents the rows name by title and detected_at (unique in the database),
    with their products."""
    titles = {row.key[0] for row in rows}
    return {
        (incident.title, incident.detected_at): incident
        for incident in Incident.objects.filter(title__in=titles).prefetch_related("products")
    }


def _apply(
    rows: list[_Row],
    matched: dict[tuple[str, datetime.datetime], Incident],
    *,
    by: User | None,
    dry_run: bool,
) -> ImportResult:
    created = updated = unchanged = 0
    for row in rows:
        incident = matched.get(row.key) or Incident()
        before = _snapshot(incident, list(incident.products.all())) if incident.pk else None
        for field, value in row.values.items():
            setattr(incident, field, value)
        if before is None:
            created += 1
        elif _snapshot(incident, row.products) == before:
            unchanged += 1
            continue
        else:
            updated += 1
        if not dry_run:
            save_incident(incident=incident, products=row.products, by=by)
    return ImportResult(created=created, updated=updated, unchanged=unchanged, dry_run=dry_run)


def _snapshot(incident: Incident, products: list[DataProduct]) -> tuple:
    """Everything an import can change, to tell an unchanged row from an edited one."""
    fields = ("title", "detected_at", "resolved_at", "severity", "impact", "cause",
              "caused_by_id", "follow_up_id")  # fmt: skip
    return tuple(getattr(incident, field) for field in fields), frozenset(p.pk for p in products)

"""CSV export and import of roadmap items, for managers who draft in spreadsheets.

The export re-imports without change. An import is all or nothing: every bad row is
reported with its line number and column, and nothing is written unless all rows are
good. A row carrying the `version` it was exported with is refused if the item has been
saved since, so a spreadsheet kept open for a week cannot silently undo newer edits.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Team
from core.sheets import SheetWriter, restore
from roadmap.items.forms import ITEM_FIELDS, RoadmapItemForm
from roadmap.items.planning import apply_ranks, save_item
from roadmap.models import RoadmapItem, Theme, default_currency, dependency_graph, dependency_loop

LIST_SEPARATOR = ";"
IMPORTED_COLUMNS = ["id", "version", "rank", *ITEM_FIELDS]
COMPUTED_COLUMNS = ["rice_score", "wsjf_score", "people_cost", "people_cost_currency"]
EXPORT_COLUMNS = [*IMPORTED_COLUMNS, *COMPUTED_COLUMNS]
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


# --- Export ----------------------------------------------------------------------------


def _cell(item: RoadmapItem, column: str) -> str:
    if column == "theme":
        return item.theme.name
    if column == "owner":
        return item.owner.get_username() if item.owner else ""
    if column == "team":
        return item.team.slug
    if column == "requesting_teams":
        return LIST_SEPARATOR.join(sorted(team.slug for team in item.requesting_teams.all()))
    if column == "depends_on":
        return LIST_SEPARATOR.join(str(pk) for pk in sorted(d.pk for d in item.depends_on.all()))
    if column in ("start_quarter", "target_quarter"):
        quarter = getattr(item, column)
        return quarter.code if quarter else ""
    if column == "impact":
        return "" if item.impact is None else f"{item.impact.normalize():f}"
    if column == "rice_score":
        return _text(item.rice_score())
    if column == "wsjf_score":
        return _text(item.wsjf_score())
    if column == "people_cost":
        cost = item.people_cost()
        return "" if cost is None else _text(cost.amount)
    if column == "people_cost_currency":
        cost = item.people_cost()
        return "" if cost is None else cost.currency
    return _text(getattr(item, column))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def export_items(items: Iterable[RoadmapItem], out: io.TextIOBase) -> None:
    writer = SheetWriter(out)
    writer.header(EXPORT_COLUMNS)
    for item in items:
        writer.row(_cell(item, column) for column in EXPORT_COLUMNS)


def items_for_export() -> QuerySet[RoadmapItem]:
    return (
        RoadmapItem.objects.with_related()
        .prefetch_related("requesting_teams", "depends_on")
        .order_by("rank", "id")
    )


# --- Import ----------------------------------------------------------------------------


class ItemRowForm(RoadmapItemForm):
    """The item form, with related objects named as a spreadsheet names them."""

    theme = forms.ModelChoiceField(
        queryset=Theme.objects.all(),
        to_field_name="name",
        error_messages={
            "invalid_choice": gettext_lazy("No theme named “%(value)s” (use the exact name).")
        },
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.all(),
        to_field_name="username",
        required=False,
        error_messages={"invalid_choice": gettext_lazy("No user with username “%(value)s”.")},
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        to_field_name="slug",
        error_messages={"invalid_choice": gettext_lazy("No team with slug “%(value)s”.")},
    )
    requesting_teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": gettext_lazy("No team with slug “%(value)s”.")},
    )
    rank = forms.IntegerField(min_value=1, required=False)

    class Meta(RoadmapItemForm.Meta):
        fields = [*ITEM_FIELDS, "rank"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # self.fields holds them as forms.Field; these two are model choice fields.
        self.fields["owner"].queryset = get_user_model().objects.all()  # type: ignore[attr-defined]
        # A sheet may point at any item, dropped ones included (an export does).
        self.fields["depends_on"].queryset = RoadmapItem.objects.exclude(pk=self.instance.pk)  # type: ignore[attr-defined]
        self.fields["depends_on"].error_messages["invalid_choice"] = gettext_lazy(
            "No roadmap item with id “%(value)s”."
        )
        self.fields["status"].error_messages["invalid_choice"] = gettext_lazy(
            "“%(value)s” is not a status: use proposed, planned, in_progress, done or dropped."
        )

    def clean_rank(self) -> int | None:
        # A sheet without ranks keeps the current order.
        if self.cleaned_data["rank"] is None and self.instance.pk:
            return self.instance.rank
        return self.cleaned_data["rank"]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected(
            [RowError(line, "-", _("the file is not UTF-8 text; save it as CSV UTF-8"))]
        ) from None


def _row_data(row: dict[str | None, str], instance: RoadmapItem | None) -> MultiValueDict:
    """Form data for one row. A column the file leaves out keeps the item's current value
    (or the default, for a new item), so a sheet with only `id,title` renames items."""
    given = {
        column: restore((value or "").strip())
        for column, value in row.items()
        if column is not None and column in IMPORTED_COLUMNS
    }
    data: MultiValueDict[str, str] = MultiValueDict()
    for column in IMPORTED_COLUMNS:
        if column in ("id", "version"):
            continue
        if column in given:
            value = given[column]
        elif instance is not None:
            value = _cell(instance, column)
        else:
            value = _new_item_defaults().get(column, "")
        if column in ("requesting_teams", "depends_on"):
            data.setlist(
                column, [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
            )
        elif column == "status":
            data[column] = _status_value(value)
        elif column == "impact" and value:
            data[column] = _two_places(value)
        else:
            data[column] = value
    return data


def _new_item_defaults() -> dict[str, str]:
    return {"status": RoadmapItem.Status.PROPOSED, "currency": default_currency()}


def _status_value(value: str) -> str:
    for choice, label in RoadmapItem.Status.choices:
        if value.lower() in (choice, str(label).lower()):
            return choice
    return value


def _two_places(value: str) -> str:
    try:
        return str(Decimal(value).quantize(Decimal("0.01")))
    except InvalidOperation:
        return value


def _snapshot(
    item: RoadmapItem, teams: Iterable[Team], depends: Iterable[RoadmapItem]
) -> tuple[Any, ...]:
    """Everything an import can change, to tell an unchanged row from an edited one."""
    # The item's own fields, which get_field(name) cannot type by a variable name.
    fields: list[Any] = [RoadmapItem._meta.get_field(name) for name in [*ITEM_FIELDS, "rank"]]
    values = tuple(getattr(item, field.attname) for field in fields if not field.many_to_many)
    return values, frozenset(t.pk for t in teams), frozenset(d.pk for d in depends)


@dataclass
class _Row:
    line: int
    form: ItemRowForm
    version: int | None  # the version the row was matched against (None: a new item)
    before: tuple | None  # the item before the row is applied


def _check_header(header: list[str]) -> None:
    if not header:
        raise ImportRejected([RowError(1, "-", _("the file is empty"))])
    errors = [
        RowError(1, name, _("unknown column (expected the columns of an export)"))
        for name in header
        if name not in EXPORT_COLUMNS
    ]
    if "id" not in header and "title" not in header:
        errors.append(RowError(1, "title", _("this column is missing")))
    if errors:
        raise ImportRejected(errors)


def _match_existing(
    row: dict, line: int, existing: dict[int, RoadmapItem], seen: dict[int, int]
) -> tuple[RoadmapItem | None, list[RowError]]:
    """The item a row's `id` names, refusing unknown ids, repeats and stale versions."""
    item_id = (row.get("id") or "").strip()
    if not item_id:
        return None, []
    # ASCII digits, few enough for the database: str.isdigit() takes '²' and int() fails.
    if not re.fullmatch(r"[0-9]{1,18}", item_id) or int(item_id) not in existing:
        return None, [RowError(line, "id", _("no roadmap item has id %s") % item_id)]
    if int(item_id) in seen:
        message = _("item %(id)s already appears on line %(line)s")
        return None, [RowError(line, "id", message % {"id": item_id, "line": seen[int(item_id)]})]
    instance = existing[int(item_id)]
    seen[instance.pk] = line
    exported = (row.get("version") or "").strip()
    if exported and exported != str(instance.version):
        message = _(
            "the item was changed after this file was exported (version %(old)s, now %(new)s); "
            "export again and redo the edit"
        )
        return instance, [
            RowError(line, "version", message % {"old": exported, "new": instance.version})
        ]
    return instance, []


def _check_row(
    row: dict, line: int, existing: dict[int, RoadmapItem], seen: dict[int, int]
) -> tuple[_Row | None, list[RowError]]:
    errors = []
    if None in row:
        errors.append(RowError(line, "-", _("more cells than columns in the header")))
    instance, id_errors = _match_existing(row, line, existing, seen)
    errors += id_errors
    before = None
    if instance is not None:
        before = _snapshot(instance, instance.requesting_teams.all(), instance.depends_on.all())
    form = ItemRowForm(data=_row_data(row, instance), instance=instance or RoadmapItem())
    if not form.is_valid():
        errors += [
            # An ErrorList yields its messages (str or lazy str), not ValidationErrors.
            RowError(line, "-" if field == "__all__" else field, message)  # type: ignore[arg-type]
            for field, messages in form.errors.items()
            for message in messages
        ]
    if errors:
        return None, errors
    return _Row(line, form, instance.version if instance else None, before), []


def import_items(*, data: bytes, by: User) -> ImportResult:
    """Validate every row, then write all of them in one transaction, or none."""
    lines = _NumberedLines(_decode(data))
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    _check_header(header)

    existing = {item.pk: item for item in items_for_export()}
    rows: list[_Row] = []
    errors: list[RowError] = []
    seen: dict[int, int] = {}
    while True:
        lines.mark()
        row = next(reader, None)
        if row is None:
            break
        checked, row_errors = _check_row(row, lines.first_since_mark(), existing, seen)
        errors += row_errors
        if checked:
            rows.append(checked)
        if len(rows) + len(errors) > MAX_ROWS:
            errors.append(
                RowError(lines.first_since_mark(), "-", _("more than %s rows") % MAX_ROWS)
            )
            break
    if errors:
        raise ImportRejected(errors)
    return _write(rows, by=by)


class _NumberedLines:
    """Feeds the CSV reader line by line and remembers where each row started: the csv
    module counts lines, but skips blank ones silently and lets quoted cells span lines."""

    def __init__(self, text: str) -> None:
        self._lines = iter(enumerate(io.StringIO(text, newline=""), start=1))
        self._since_mark: list[tuple[int, str]] = []

    def __iter__(self) -> "_NumberedLines":
        return self

    def __next__(self) -> str:
        number, line = next(self._lines)
        self._since_mark.append((number, line))
        return line

    def mark(self) -> None:
        self._since_mark = []

    def first_since_mark(self) -> int:
        """Number of the first non-blank line read since the mark."""
        for number, line in self._since_mark:
            if line.strip():
                return number
        return self._since_mark[0][0] if self._since_mark else 1


@transaction.atomic
def _write(rows: list[_Row], *, by: User) -> ImportResult:
    created = updated = unchanged = 0
    ranks: dict[int, int] = {}
    lines: dict[int, int] = {}
    for row in rows:
        item = row.form.instance
        teams = row.form.cleaned_data["requesting_teams"]
        depends = row.form.cleaned_data["depends_on"]
        if row.before is not None and _snapshot(item, teams, depends) == row.before:
            unchanged += 1
            continue
        wanted_rank = row.form.cleaned_data.get("rank")
        save_item(
            item=item,
            requesting_teams=teams,
            depends_on=depends,
            expected_version=row.version,
            by=by,
        )
        lines[item.pk] = row.line
        if row.version is None:
            created += 1
        else:
            updated += 1
        if wanted_rank:
            ranks[item.pk] = wanted_rank
    _refuse_dependency_loops(lines)
    if created or updated:
        apply_ranks(ranks, by=by)
    return ImportResult(created=created, updated=updated, unchanged=unchanged)


def _refuse_dependency_loops(lines: dict[int, int]) -> None:
    """Rows are checked one by one against the database; two rows of one file can still
    close a loop together. Raising here rolls the whole import back."""
    graph = dependency_graph()
    errors = []
    for item_id, line in sorted(lines.items(), key=lambda pair: pair[1]):
        loop = dependency_loop(graph, item_id)
        if loop:
            titles = dict(RoadmapItem.objects.filter(pk__in=loop).values_list("pk", "title"))
            path = " → ".join(titles[pk] for pk in loop)
            errors.append(RowError(line, "depends_on", _("makes a loop: %s") % path))
    if errors:
        raise ImportRejected(errors)

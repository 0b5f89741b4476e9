"""CSV export and import of roadmap items, for managers who draft in spreadsheets.

The export re-imports without change. An import is all or nothing: every bad row is
reported with its line number and column, and nothing is written unless all rows are
good. A row carrying the `version` it was exported with is refused if the item has been
saved since, so a spreadsheet kept open for a week cannot silently undo newer edits.
"""

import csv
import dataclasses
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.models import Team
from core.sheets import SheetWriter, restore
from roadmap.items.forms import ITEM_FIELDS, QuarterField, RoadmapItemForm
from roadmap.items.planning import ItemChange, save_items
from roadmap.models import (
    Quarter,
    RoadmapItem,
    Theme,
    default_currency,
    dependency_graph,
    dependency_loop,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # installed with django-stubs, for mypy only

LIST_SEPARATOR = ";"
IMPORTED_COLUMNS = ["id", "version", "rank", *ITEM_FIELDS]
COMPUTED_COLUMNS = ["rice_score", "wsjf_score", "people_cost", "people_cost_currency"]
EXPORT_COLUMNS = [*IMPORTED_COLUMNS, *COMPUTED_COLUMNS]
MAX_ROWS = 5000
ROW_COLUMNS = [column for column in IMPORTED_COLUMNS if column not in ("id", "version")]
RowData = dict[str, str | list[str]]
STATUSES = frozenset(RoadmapItem.Status.values)
ROW_FIELDS = [*ITEM_FIELDS, "rank"]  # what a row's form checks
ROW_MODEL_FIELDS = [f for f in RoadmapItem._meta.fields if f.editable and f.name in ROW_FIELDS]
RELATED_COLUMNS = {"theme", "owner", "team", "start_quarter", "target_quarter"}
NO_TEAM = gettext_lazy("No team with slug “%(value)s”.")
NO_ITEM = gettext_lazy("No roadmap item with id “%(value)s”.")


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


@dataclass(frozen=True)
class _Lookups:
    """What a sheet's cells may name, read once per file: looked up row by row, each
    related column cost a query per row, and a sheet of 1,000 rows timed out."""

    items: dict[int, RoadmapItem]
    titles: dict[int, str]  # as saved: the rows change the items above while validated
    graph: dict[int, set[int]]  # the dependencies as saved
    themes: dict[str, Theme]
    users: dict[str, User]
    teams: dict[str, Team]
    quarters: dict[str, Quarter]
    # Cells already checked. A sheet repeats its themes, statuses, quarters, scores and
    # empty cells; each distinct value of a column is checked once, not once per row.
    cleaned: dict[tuple[str, str], Any] = dataclasses.field(default_factory=dict)
    valid: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # (field, repr)

    @classmethod
    def load(cls) -> "_Lookups":
        items = {item.pk: item for item in items_for_export()}
        return cls(
            items=items,
            titles={pk: item.title for pk, item in items.items()},
            graph=dependency_graph(),
            themes={theme.name: theme for theme in Theme.objects.all()},
            users={user.get_username(): user for user in get_user_model().objects.all()},
            teams={team.slug: team for team in Team.objects.all()},
            quarters={quarter.code: quarter for quarter in Quarter.objects.all()},
        )


class _QuarterCodeField(QuarterField):
    """A quarter code, checked as QuarterField checks it; the form swaps in the saved
    quarter from its lookups instead of the query QuarterField.clean makes."""

    def clean(self, value: str) -> Quarter | None:
        code = super(QuarterField, self).clean(value)
        return Quarter.from_code(code) if code else None


class ItemRowForm(RoadmapItemForm):
    """The item form, with related objects named as a spreadsheet names them and found in
    the file's `_Lookups`, so validating a row makes no query."""

    theme = forms.CharField()
    owner = forms.CharField(required=False)
    team = forms.CharField()
    # Lists of names: SelectMultiple reads every value the row data holds for the column.
    requesting_teams = forms.Field(required=False, widget=forms.SelectMultiple)
    depends_on = forms.Field(required=False, widget=forms.SelectMultiple)
    start_quarter = _QuarterCodeField(required=False)
    target_quarter = _QuarterCodeField(required=False)
    rank = forms.IntegerField(min_value=1, required=False)

    class Meta(RoadmapItemForm.Meta):
        fields = ROW_FIELDS
        error_messages = {
            "status": {
                "invalid_choice": gettext_lazy(
                    "“%(value)s” is not a status: use proposed, planned, in_progress, done "
                    "or dropped."
                )
            }
        }

    def __init__(self, *, data: RowData, instance: RoadmapItem, lookups: _Lookups) -> None:
        # Of RoadmapItemForm's and ModelForm's __init__ only what checking a row needs: the
        # rest (the owner and depends_on choices, read with a query per form; the item as
        # initial values; limits on model choice fields) is for a page the rows never show.
        self.instance = instance
        forms.BaseForm.__init__(self, data)
        self.lookups = lookups

    def clean_theme(self) -> Theme:
        return _named(
            self.lookups.themes,
            self.cleaned_data["theme"],
            gettext_lazy("No theme named “%(value)s” (use the exact name)."),
        )

    def clean_owner(self) -> User | None:
        if not self.cleaned_data["owner"]:
            return None
        return _named(
            self.lookups.users,
            self.cleaned_data["owner"],
            gettext_lazy("No user with username “%(value)s”."),
        )

    def clean_team(self) -> Team:
        return _named(self.lookups.teams, self.cleaned_data["team"], NO_TEAM)

    def clean_requesting_teams(self) -> list[Team]:
        return [
            _named(self.lookups.teams, slug, NO_TEAM)
            for slug in dict.fromkeys(self.cleaned_data["requesting_teams"])
        ]

    def clean_depends_on(self) -> list[RoadmapItem]:
        ids = {}
        for value in dict.fromkeys(self.cleaned_data["depends_on"]):
            try:
                ids[value] = int(value)
            except ValueError:
                raise ValidationError(
                    gettext_lazy("“%(pk)s” is not a valid value."),
                    code="invalid_pk_value",
                    params={"pk": value},
                ) from None
        # A sheet may point at any item, dropped ones included (an export does).
        found = []
        for value, pk in ids.items():
            if pk == self.instance.pk or pk not in self.lookups.items:
                raise ValidationError(NO_ITEM, code="invalid_choice", params={"value": value})
            found.append(self.lookups.items[pk])
        return found

    def clean_start_quarter(self) -> Quarter | None:
        return self._saved_quarter(self.cleaned_data["start_quarter"])

    def clean_target_quarter(self) -> Quarter | None:
        return self._saved_quarter(self.cleaned_data["target_quarter"])

    def _saved_quarter(self, quarter: Quarter | None) -> Quarter | None:
        return quarter and self.lookups.quarters.get(quarter.code, quarter)

    def clean_rank(self) -> int | None:
        # A sheet without ranks keeps the current order.
        if self.cleaned_data["rank"] is None and self.instance.pk:
            return self.instance.rank
        return self.cleaned_data["rank"]

    def clean(self) -> dict[str, Any]:
        # RoadmapItemForm.clean looks for dependency loops in the graph it reads from the
        # database, a query per row: keep the dependencies from it and look in the file's.
        depends_on = self.cleaned_data.pop("depends_on", None)
        cleaned = super().clean()
        if depends_on is None:
            return cleaned
        cleaned["depends_on"] = depends_on
        if self.instance.pk and depends_on:
            graph = {**self.lookups.graph, self.instance.pk: {item.pk for item in depends_on}}
            loop = dependency_loop(graph, self.instance.pk)
            if loop:
                path = " → ".join(self.lookups.titles[pk] for pk in loop)
                self.add_error(
                    "depends_on", gettext_lazy("That would make a loop: %(path)s") % {"path": path}
                )
        return cleaned

    def _clean_fields(self) -> None:
        """Form._clean_fields without making a BoundField per field, which carries the HTML
        name, id, label and translated help text of a field for a page: a third of the time
        a row took. (The rows have no prefix, disabled fields or files.)"""
        known = self.lookups.cleaned
        for name, field in self.fields.items():
            try:
                value = field.widget.value_from_datadict(self.data, self.files, name)
                if not isinstance(value, str):  # a list
                    self.cleaned_data[name] = field.clean(value)
                elif (name, value) in known:
                    self.cleaned_data[name] = known[name, value]
                else:
                    self.cleaned_data[name] = known[name, value] = field.clean(value)
                clean = getattr(self, f"clean_{name}", None)
                if clean is not None:
                    self.cleaned_data[name] = clean()
            except ValidationError as error:
                self.add_error(name, error)

    def _post_clean(self) -> None:
        """ModelForm's model validation without its queries: foreign keys, which the clean_
        methods above found already, and the check constraints, each a query per row, which
        repeat the model fields' validators (choices, minimums, the currency pattern) and
        which the database enforces again when the rows are written."""
        # The stubs leave out these two private ModelForm methods that _post_clean uses.
        exclude = self._get_validation_exclusions() | RELATED_COLUMNS  # type: ignore[attr-defined]
        # construct_instance, less its care for columns a browser leaves out: a row has them
        # all, and asking made a BoundField (with its translated help text) per column.
        for field in ROW_MODEL_FIELDS:
            if field.name in self.cleaned_data:
                field.save_form_data(self.instance, self.cleaned_data[field.name])
        values = {
            field.name: repr(getattr(self.instance, field.attname))
            for field in RoadmapItem._meta.concrete_fields
            if field.name not in exclude
        }
        known = self.lookups.valid
        try:
            self.instance.full_clean(
                exclude=exclude
                | {name for name, value in values.items() if (name, value) in known},
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            self._update_errors(error)  # type: ignore[attr-defined]
        known.update((name, value) for name, value in values.items() if name not in self.errors)


class _SharedFields(dict):
    """A form's fields, shared by every instance. Django deep-copies them for each form so
    that one may change its own; the row forms never do, and the copy took longer than
    checking the row."""

    def __deepcopy__(self, memo: dict[int, object]) -> "_SharedFields":
        return self


ItemRowForm.base_fields = _SharedFields(ItemRowForm.base_fields)
_Found = TypeVar("_Found")


def _named(found: Mapping[str, _Found], name: str, message: "StrOrPromise") -> _Found:
    try:
        return found[name]
    except KeyError:
        raise ValidationError(message, code="invalid_choice", params={"value": name}) from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRejected(
            [RowError(line, "-", _("the file is not UTF-8 text; save it as CSV UTF-8"))]
        ) from None


def _row_data(row: dict[str | None, str], instance: RoadmapItem | None) -> RowData:
    """Form data for one row. A column the file leaves out keeps the item's current value
    (or the default, for a new item), so a sheet with only `id,title` renames items.
    A plain dict: a list column's widget (SelectMultiple) takes the list from it."""
    defaults = _new_item_defaults() if instance is None else {}
    data: RowData = {}
    for column in ROW_COLUMNS:
        if column in row:  # a short row's missing cells are None: empty
            value = restore((row[column] or "").strip())
        elif instance is not None:
            value = _cell(instance, column)
        else:
            value = defaults.get(column, "")
        if column in ("requesting_teams", "depends_on"):
            data[column] = [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
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
    if value in STATUSES:  # as exported; labels, translated, only when not
        return value
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
    values = tuple(getattr(item, field.attname) for field in ROW_MODEL_FIELDS)
    return values, frozenset(t.pk for t in teams), frozenset(d.pk for d in depends)


@dataclass
class _Row:
    """A checked row: what to save (not the form, which holds much more, all of it kept
    alive until the file is written) and the item as it was (None: a new item)."""

    line: int
    change: ItemChange
    before: tuple | None


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
    row: dict, line: int, lookups: _Lookups, seen: dict[int, int]
) -> tuple[_Row | None, list[RowError]]:
    errors = []
    if None in row:
        errors.append(RowError(line, "-", _("more cells than columns in the header")))
    instance, id_errors = _match_existing(row, line, lookups.items, seen)
    errors += id_errors
    before = None
    if instance is not None:
        before = _snapshot(instance, instance.requesting_teams.all(), instance.depends_on.all())
    form = ItemRowForm(
        data=_row_data(row, instance), instance=instance or RoadmapItem(), lookups=lookups
    )
    if not form.is_valid():
        errors += [
            # An ErrorList yields its messages (str or lazy str), not ValidationErrors.
            RowError(line, "-" if field == "__all__" else field, message)  # type: ignore[arg-type]
            for field, messages in form.errors.items()
            for message in messages
        ]
    if errors:
        return None, errors
    data = form.cleaned_data
    change = ItemChange(
        item=form.instance,
        requesting_teams=data["requesting_teams"],
        depends_on=data["depends_on"],
        expected_version=instance.version if instance else None,  # as matched above
        rank=data["rank"],
    )
    return _Row(line, change, before), []


def import_items(*, data: bytes, by: User) -> ImportResult:
    """Validate every row, then write all of them in one transaction, or none."""
    lines = _NumberedLines(_decode(data))
    # strict: a file that ends inside a quoted cell is an error, not a shortened last row.
    reader = csv.DictReader(lines, strict=True)
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        raise ImportRejected([_unreadable(lines, error)]) from None
    reader.fieldnames = header
    _check_header(header)

    lookups = _Lookups.load()
    rows: list[_Row] = []
    errors: list[RowError] = []
    seen: dict[int, int] = {}
    while True:
        lines.mark()
        try:
            row = next(reader, None)
        except csv.Error as error:  # a cell over csv.field_size_limit() (128 KB), say
            errors.append(_unreadable(lines, error))
            break
        if row is None:
            break
        checked, row_errors = _check_row(row, lines.first_since_mark(), lookups, seen)
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


def _unreadable(lines: "_NumberedLines", error: csv.Error) -> RowError:
    """The csv module's complaint about the row read since the mark; reading stops there."""
    message = _("cannot be read as CSV: %(error)s") % {"error": error}
    return RowError(lines.first_since_mark(), "-", message)


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
    changed = [
        row
        for row in rows
        # A new item has no before.
        if _snapshot(row.change.item, row.change.requesting_teams, row.change.depends_on)
        != row.before
    ]
    saved = save_items(changes=[row.change for row in changed], by=by, ranked=True)
    _refuse_dependency_loops({item.pk: row.line for item, row in zip(saved, changed, strict=True)})
    created = sum(1 for row in changed if row.change.expected_version is None)
    return ImportResult(
        created=created, updated=len(changed) - created, unchanged=len(rows) - len(changed)
    )


def _refuse_dependency_loops(lines: dict[int, int]) -> None:
    """Rows are checked one by one against the database; two rows of one file can still
    close a loop together. Raising here rolls the whole import back."""
    graph = dependency_graph()
    candidates = _maybe_on_loops(graph)
    errors = []
    for item_id, line in sorted(lines.items(), key=lambda pair: pair[1]):
        loop = dependency_loop(graph, item_id) if item_id in candidates else None
        if loop:
            titles = dict(RoadmapItem.objects.filter(pk__in=loop).values_list("pk", "title"))
            path = " → ".join(titles[pk] for pk in loop)
            errors.append(RowError(line, "depends_on", _("makes a loop: %s") % path))
    if errors:
        raise ImportRejected(errors)


def _maybe_on_loops(graph: dict[int, set[int]]) -> set[int]:
    """The items left after taking away, again and again, every item that depends on none
    of the others left or that none of them depends on: those cannot be on a loop. Looking
    for a loop from each of 5,000 saved items walks the graph 5,000 times; this walks it
    once, and only the few items left are looked at."""
    needs = {item: set(targets) for item, targets in graph.items()}
    needed_by: dict[int, set[int]] = {}
    for item, targets in graph.items():
        for target in targets:
            needed_by.setdefault(target, set()).add(item)
    left = set(needs) | set(needed_by)
    ends = [item for item in left if not needs.get(item) or not needed_by.get(item)]
    while ends:
        item = ends.pop()
        if item not in left:
            continue
        left.remove(item)
        for target in needs.get(item, ()):
            needed_by[target].discard(item)
            if not needed_by[target]:
                ends.append(target)
        for source in needed_by.get(item, ()):
            needs[source].discard(item)
            if not needs[source]:
                ends.append(source)
    return left

"""Drafting the roadmap: saving items without lost updates, reordering priority, and the
four-quarter board with planned effort against capacity."""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from core.models import Team
from core.money import Money, totals_by_currency
from roadmap.items.history import (
    ChangeSet,
    changes_since,
    record_history_in_bulk,
    values_at_version,
)
from roadmap.models import EDITABLE_FIELDS, Quarter, RoadmapItem, TeamCapacity, Theme

OPEN_STATUSES = (
    RoadmapItem.Status.PROPOSED,
    RoadmapItem.Status.PLANNED,
    RoadmapItem.Status.IN_PROGRESS,
)


class EditConflict(Exception):
    """Someone saved the item after the editor loaded it; their save would overwrite it."""

    def __init__(
        self,
        item: RoadmapItem,
        changes: ChangeSet | None,
        base_values: dict | None,
    ):
        super().__init__(f"{item} was changed by someone else")
        self.item = item  # as it is now
        self.changes = changes  # what the others changed since the editor's version
        self.base_values = base_values  # the item as the editor loaded it

    @property
    def current_version(self) -> int:
        return self.item.version


@dataclass(frozen=True)
class ItemChange:
    """An item to save with its many-to-many values, the version the edit started from
    (ignored for a new item) and, for save_items(ranked=True), the rank asked for."""

    item: RoadmapItem
    requesting_teams: Iterable[Team]
    depends_on: Iterable[RoadmapItem]
    expected_version: int | None
    rank: int | None = None


def save_item(
    *,
    item: RoadmapItem,
    requesting_teams: Iterable[Team],
    depends_on: Iterable[RoadmapItem],
    expected_version: int | None,
    by: User | None,
) -> RoadmapItem:
    """Create or update an item, refusing the save if the item moved past `expected_version`.

    Of two concurrent saves of one version exactly one wins, on PostgreSQL and SQLite; the
    loser gets EditConflict describing what changed. The save leaves exactly one history
    record, many-to-many fields included.
    """
    change = ItemChange(
        item=item,
        requesting_teams=requesting_teams,
        depends_on=depends_on,
        expected_version=expected_version,
    )
    return save_items(changes=[change], by=by)[0]


_COLUMNS = [field for field in RoadmapItem._meta.concrete_fields if not field.primary_key]


@transaction.atomic
def save_items(
    *, changes: Sequence[ItemChange], by: User | None, ranked: bool = False
) -> list[RoadmapItem]:
    """save_item for many items, all or none, in a number of queries that does not grow
    with the number of items.

    The rows of the items being updated are locked (SELECT ... FOR UPDATE on PostgreSQL;
    SQLite takes its write lock at BEGIN) before their versions are compared. New and
    reopened work joins the bottom of the priority list in the order given; when an item
    opens or closes, the open items are renumbered 1..n. With `ranked` (an import), the
    items then go to the ranks their changes ask for, as apply_ranks puts them. Ranks are
    worked out before anything is written, so each item is written and recorded once, and
    each other open item whose rank changes gets a record of its own.
    """
    if not changes:
        return []
    items = [change.item for change in changes]
    _save_new_quarters(items)
    rows = _lock_versions([change for change in changes if change.item.pk is not None])
    was_open = {pk: row["status"] in OPEN_STATUSES for pk, row in rows.items()}
    moved = _place(changes, was_open, ranked=ranked)
    new = [item for item in items if item.pk is None]
    updated = [item for item in items if item.pk is not None]
    for item in items:
        # As save_item always left it: a later save() of the instance is theirs too.
        item._history_user = by  # type: ignore[attr-defined]  # read by simple_history
    for item in new:
        item.version = 1
    _date_deliveries(items)
    RoadmapItem.objects.bulk_create(new)
    now = timezone.now()
    for item in updated:
        item.updated_at = now  # what auto_now does in save()
    # The columns that any of the items changes (save() writes them all).
    changed = [
        field.name
        for field in _COLUMNS
        if any(getattr(item, field.attname) != rows[item.pk][field.attname] for item in updated)
    ]
    _update_rows(updated, changed)
    _set_many_to_many(changes, existing=[item.pk for item in updated])
    record_history_in_bulk(items, by=by)
    _update_rows(moved, ["rank"])
    record_history_in_bulk(moved, by=by)
    return items


def _date_deliveries(items: Iterable[RoadmapItem]) -> None:
    """An item saved as done without a delivery day shipped today (UTC): what its realised
    benefit is measured from (roadmap.evidence.benefit). A day already given is kept."""
    today = timezone.now().date()  # the UTC day: job history days are UTC days
    for item in items:
        if item.status == RoadmapItem.Status.DONE and item.delivered_on is None:
            item.delivered_on = today


def _lock_versions(changes: Sequence[ItemChange]) -> dict[int, dict[str, Any]]:
    """Lock the existing items' rows and refuse the save (EditConflict) if one of them moved
    past its expected version; else bump each version and take the rank the item has now
    (never edited through this path: reordering may have moved it meanwhile).
    Returns the rows as they are, by item id and column (attname)."""
    current = {
        row["id"]: row
        for row in RoadmapItem.objects.select_for_update()
        .filter(pk__in=[change.item.pk for change in changes])
        .order_by("pk")
        .values("id", *(field.attname for field in _COLUMNS))
    }
    for change in changes:
        item = change.item
        row = current.get(item.pk)
        # expected_version=None never matches: an existing item saved without one conflicts.
        if row is None or row["version"] != change.expected_version:
            now = RoadmapItem.objects.get(pk=item.pk)
            expected = change.expected_version or 0
            raise EditConflict(
                now,
                changes_since(now, expected),
                values_at_version(now, expected, EDITABLE_FIELDS),
            )
        item.version = row["version"] + 1
        item.rank = row["rank"]
    return current


def _place(
    changes: Sequence[ItemChange], was_open: dict[int, bool], *, ranked: bool
) -> list[RoadmapItem]:
    """Set the rank of each item being saved; return the other open items whose rank
    changes (locked, their new rank set)."""
    items = [change.item for change in changes]
    joining = [i for i in items if i.status in OPEN_STATUSES and not was_open.get(i.pk)]
    if joining:
        # New or reopened work joins the bottom of the priority list.
        bottom = RoadmapItem.objects.filter(status__in=OPEN_STATUSES).next_rank() - 1
        for rank, item in enumerate(joining, start=bottom + 1):
            item.rank = rank
    closed_new = [i for i in items if i.pk is None and i.status not in OPEN_STATUSES]
    if closed_new:
        # Work recorded as already done or dropped has no place in the priority list
        # (closed items' ranks are ignored), but a rank it must have: after every other.
        last = max([RoadmapItem.objects.next_rank() - 1, *(i.rank for i in joining)])
        for rank, item in enumerate(closed_new, start=last + 1):
            item.rank = rank
    opened_or_closed = any(
        was_open[item.pk] != (item.status in OPEN_STATUSES) for item in items if item.pk
    )
    if not (opened_or_closed or ranked):
        return []
    others = list(
        RoadmapItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES)
        .exclude(pk__in=list(was_open))
        .order_by("rank", "id")
    )
    before = {item.pk: item.rank for item in others}
    staying = [item for item in items if item.status in OPEN_STATUSES and was_open.get(item.pk)]
    ordered = [*sorted([*others, *staying], key=lambda item: (item.rank, item.pk)), *joining]
    if opened_or_closed:
        _number(ordered)  # as normalise_ranks does
    if ranked:
        # An item given a rank goes before the one that already held it (apply_ranks).
        wanted = {id(change.item): change.rank for change in changes if change.rank}
        ordered.sort(key=lambda item: (wanted.get(id(item), item.rank), id(item) not in wanted))
        _number(ordered)
    return [item for item in others if item.rank != before[item.pk]]


def _number(ordered: Sequence[RoadmapItem]) -> None:
    for rank, item in enumerate(ordered, start=1):
        item.rank = rank


def _update_rows(items: Sequence[RoadmapItem], fields: Sequence[str]) -> None:
    """Write `fields` of each item to its row: one UPDATE statement, executed for every
    item. (bulk_update writes a CASE per field listing every row, which took 9 s of CPU
    for 1,000 items of 33 fields.)"""
    if not items:
        return
    columns = [field for field in RoadmapItem._meta.concrete_fields if field.name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    table, pk = RoadmapItem._meta.db_table, RoadmapItem._meta.pk.column
    sql = f"UPDATE {quote(table)} SET {assignments} WHERE {quote(pk)} = %s"  # noqa: S608 -- names from the model
    rows = [
        [column.get_db_prep_save(getattr(item, column.attname), connection) for column in columns]
        + [item.pk]
        for item in items
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _save_new_quarters(items: Iterable[RoadmapItem]) -> None:
    """Forms hand over quarters that may not exist yet; create them only when saving."""
    saved: dict[str, Quarter] = {}
    for item in items:
        for name in ("start_quarter", "target_quarter"):
            quarter = getattr(item, name)
            if quarter is not None and quarter.pk is None:
                if quarter.code not in saved:
                    saved[quarter.code] = Quarter.objects.for_code(quarter.code)
                setattr(item, name, saved[quarter.code])


def _set_many_to_many(changes: Sequence[ItemChange], *, existing: list[int]) -> None:
    """Write the requesting teams and dependencies of every item in a few statements: rows
    no longer wanted are deleted, missing ones added, the rest kept. Written silently (no
    m2m_changed): each item's history record, written after, carries them. `existing`:
    the ids of the items that were saved before, the only ones that may have rows."""
    for name in ("requesting_teams", "depends_on"):
        field = RoadmapItem._meta.get_field(name)
        assert isinstance(field, models.ManyToManyField)  # noqa: S101 -- both are
        through = field.remote_field.through
        assert through is not None  # noqa: S101 -- set once the models are loaded
        own, other = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
        wanted = {change.item.pk: {obj.pk for obj in getattr(change, name)} for change in changes}
        current: dict[int, dict[int, int]] = defaultdict(dict)  # item -> other -> row id
        rows = through._default_manager.filter(**{f"{own}__in": existing})
        for row_id, item_id, other_id in rows.values_list("id", own, other):
            current[item_id][other_id] = row_id
        gone = [
            row_id
            for item_id, row_ids in current.items()
            for other_id, row_id in row_ids.items()
            if other_id not in wanted[item_id]
        ]
        if gone:
            through._default_manager.filter(id__in=gone).delete()
        through._default_manager.bulk_create(
            through(**{own: item_id, other: other_id})
            for item_id, other_ids in wanted.items()
            for other_id in sorted(other_ids - current[item_id].keys())
        )


class StaleRanking(Exception):
    """The priority order changed after the page that asked for a move was shown."""


def ranking_version(ranks: Iterable[tuple[int, int | None]]) -> str:
    """A short fingerprint of the priority order, from the (item id, rank) pairs of the
    open items in rank order: any move, new open item or closed item changes it. (An
    item's own `version` does not move when reordering renumbers it.)"""
    text = ";".join(f"{pk}:{rank}" for pk, rank in ranks)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def open_ranks() -> list[tuple[int, int | None]]:
    """(id, rank) of the open items in priority order: what ranking_version fingerprints."""
    items = RoadmapItem.objects.filter(status__in=OPEN_STATUSES).order_by("rank", "id")
    return list(items.values_list("pk", "rank"))


@transaction.atomic
def move_item(
    *, item: RoadmapItem, to_rank: int, by: User, seen_version: str | None = None
) -> RoadmapItem:
    """Put an open item at priority `to_rank` (1 = top) and renumber the open items 1..n.
    With `seen_version` (the ranking_version of the list the move was made on): refused
    with StaleRanking, nothing moved, if the order changed since. The open items stay
    locked from that check to the move, so no other move slips in between."""
    ordered = list(
        RoadmapItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES)
        .order_by("rank", "id")
    )
    if seen_version is not None and seen_version != ranking_version(
        (candidate.pk, candidate.rank) for candidate in ordered
    ):
        raise StaleRanking
    moving = next((candidate for candidate in ordered if candidate.pk == item.pk), None)
    if moving is None:
        raise ValueError("Only proposed, planned or in-progress items have a priority rank.")
    ordered.remove(moving)
    position = min(max(to_rank, 1), len(ordered) + 1)
    ordered.insert(position - 1, moving)
    _renumber(ordered, by=by)
    moving.refresh_from_db(fields=["rank"])
    return moving


def apply_ranks(wanted: dict[int, int], *, by: User | None) -> None:
    """Put items at the ranks a sheet asked for, then renumber the open items 1..n.
    An item given a rank goes before one that already held that rank."""
    ordered = list(
        RoadmapItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES)
        .order_by("rank", "id")
    )
    ordered.sort(key=lambda item: (wanted.get(item.pk, item.rank), item.pk not in wanted))
    _renumber(ordered, by=by)


def normalise_ranks(*, by: User | None) -> None:
    """Renumber open items 1..n in their current order (after an import, say)."""
    ordered = list(
        RoadmapItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES)
        .order_by("rank", "id")
    )
    _renumber(ordered, by=by)


def _renumber(ordered: Sequence[RoadmapItem], *, by: User | None) -> None:
    changed = []
    for rank, candidate in enumerate(ordered, start=1):
        if candidate.rank != rank:
            candidate.rank = rank
            changed.append(candidate)
    if changed:
        _update_rows(changed, ["rank"])
        record_history_in_bulk(changed, by=by)


# --- The board -----------------------------------------------------------------------


@dataclass
class QuarterColumn:
    quarter: Quarter
    planned_weeks: Decimal = Decimal(0)
    capacity_weeks: Decimal | None = None
    people_cost: list[Money] = field(default_factory=list)
    item_count: int = 0  # items in the quarter: from their start quarter to their target
    due_count: int = 0  # of those, items whose target quarter it is

    @property
    def load_percent(self) -> int | None:
        if not self.capacity_weeks:
            return None
        return round(self.planned_weeks * 100 / self.capacity_weeks)

    @property
    def over_committed(self) -> bool:
        return self.capacity_weeks is not None and self.planned_weeks > self.capacity_weeks

    @property
    def over_by_weeks(self) -> Decimal | None:
        if not self.over_committed or self.capacity_weeks is None:
            return None
        return self.planned_weeks - self.capacity_weeks


@dataclass(frozen=True, slots=True)
class Card:
    """What the board shows of an item, computed once even when it spans quarters."""

    title: str
    url: str
    rank: int
    status: str
    status_label: str
    owner: str
    effort_weeks: Decimal | None


@dataclass
class ThemeRow:
    theme: Theme
    cells: list[list[Card]]

    @property
    def is_empty(self) -> bool:
        return not any(self.cells)


@dataclass
class Board:
    columns: list[QuarterColumn]
    rows: list[ThemeRow]
    unscheduled: int
    previous_code: str
    next_code: str


def build_board(*, first_code: str, count: int = 4) -> Board:
    """Quarters as columns, themes as rows; an item sits in every quarter from its start
    quarter to its target quarter, and its effort is spread evenly over them."""
    quarters = Quarter.objects.window(first_code, count)
    position = {quarter.index: column for column, quarter in enumerate(quarters)}
    columns = [QuarterColumn(quarter=quarter) for quarter in quarters]

    saved = [quarter.pk for quarter in quarters if quarter.pk]
    capacity: dict[int, Decimal] = defaultdict(Decimal)
    for row in TeamCapacity.objects.filter(quarter__in=saved).values("quarter", "person_weeks"):
        capacity[row["quarter"]] += row["person_weeks"]
    for column in columns:
        if column.quarter.pk in capacity:
            column.capacity_weeks = capacity[column.quarter.pk]

    themes = list(Theme.objects.all())
    cells: dict[int, list[list[Card]]] = {theme.pk: [[] for _ in quarters] for theme in themes}
    costs: list[list[Money]] = [[] for _ in quarters]
    unscheduled = 0
    # Resolved once per page rather than once per card: 300 items make ~450 cards.
    status_labels = {value: str(label) for value, label in RoadmapItem.Status.choices}
    detail_url = reverse("roadmap:item-detail", args=[0]).replace("/0/", "/{}/")
    items = (
        RoadmapItem.objects.exclude(status=RoadmapItem.Status.DROPPED)
        .with_related()
        .order_by("rank", "id")
    )
    for item in items:
        span = item.quarter_span()
        if not span:
            unscheduled += 1
            continue
        share = (item.effort_weeks or Decimal(0)) / len(span)
        people = item.people_cost()
        card = None
        for index in span:
            at = position.get(index)
            if at is None:
                continue
            card = card or Card(
                title=item.title,
                url=detail_url.format(item.pk),
                rank=item.rank,
                status=item.status,
                status_label=status_labels[item.status],
                owner=item.owner.get_username() if item.owner else "",
                effort_weeks=item.effort_weeks,
            )
            cells[item.theme_id][at].append(card)
            columns[at].planned_weeks += share
            columns[at].item_count += 1
            if index == span[-1]:
                columns[at].due_count += 1
            if people is not None:
                costs[at].append(people * (Decimal(1) / len(span)))
    for column, column_costs in zip(columns, costs, strict=True):
        column.people_cost = totals_by_currency(column_costs)
        column.planned_weeks = column.planned_weeks.quantize(Decimal("0.1"))

    first = quarters[0]
    return Board(
        columns=columns,
        rows=[ThemeRow(theme=theme, cells=cells[theme.pk]) for theme in themes],
        unscheduled=unscheduled,
        previous_code=first.shifted(-1),
        next_code=first.shifted(1),
    )


# --- Capacity --------------------------------------------------------------------------


@dataclass
class CapacityGrid:
    quarters: list[Quarter]
    teams: list[Team]
    weeks: dict[tuple[int, str], Decimal]  # (team id, quarter code) -> person-weeks


def capacity_grid(*, first_code: str, count: int = 4) -> CapacityGrid:
    """Capacity of the teams that deliver work (those with a weekly rate or a capacity
    already set) for `count` quarters from `first_code`."""
    quarters = Quarter.objects.window(first_code, count)
    rows = TeamCapacity.objects.filter(quarter__code__in=[q.code for q in quarters])
    weeks = {
        (row.team_id, row.quarter.code): row.person_weeks for row in rows.select_related("quarter")
    }
    teams = list(
        Team.objects.filter(
            models.Q(weekly_rate__isnull=False) | models.Q(pk__in={team for team, _ in weeks})
        ).order_by("name")
    )
    return CapacityGrid(quarters=quarters, teams=teams, weeks=weeks)


class CapacityConflict(Exception):
    """Someone changed these cells after the editor loaded the page."""

    def __init__(self, cells: list[tuple[Team, str]]):
        super().__init__(", ".join(f"{team} {code}" for team, code in cells))
        self.cells = cells


@transaction.atomic
def set_capacity(*, changes: dict[tuple[Team, str], tuple[Decimal | None, Decimal | None]]) -> int:
    """Apply the cells the editor changed, each given as (value they saw, new value); None
    means not set. Refuses all of them if any cell no longer holds the value they saw."""
    current = {
        (row.team_id, row.quarter.code): row
        for row in TeamCapacity.objects.select_for_update()
        .select_related("quarter")
        .filter(
            team__in={team for team, _code in changes},
            quarter__code__in={code for _team, code in changes},
        )
    }
    stale = [
        (team, code)
        for (team, code), (seen, _new) in changes.items()
        if getattr(current.get((team.pk, code)), "person_weeks", None) != seen
    ]
    if stale:
        raise CapacityConflict(stale)
    for (team, code), (_seen, weeks) in changes.items():
        existing = current.get((team.pk, code))
        if weeks is None:
            if existing:
                existing.delete()
        elif existing is None:
            quarter = Quarter.objects.for_code(code)
            TeamCapacity.objects.create(team=team, quarter=quarter, person_weeks=weeks)
        else:
            existing.person_weeks = weeks
            existing.save(update_fields=["person_weeks"])
    return len(changes)


def planned_weeks_by_quarter(quarters: Sequence[Quarter]) -> dict[int, Decimal]:
    """Planned person-weeks of each quarter (by `Quarter.index`), the figure the roadmap
    board shows: every item that is not dropped spreads its effort evenly over the quarters
    from its start to its target quarter.

    The same arithmetic as build_board (same items, same order, rounded
    to 0.1 at the end); tests/api/test_roadmap_api.py checks that the two agree.
    """
    if not quarters:
        return {}
    wanted = {quarter.index for quarter in quarters}
    first = min(quarters, key=lambda quarter: quarter.start_date)
    items = (
        RoadmapItem.objects.exclude(status=RoadmapItem.Status.DROPPED)
        # An item's span ends at its target quarter: earlier targets never reach the page.
        .filter(target_quarter__start_date__gte=first.start_date)
        .select_related("start_quarter", "target_quarter")
        .only(
            "effort_weeks",
            "start_quarter__year",
            "start_quarter__number",
            "target_quarter__year",
            "target_quarter__number",
        )
        .order_by("rank", "id")
    )
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for item in items:
        span = item.quarter_span()
        share = (item.effort_weeks or Decimal(0)) / len(span)
        for index in span:
            if index in wanted:
                totals[index] += share
    return {index: totals[index].quantize(Decimal("0.1")) for index in wanted}

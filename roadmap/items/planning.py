"""Drafting the roadmap: saving items without lost updates, reordering priority, and the
four-quarter board with planned effort against capacity."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse

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


@transaction.atomic
def save_item(
    *,
    item: RoadmapItem,
    requesting_teams: Iterable[Team],
    depends_on: Iterable[RoadmapItem],
    expected_version: int | None,
    by: User | None,
) -> RoadmapItem:
    """Create or update an item, refusing the save if the item moved past `expected_version`.

    The version check is a conditional UPDATE, so of two concurrent saves exactly one wins
    on both PostgreSQL and SQLite; the loser gets EditConflict describing what changed.
    The save leaves exactly one history record, many-to-many fields included.
    """
    item._history_user = by  # type: ignore[attr-defined]  # read by simple_history's save
    _save_new_quarters(item)
    was_open = None
    if item.pk is None:
        item.version = 1
    else:
        # version=None matches no row: an existing item saved without a version conflicts.
        won = RoadmapItem.objects.filter(pk=item.pk, version=expected_version).update(  # type: ignore[misc]
            version=F("version") + 1
        )
        if not won:
            current = RoadmapItem.objects.get(pk=item.pk)
            raise EditConflict(
                current,
                changes_since(current, expected_version or 0),
                values_at_version(current, expected_version or 0, EDITABLE_FIELDS),
            )
        assert expected_version is not None  # noqa: S101 -- the UPDATE above matched it
        item.version = expected_version + 1
        # Rank is never edited through this path; keep whatever reordering did meanwhile.
        item.rank, old_status = RoadmapItem.objects.values_list("rank", "status").get(pk=item.pk)
        was_open = old_status in OPEN_STATUSES
    is_open = item.status in OPEN_STATUSES
    if is_open and not was_open:
        # New or reopened work joins the bottom of the priority list.
        item.rank = RoadmapItem.objects.filter(status__in=OPEN_STATUSES).next_rank()

    # Many-to-many changes would each leave a record of their own (and a half-changed
    # state in between); write them silently, then record the whole item once.
    item.skip_history_when_saving = True  # type: ignore[attr-defined]  # simple_history's flag
    try:
        item.save()
        _set_if_changed(item, "requesting_teams", requesting_teams)
        _set_if_changed(item, "depends_on", depends_on)
    finally:
        del item.skip_history_when_saving  # type: ignore[attr-defined]
    item.save(update_fields=["updated_at"])
    if was_open is not None and was_open != is_open:
        normalise_ranks(by=by)
        item.refresh_from_db(fields=["rank"])
    return item


def _save_new_quarters(item: RoadmapItem) -> None:
    """Forms hand over quarters that may not exist yet; create them only when saving."""
    for name in ("start_quarter", "target_quarter"):
        quarter = getattr(item, name)
        if quarter is not None and quarter.pk is None:
            setattr(item, name, Quarter.objects.for_code(quarter.code))


def _set_if_changed(item: RoadmapItem, name: str, objects: Iterable) -> None:
    manager = getattr(item, name)
    wanted = {obj.pk for obj in objects}
    if set(manager.values_list("pk", flat=True)) != wanted:
        manager.set(wanted)


@transaction.atomic
def move_item(*, item: RoadmapItem, to_rank: int, by: User) -> RoadmapItem:
    """Put an open item at priority `to_rank` (1 = top) and renumber the open items 1..n."""
    ordered = list(
        RoadmapItem.objects.select_for_update()
        .filter(status__in=OPEN_STATUSES)
        .order_by("rank", "id")
    )
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
        RoadmapItem.objects.bulk_update(changed, ["rank"])
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

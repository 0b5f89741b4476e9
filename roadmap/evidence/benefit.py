"""What a delivered item actually changed, from the data already stored: adoption of the
tables it builds on, readers left on the tables it retires, BigQuery cost before and after
it shipped, a measured proxy of hours saved, and whether the targets it declared were met.

Every figure is computed as of a UTC day (`as_of`): job history and billing after it are
left out, so the same day gives the same answer. `benefit_of_items` runs a fixed number of
queries whatever the number of items; `item_benefit` is the same for one item.

Words used below:
- *delivery day* `d`: the item's `delivered_on`. An item in progress has none; its
  adoption is shown over the last WINDOW_DAYS days and nothing is judged.
- *before window*: the WINDOW_DAYS (8 weeks) days before `d`, `d-56 .. d-1`.
  *after window*: `d .. d+55`, cut at `as_of`; it is *complete* once `as_of >= d+55`.
- *people*: job users that are not service accounts. *readers*: every job user, service
  accounts included (a dashboard's account still keeps a legacy table alive).
- *monthly*: a window's total over its days, times 365/12 days (as cost.usage.tables).
"""

import datetime
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.money import Money
from cost.models import BigQueryTable, to_decimal
from cost.models.usage import USD
from cost.usage.changes import (
    ReaderDay,
    ReaderHistory,
    allocated_cost_days,
    job_runtimes,
    reader_days,
)
from cost.usage.tables import CENT, DAYS_PER_MONTH
from roadmap.models import ItemTable, Quarter, RoadmapItem, StakeholderInterview

WINDOW_DAYS = 56  # 8 weeks before delivery against 8 weeks after
QUIET_DAYS = 28  # a reader who read in the last 28 days has not left
MILESTONES = (10, 50)  # days to the first 10 and 50 people
HOUR = Decimal(3600)
TENTH = Decimal("0.1")


class Outcome(models.TextChoices):
    MET = "met", _("met")
    MISSED = "missed", _("missed")
    NOT_YET_DUE = "not_yet_due", _("not yet due")
    NOT_MEASURED = "not_measured", _("not measured")
    NO_TARGET = "no_target", _("no target")


class TargetKind(models.TextChoices):
    ADOPTION = "adoption", _("adoption")
    RETIREMENT = "retirement", _("retirement")
    COST = "cost", _("cost")


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _weeks(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The Mondays of the ISO weeks from `first`'s to `last`'s."""
    mondays, monday = [], _monday(first)
    while monday <= last:
        mondays.append(monday)
        monday += datetime.timedelta(days=7)
    return mondays


def _iso_label(monday: datetime.date) -> str:
    year, week, _weekday = monday.isocalendar()
    return f"{year}-W{week:02d}"


# --- Adoption ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdoptionWeek:
    """One ISO week on the tables built on; the first week counts from `Adoption.since`."""

    start: datetime.date  # its Monday
    people: int  # distinct
    service_accounts: int  # distinct
    teams: int  # distinct teams of those people
    queries: int  # by people and service accounts

    @property
    def label(self) -> str:
        return _iso_label(self.start)


@dataclass(frozen=True)
class Adoption:
    tables: tuple[BigQueryTable, ...]
    since: datetime.date  # the delivery day; for an item in progress, WINDOW_DAYS ago
    until: datetime.date
    weeks: list[AdoptionWeek]
    people: int  # distinct since `since`
    teams: int
    queries: int
    delivered: bool
    first_days: tuple[datetime.date, ...]  # each person's first query since `since`, sorted
    interviewed_teams: tuple[str, ...]  # names of the teams of the item's interviews
    adopting_interviewed_teams: tuple[str, ...]  # of those, teams with a user who queried

    def days_to_people(self, count: int) -> int | None:
        """Days from delivery to the day the `count`-th distinct person first queried the
        tables (0: on the delivery day); None until reached, or when not delivered."""
        if not self.delivered or count < 1 or len(self.first_days) < count:
            return None
        return (self.first_days[count - 1] - self.since).days

    def people_by(self, day: datetime.date) -> int:
        """Distinct people who had queried the tables by the end of `day`."""
        return sum(1 for first in self.first_days if first <= day)

    @property
    def days_to_10_people(self) -> int | None:
        return self.days_to_people(MILESTONES[0])

    @property
    def days_to_50_people(self) -> int | None:
        return self.days_to_people(MILESTONES[1])

    @property
    def table_names(self) -> list[str]:
        return [table.full_name for table in self.tables]

    @property
    def interviewed_share(self) -> Decimal | None:
        """Share of the interviewed teams that query the tables, 0 to 1 (None: none)."""
        if not self.interviewed_teams:
            return None
        return (
            Decimal(len(self.adopting_interviewed_teams)) / len(self.interviewed_teams)
        ).quantize(Decimal("0.01"))


def _adoption(
    *,
    tables: tuple[BigQueryTable, ...],
    history: ReaderHistory,
    since: datetime.date,
    until: datetime.date,
    delivered: bool,
    interviewed: dict[int, str],
) -> Adoption:
    ids = {table.pk for table in tables}
    days = [d for d in history.days if d.tables & ids and since <= d.day <= until]
    readers = history.readers
    per_week: dict[datetime.date, list[ReaderDay]] = defaultdict(list)
    for reader_day in days:
        per_week[_monday(reader_day.day)].append(reader_day)

    def people_of(rows: Iterable[ReaderDay]) -> set[int]:
        return {r.user_id for r in rows if not readers[r.user_id].is_service_account}

    def teams_of(user_ids: Iterable[int]) -> set[int]:
        return {team for u in user_ids if (team := readers[u].team_id) is not None}

    weeks = []
    for monday in _weeks(since, until):
        rows = per_week.get(monday, [])
        people = people_of(rows)
        weeks.append(
            AdoptionWeek(
                start=monday,
                people=len(people),
                service_accounts=len({r.user_id for r in rows}) - len(people),
                teams=len(teams_of(people)),
                queries=sum(r.queries for r in rows),
            )
        )
    first_day: dict[int, datetime.date] = {}
    for reader_day in days:  # in day order
        if not readers[reader_day.user_id].is_service_account:
            first_day.setdefault(reader_day.user_id, reader_day.day)
    all_people = set(first_day)
    adopting_teams = teams_of({r.user_id for r in days})
    return Adoption(
        tables=tables,
        since=since,
        until=until,
        weeks=weeks,
        people=len(all_people),
        teams=len(teams_of(all_people)),
        queries=sum(r.queries for r in days),
        delivered=delivered,
        first_days=tuple(sorted(first_day.values())),
        interviewed_teams=tuple(sorted(interviewed.values())),
        adopting_interviewed_teams=tuple(
            sorted(name for team, name in interviewed.items() if team in adopting_teams)
        ),
    )


# --- Retirement ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadersWeek:
    start: datetime.date  # its Monday
    readers: int  # distinct users who read the table(s) that week (days in the period)

    @property
    def label(self) -> str:
        return _iso_label(self.start)


@dataclass(frozen=True)
class TableReaders:
    table: BigQueryTable
    weeks: list[ReadersWeek]
    last_read_on: datetime.date | None  # in the period


@dataclass(frozen=True)
class RemainingReader:
    """Someone who read a retired table in the last QUIET_DAYS: the next person to talk to."""

    email: str
    team: str  # "" when mapped to no team
    is_service_account: bool
    last_query_on: datetime.date
    queries: int  # in the last QUIET_DAYS days
    tables: tuple[str, ...]  # full names of the retired tables they read


@dataclass(frozen=True)
class FlaggedRead:
    """Queries reading a retired table on or after the retirement target date."""

    day: datetime.date
    email: str
    team: str
    queries: int
    tables: tuple[str, ...]


@dataclass(frozen=True)
class Retirement:
    tables: tuple[BigQueryTable, ...]
    since: datetime.date  # the before window's first day (or WINDOW_DAYS ago)
    until: datetime.date  # as_of, or the last day of job history if that is earlier
    weeks: list[ReadersWeek]  # distinct readers of any of the tables
    per_table: list[TableReaders]
    remaining: list[RemainingReader]  # by last query, newest first
    last_read_on: datetime.date | None
    last_reader_left_on: datetime.date | None
    target_date: datetime.date | None
    flagged: list[FlaggedRead]  # empty unless the target date has come

    @property
    def table_names(self) -> list[str]:
        return [table.full_name for table in self.tables]

    @property
    def readers_left(self) -> int:
        return len(self.remaining)

    @property
    def week_rows(self) -> list[tuple[ReadersWeek, list[int]]]:
        """Per week: the week over all the tables, and each table's readers (per_table
        order), for a table of weeks by table."""
        return [
            (week, [table.weeks[index].readers for table in self.per_table])
            for index, week in enumerate(self.weeks)
        ]


def _retirement(
    *,
    tables: tuple[BigQueryTable, ...],
    history: ReaderHistory,
    since: datetime.date,
    until: datetime.date,
    target: datetime.date | None,
) -> Retirement:
    """`last_reader_left_on` is the day after the last day any job read one of the
    tables (`last_read_on`), once nobody has read them for QUIET_DAYS days up to `until`
    (the earlier of as_of and the last day of job history); None while someone has,
    and None when nothing read them in the whole period (no reader left: none was seen)."""
    names = {table.pk: table.full_name for table in tables}
    days = [d for d in history.days if d.tables & names.keys() and since <= d.day <= until]
    readers = history.readers
    mondays = _weeks(since, until) if since <= until else []

    def week_counts(rows: list[ReaderDay]) -> list[ReadersWeek]:
        users: dict[datetime.date, set[int]] = defaultdict(set)
        for row in rows:
            users[_monday(row.day)].add(row.user_id)
        return [ReadersWeek(start=monday, readers=len(users[monday])) for monday in mondays]

    per_table = []
    for table in tables:
        rows = [d for d in days if table.pk in d.tables]
        per_table.append(
            TableReaders(
                table=table,
                weeks=week_counts(rows),
                last_read_on=max((r.day for r in rows), default=None),
            )
        )
    quiet_from = until - datetime.timedelta(days=QUIET_DAYS - 1)
    recent: dict[int, list[ReaderDay]] = defaultdict(list)
    for row in days:
        if row.day >= quiet_from:
            recent[row.user_id].append(row)

    def table_names(rows: Iterable[ReaderDay]) -> tuple[str, ...]:
        return tuple(sorted({names[t] for r in rows for t in r.tables if t in names}))

    remaining = sorted(
        (
            RemainingReader(
                email=readers[user_id].email,
                team=readers[user_id].team_name,
                is_service_account=readers[user_id].is_service_account,
                last_query_on=max(r.day for r in rows),
                queries=sum(r.queries for r in rows),
                tables=table_names(rows),
            )
            for user_id, rows in recent.items()
        ),
        key=lambda reader: (-reader.last_query_on.toordinal(), reader.email),
    )
    last_read = max((r.day for r in days), default=None)
    left_on = None
    if last_read is not None and not remaining:
        left_on = last_read + datetime.timedelta(days=1)
    flagged = []
    if target is not None:
        for row in days:
            if row.day >= target:
                reader = readers[row.user_id]
                flagged.append(
                    FlaggedRead(day=row.day, email=reader.email, team=reader.team_name,
                                queries=row.queries, tables=table_names([row]))
                )  # fmt: skip
    return Retirement(
        tables=tables,
        since=since,
        until=until,
        weeks=week_counts(days),
        per_table=per_table,
        remaining=remaining,
        last_read_on=last_read,
        last_reader_left_on=left_on,
        target_date=target,
        flagged=flagged,
    )


# --- Cost ----------------------------------------------------------------------------------


class CostSource(models.TextChoices):
    RULES = "rules", _("billing facts the allocation rules give the item")
    QUERIES = "queries", _("allocated cost of the queries reading the item's tables")


@dataclass(frozen=True)
class CostWindow:
    since: datetime.date
    until: datetime.date
    total: Money

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def monthly(self) -> Money:
        amount = self.total.amount * DAYS_PER_MONTH / self.days
        return Money(amount.quantize(CENT), self.total.currency)


@dataclass(frozen=True)
class CostChange:
    """The item's BigQuery cost in the before and after windows, as monthly figures.
    An estimate: see `explanation`."""

    source: str | None  # a CostSource; None when nothing measures it
    before: CostWindow | None
    after: CostWindow | None
    declared: Money | None  # the monthly change the item declared
    complete: bool  # the after window is over
    explanation: str

    @property
    def monthly_change(self) -> Money | None:
        if self.before is None or self.after is None:
            return None
        return self.after.monthly - self.before.monthly

    @property
    def comparable(self) -> bool:
        change = self.monthly_change
        return (
            change is not None
            and self.declared is not None
            and change.currency == self.declared.currency
        )


def _cost_change(
    *,
    item: RoadmapItem,
    delivered_on: datetime.date | None,
    as_of: datetime.date,
    rule_days: list[tuple[datetime.date, str, int]],
    usage_days: list[ReaderDay],
    history: ReaderHistory,
    has_tables: bool,
) -> CostChange:
    declared = item.bq_monthly_change_money()
    if delivered_on is None:
        return CostChange(
            source=None, before=None, after=None, declared=declared, complete=False,
            explanation=gettext("Not delivered yet: the cost before and after is measured "
                                "from the day it ships."),
        )  # fmt: skip
    before = (delivered_on - datetime.timedelta(days=WINDOW_DAYS), delivered_on - _DAY)
    after = (delivered_on, min(delivered_on + datetime.timedelta(days=WINDOW_DAYS - 1), as_of))
    complete = as_of >= delivered_on + datetime.timedelta(days=WINDOW_DAYS - 1)
    if rule_days:
        currencies = {currency for _day, currency, _nanos in rule_days}
        currency = item.currency if item.currency in currencies else sorted(currencies)[0]

        def total(first: datetime.date, last: datetime.date) -> Money:
            nanos = sum(n for day, c, n in rule_days if c == currency and first <= day <= last)
            return Money(to_decimal(nanos), currency)

        return CostChange(
            source=CostSource.RULES,
            before=CostWindow(before[0], before[1], total(*before)),
            after=CostWindow(after[0], after[1], total(*after)),
            declared=declared,
            complete=complete,
            explanation=gettext(
                "An estimate: the net cost (cost plus credits) of the current billing data "
                "that the allocation rules naming this item attribute to it, in %(currency)s, "
                "over the 8 weeks before %(day)s against the weeks since (up to 8), each "
                "turned into a monthly figure (its daily average x 365 / 12). Billing days "
                "are days in the billing account's time zone."
            )
            % {"currency": currency, "day": delivered_on.isoformat()},
        )
    covered = (
        history.history_from is not None
        and history.history_until is not None
        and history.history_from <= before[0]
        and history.history_until >= after[1]
    )
    if not has_tables or not covered:
        return CostChange(
            source=None, before=None, after=None, declared=declared, complete=complete,
            explanation=gettext(
                "Not measured: no allocation rule names this item, and the job history "
                "does not cover its tables over the 8 weeks before and after %(day)s."
            ) % {"day": delivered_on.isoformat()},
        )  # fmt: skip

    def queried(first: datetime.date, last: datetime.date) -> Money:
        nanos = sum(d.cost_nanos for d in usage_days if first <= d.day <= last)
        return Money(to_decimal(nanos), USD)

    return CostChange(
        source=CostSource.QUERIES,
        before=CostWindow(before[0], before[1], queried(*before)),
        after=CostWindow(after[0], after[1], queried(*after)),
        declared=declared,
        complete=complete,
        explanation=gettext(
            "An estimate: no allocation rule names this item, so this is the cost the job "
            "history allocates, at list prices in USD, to the queries that read the tables "
            "it retires or builds on (a query reading several of them counts once), over "
            "the 8 weeks before %(day)s against the weeks since (up to 8), each turned into "
            "a monthly figure (its daily average x 365 / 12). The cost of the pipelines "
            "that write the tables counts only through allocation rules."
        )
        % {"day": delivered_on.isoformat()},
    )


_DAY = datetime.timedelta(days=1)


# --- Hours ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoursSaved:
    """Promised hours against a measured proxy, or None with the reason it is not measured:
    queries that moved (people who read the retired tables in the before window, their
    queries on the built-on tables in the after window, per month) x the difference of
    the median runtimes (jobs reading the retired tables before, the built-on tables
    after). Time spent waiting for queries, not all the time an analyst saves."""

    promised: Decimal | None  # hours per month, as declared
    measured: Decimal | None  # hours per month; negative when the new tables are slower
    reason: str  # how it was measured, or why not
    moved_queries_per_month: Decimal | None = None
    median_before_seconds: Decimal | None = None
    median_after_seconds: Decimal | None = None


def _hours_saved(
    *,
    item: RoadmapItem,
    delivered_on: datetime.date | None,
    as_of: datetime.date,
    retire_ids: set[int],
    build_ids: set[int],
    history: ReaderHistory,
    runtimes: Sequence[tuple[frozenset[int], datetime.date, float]],
) -> HoursSaved:
    promised = item.hours_saved_per_month

    def not_measured(reason: str) -> HoursSaved:
        return HoursSaved(promised=promised, measured=None, reason=reason)

    if delivered_on is None:
        return not_measured(gettext("Not measured: it has not been delivered yet."))
    if not retire_ids or not build_ids:
        return not_measured(
            gettext(
                "Not measured: the proxy needs tables it retires and tables it builds on, "
                "to see queries move from one to the other."
            )
        )
    before_first = delivered_on - datetime.timedelta(days=WINDOW_DAYS)
    after_last = min(delivered_on + datetime.timedelta(days=WINDOW_DAYS - 1), as_of)
    readers = history.readers
    before_people = {
        d.user_id
        for d in history.days
        if d.tables & retire_ids
        and before_first <= d.day < delivered_on
        and not readers[d.user_id].is_service_account
    }
    moved = sum(
        d.queries
        for d in history.days
        if d.user_id in before_people
        and d.tables & build_ids
        and delivered_on <= d.day <= after_last
    )
    if not moved:
        return not_measured(
            gettext(
                "Not measured: nobody who read the retired tables before delivery has "
                "queried the tables it builds on since."
            )
        )
    before_runs = [s for tables, day, s in runtimes
                   if tables & retire_ids and before_first <= day < delivered_on]  # fmt: skip
    after_runs = [s for tables, day, s in runtimes
                  if tables & build_ids and delivered_on <= day <= after_last]  # fmt: skip
    if not before_runs or not after_runs:
        return not_measured(
            gettext(
                "Not measured: the job rows with runtimes are kept for the retention window "
                "only, and none are left for one of the two windows."
            )
        )
    after_days = (after_last - delivered_on).days + 1
    per_month = (Decimal(moved) * DAYS_PER_MONTH / after_days).quantize(TENTH)
    median_before = Decimal(str(statistics.median(before_runs))).quantize(Decimal("0.001"))
    median_after = Decimal(str(statistics.median(after_runs))).quantize(Decimal("0.001"))
    measured = (per_month * (median_before - median_after) / HOUR).quantize(TENTH)
    return HoursSaved(
        promised=promised,
        measured=measured,
        reason=gettext(
            "A proxy: %(queries)s queries a month moved from the retired tables to the new "
            "ones (by people who read the retired tables before delivery) x the median "
            "runtime of %(before)s s before against %(after)s s after."
        )
        % {"queries": per_month, "before": median_before, "after": median_after},
        moved_queries_per_month=per_month,
        median_before_seconds=median_before,
        median_after_seconds=median_after,
    )


# --- Targets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCheck:
    kind: str  # a TargetKind
    outcome: str  # an Outcome
    due_on: datetime.date | None  # the day the target is judged by
    target: str  # the target in words
    result: str  # what was measured, in words

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label)

    @property
    def kind_label(self) -> str:
        return str(TargetKind(self.kind).label)


def _adoption_target(
    item: RoadmapItem, adoption: Adoption | None, delivered_on: datetime.date | None,
    as_of: datetime.date,
) -> TargetCheck | None:  # fmt: skip
    """Met once N distinct people have queried the built-on tables within W weeks of the
    delivery day (from d to d + 7W - 1); missed when those weeks are over short of N."""
    people, weeks = item.adoption_target_people, item.adoption_target_weeks
    if people is None or weeks is None:
        return None
    target = gettext("%(people)s people within %(weeks)s weeks") % {
        "people": people,
        "weeks": weeks,
    }
    if delivered_on is None:
        return TargetCheck(TargetKind.ADOPTION, Outcome.NOT_YET_DUE, None, target, "")
    due = delivered_on + datetime.timedelta(days=7 * weeks - 1)
    if adoption is None:
        return TargetCheck(
            TargetKind.ADOPTION,
            Outcome.NOT_MEASURED,
            due,
            target,
            gettext("It names no table it builds on."),
        )
    reached = adoption.days_to_people(people)
    if reached is not None and reached <= (due - delivered_on).days:
        outcome = Outcome.MET
        result = gettext("%(people)s people after %(days)s days") % {
            "people": people,
            "days": reached,
        }
    else:
        outcome = Outcome.MISSED if as_of > due else Outcome.NOT_YET_DUE
        count = adoption.people_by(due)
        result = gettext("%(count)s people so far") % {"count": count}
    return TargetCheck(TargetKind.ADOPTION, outcome, due, target, result)


def _retirement_target(
    item: RoadmapItem, retirement: Retirement | None, history: ReaderHistory,
    as_of: datetime.date,
) -> TargetCheck | None:  # fmt: skip
    """Met when no job read a retired table from the target date to as_of (the job
    history reaching that far); missed as soon as one did; not yet due before it."""
    due = item.retirement_target_date
    if due is None:
        return None
    target = gettext("No readers from %(day)s") % {"day": due.isoformat()}
    if retirement is None:
        return TargetCheck(
            TargetKind.RETIREMENT,
            Outcome.NOT_MEASURED,
            due,
            target,
            gettext("It names no table it retires."),
        )
    if as_of < due:
        return TargetCheck(
            TargetKind.RETIREMENT,
            Outcome.NOT_YET_DUE,
            due,
            target,
            gettext("%(count)s readers left") % {"count": retirement.readers_left},
        )
    if retirement.flagged:
        reads = sum(flag.queries for flag in retirement.flagged)
        return TargetCheck(
            TargetKind.RETIREMENT,
            Outcome.MISSED,
            due,
            target,
            gettext("%(count)s queries read them since") % {"count": reads},
        )
    if history.history_until is None or history.history_until < due:
        return TargetCheck(
            TargetKind.RETIREMENT,
            Outcome.NOT_MEASURED,
            due,
            target,
            gettext("The job history does not reach the target date yet."),
        )
    return TargetCheck(
        TargetKind.RETIREMENT, Outcome.MET, due, target, gettext("No query read them since.")
    )


def _cost_target(cost: CostChange, delivered_on: datetime.date | None) -> TargetCheck | None:
    """Met when the measured monthly change is no higher than the declared one: a saving
    at least as large as promised, or an increase no larger. Judged once the after window
    is complete, in the declared currency only."""
    declared = cost.declared
    if declared is None:
        return None
    target = gettext("%(change)s a month") % {"change": declared}
    due = delivered_on + datetime.timedelta(days=WINDOW_DAYS - 1) if delivered_on else None
    if not cost.complete:
        return TargetCheck(TargetKind.COST, Outcome.NOT_YET_DUE, due, target, "")
    change = cost.monthly_change
    if change is None or not cost.comparable:
        return TargetCheck(
            TargetKind.COST,
            Outcome.NOT_MEASURED,
            due,
            target,
            gettext("No cost in the declared currency measures it."),
        )
    outcome = Outcome.MET if change.amount <= declared.amount else Outcome.MISSED
    return TargetCheck(TargetKind.COST, outcome, due, target,
                       gettext("%(change)s a month measured") % {"change": change})  # fmt: skip


# --- The whole ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemBenefit:
    item_id: int
    title: str
    status: str
    delivered_on: datetime.date | None  # None also when it is after as_of
    as_of: datetime.date
    adoption: Adoption | None  # None: it names no table it builds on
    retirement: Retirement | None  # None: it names no table it retires
    cost: CostChange
    hours: HoursSaved
    targets: list[TargetCheck] = field(default_factory=list)

    @property
    def quarter(self) -> str | None:
        """The quarter it was delivered in, e.g. 2027-Q1."""
        return Quarter.code_for_date(self.delivered_on) if self.delivered_on else None

    @property
    def outcome(self) -> str:
        """Over every target it declared: missed if one is missed, not yet due if one is
        not due yet, not measured if one cannot be, met when all are met."""
        outcomes = {check.outcome for check in self.targets}
        for outcome in (Outcome.MISSED, Outcome.NOT_YET_DUE, Outcome.NOT_MEASURED):
            if outcome in outcomes:
                return outcome
        return Outcome.MET if outcomes else Outcome.NO_TARGET

    @property
    def outcome_label(self) -> str:
        return str(Outcome(self.outcome).label)


def shows_benefit(item: RoadmapItem, build_on_count: int) -> bool:
    """Done items, and items in progress that build on tables, have a realised benefit."""
    if item.status == RoadmapItem.Status.DONE:
        return True
    return item.status == RoadmapItem.Status.IN_PROGRESS and build_on_count > 0


def benefit_of_items(
    *, items: Sequence[RoadmapItem], as_of: datetime.date
) -> dict[int, ItemBenefit]:
    """The realised benefit of each item, by id, as of the UTC day `as_of`. At most nine
    queries, whatever the number of items: their tables, their interviews' teams, the job
    usage of all their tables (four), the job runtimes (two) and the allocated billing
    cost (none of the last when no table or no delivered item needs them)."""
    item_ids = [item.pk for item in items]
    links = list(ItemTable.objects.filter(item_id__in=item_ids).select_related("table"))
    tables: dict[int, dict[str, list[BigQueryTable]]] = defaultdict(lambda: defaultdict(list))
    for link in sorted(links, key=lambda link: link.table.full_name):
        tables[link.item_id][link.role].append(link.table)
    interviewed: dict[int, dict[int, str]] = defaultdict(dict)
    for item_id, team_id, name in StakeholderInterview.items.through.objects.filter(
        roadmapitem_id__in=item_ids
    ).values_list("roadmapitem_id", "stakeholderinterview__team_id",
                  "stakeholderinterview__team__name"):  # fmt: skip
        interviewed[item_id][team_id] = name

    delivered = {
        item.pk: item.delivered_on
        for item in items
        if item.delivered_on is not None and item.delivered_on <= as_of
    }

    def first_day(item: RoadmapItem) -> datetime.date:
        day = delivered.get(item.pk)
        return (day or as_of) - datetime.timedelta(days=WINDOW_DAYS - (0 if day else 1))

    since = min((first_day(item) for item in items), default=as_of)
    table_ids = {link.table_id for link in links}
    history = reader_days(table_ids=table_ids, since=since, until=as_of)
    runtimes = [(r.tables, r.day, r.seconds)
                for r in job_runtimes(table_ids=table_ids, since=since, until=as_of)]  # fmt: skip
    rule_days: dict[int, list[tuple[datetime.date, str, int]]] = defaultdict(list)
    for row in allocated_cost_days(item_ids=list(delivered), since=since, until=as_of):
        rule_days[row.item_id].append((row.day, row.currency, row.net_nanos))

    until = min(as_of, history.history_until) if history.history_until else as_of
    # Each item looks only at the rows of its own tables: indexed once by table, so the
    # work grows with the rows, not with rows x items.
    days_of: dict[int, list[int]] = defaultdict(list)
    for index, reader_day in enumerate(history.days):
        for table_id in reader_day.tables:
            days_of[table_id].append(index)
    runs_of: dict[int, list[int]] = defaultdict(list)
    for index, (run_tables, _day, _seconds) in enumerate(runtimes):
        for table_id in run_tables:
            runs_of[table_id].append(index)

    def rows_of(index: dict[int, list[int]], table_ids: set[int]) -> list[int]:
        if len(table_ids) == 1:
            return index.get(next(iter(table_ids)), [])
        return sorted({i for table_id in table_ids for i in index.get(table_id, ())})

    results = {}
    for item in items:
        delivered_on = delivered.get(item.pk)
        build_on = tuple(tables[item.pk][ItemTable.Role.BUILD_ON])
        retire = tuple(tables[item.pk][ItemTable.Role.RETIRE])
        start = first_day(item)
        every = {table.pk for table in (*build_on, *retire)}
        item_history = ReaderHistory(
            days=[history.days[i] for i in rows_of(days_of, every)],  # still in day order
            readers=history.readers,
            history_from=history.history_from,
            history_until=history.history_until,
        )
        item_runtimes = [runtimes[i] for i in rows_of(runs_of, every)]
        adoption = (
            _adoption(tables=build_on, history=item_history, since=delivered_on or start,
                      until=as_of, delivered=delivered_on is not None,
                      interviewed=interviewed[item.pk])
            if build_on else None
        )  # fmt: skip
        retirement = (
            _retirement(tables=retire, history=item_history, since=start, until=until,
                        target=item.retirement_target_date)
            if retire else None
        )  # fmt: skip
        cost = _cost_change(
            item=item,
            delivered_on=delivered_on,
            as_of=as_of,
            rule_days=rule_days[item.pk],
            usage_days=item_history.days,
            history=item_history,
            has_tables=bool(every),
        )
        hours = _hours_saved(
            item=item,
            delivered_on=delivered_on,
            as_of=as_of,
            retire_ids={table.pk for table in retire},
            build_ids={table.pk for table in build_on},
            history=item_history,
            runtimes=item_runtimes,
        )
        checks = [
            _adoption_target(item, adoption, delivered_on, as_of),
            _retirement_target(item, retirement, item_history, as_of),
            _cost_target(cost, delivered_on),
        ]
        results[item.pk] = ItemBenefit(
            item_id=item.pk,
            title=item.title,
            status=item.status,
            delivered_on=delivered_on,
            as_of=as_of,
            adoption=adoption,
            retirement=retirement,
            cost=cost,
            hours=hours,
            targets=[check for check in checks if check is not None],
        )
    return results


def item_benefit(*, item: RoadmapItem, as_of: datetime.date) -> ItemBenefit:
    return benefit_of_items(items=[item], as_of=as_of)[item.pk]


# --- Per quarter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterBenefit:
    """Of the items delivered in a quarter, how their declared targets came out; shaped
    like roadmap.reviews.track_record.QuarterRecord, its neighbour on the pages."""

    quarter: str
    met: int
    missed: int
    not_yet_due: int
    not_measured: int
    no_target: int

    @property
    def delivered(self) -> int:
        return self.met + self.missed + self.not_yet_due + self.not_measured + self.no_target

    @property
    def ratio(self) -> float | None:
        """Met among the items whose targets are judged (met or missed)."""
        decided = self.met + self.missed
        return None if decided == 0 else self.met / decided


def benefit_by_quarter(benefits: Iterable[ItemBenefit]) -> list[QuarterBenefit]:
    """Outcomes of the delivered items per delivery quarter, oldest first."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(Outcome.values, 0))
    for benefit in benefits:
        if benefit.quarter is not None:
            counts[benefit.quarter][benefit.outcome] += 1
    return [
        QuarterBenefit(
            quarter=code,
            met=counts[code][Outcome.MET],
            missed=counts[code][Outcome.MISSED],
            not_yet_due=counts[code][Outcome.NOT_YET_DUE],
            not_measured=counts[code][Outcome.NOT_MEASURED],
            no_target=counts[code][Outcome.NO_TARGET],
        )
        for code in sorted(counts)
    ]

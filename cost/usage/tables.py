"""How much a few tables are used, from the daily job usage: the evidence a roadmap item
cites for the tables it retires or builds on.

Read-only, over `JobUsageDay` (so it outlives the retention of job rows). A day's row
belongs to one table set; a row counts when its set holds at least one of the tables, so
a job that read two of them counts once, for its queries and for its cost. Jobs that
read no table (cache hits, SELECT 1) never count here.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from core.money import Money
from cost.models import BigQueryTable, JobUsageDay, TableSetMember, to_decimal

USD = "USD"
CENT = Decimal("0.01")
# An average month, for a monthly figure from any number of days.
DAYS_PER_MONTH = Decimal(365) / Decimal(12)


@dataclass(frozen=True)
class WeekUsage:
    """One ISO week (Monday to Sunday); `days` of it fall inside the period."""

    start: datetime.date
    days: int
    users: int  # distinct people and service accounts
    service_accounts: int
    teams: int  # distinct teams of those users; users mapped to no team are not a team
    queries: int

    @property
    def label(self) -> str:
        year, week, _weekday = self.start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def people(self) -> int:
        return self.users - self.service_accounts

    @property
    def partial(self) -> bool:
        return self.days < 7


@dataclass(frozen=True)
class MonthCost:
    """Allocated query cost of one calendar month's days inside the period."""

    month: datetime.date  # its first day
    days: int
    queries: int
    cost: Decimal
    currency: str = USD

    @property
    def money(self) -> Money:
        return Money(self.cost, self.currency)

    @property
    def partial(self) -> bool:
        next_month = (self.month + datetime.timedelta(days=32)).replace(day=1)
        return self.days < (next_month - self.month).days


@dataclass(frozen=True)
class TableEvidence:
    tables: tuple[BigQueryTable, ...]
    since: datetime.date  # the period asked for
    until: datetime.date
    # The part of the period the imported job history covers (None: it covers none of it).
    covered_since: datetime.date | None
    covered_until: datetime.date | None
    weeks: list[WeekUsage]
    months: list[MonthCost]
    users: int  # distinct over the whole period
    service_accounts: int
    teams: int
    queries: int
    cost: Decimal  # allocated, over the covered period
    currency: str = USD

    @property
    def people(self) -> int:
        return self.users - self.service_accounts

    @property
    def covered_days(self) -> int:
        if self.covered_since is None or self.covered_until is None:
            return 0
        return (self.covered_until - self.covered_since).days + 1

    @property
    def has_history(self) -> bool:
        return self.covered_days > 0

    @property
    def cost_per_month(self) -> Decimal | None:
        """The covered period's daily average over an average month (365/12 days)."""
        if not self.covered_days:
            return None
        return (self.cost * DAYS_PER_MONTH / self.covered_days).quantize(CENT)

    @property
    def monthly_money(self) -> Money | None:
        monthly = self.cost_per_month
        return None if monthly is None else Money(monthly, self.currency)


def _covered(since: datetime.date, until: datetime.date) -> tuple:
    """The days of [since, until] between the first and the last day of job history."""
    span = JobUsageDay.objects.aggregate(first=Min("day"), last=Max("day"))
    if span["first"] is None:
        return None, None
    first, last = max(since, span["first"]), min(until, span["last"])
    return (first, last) if first <= last else (None, None)


def _as_date(value: datetime.date) -> datetime.date:
    # TruncWeek/TruncMonth of a date come back as dates on SQLite, datetimes on some
    # backends.
    return value.date() if isinstance(value, datetime.datetime) else value


def _days_in(
    first: datetime.date, last: datetime.date, lo: datetime.date, hi: datetime.date
) -> int:
    start, end = max(first, lo), min(last, hi)
    return max((end - start).days + 1, 0)


def usage_of_tables(
    *, tables: list[BigQueryTable], since: datetime.date, until: datetime.date
) -> TableEvidence:
    """Per ISO week: distinct users, teams and queries; per month: allocated query cost;
    and the totals over the period (days in UTC, both ends included)."""
    table_ids = sorted({table.pk for table in tables})
    covered_since, covered_until = _covered(since, until)
    empty = TableEvidence(
        tables=tuple(tables), since=since, until=until, covered_since=covered_since,
        covered_until=covered_until, weeks=[], months=[], users=0, service_accounts=0,
        teams=0, queries=0, cost=Decimal(0),
    )  # fmt: skip
    if not table_ids or covered_since is None:
        return empty
    sets = TableSetMember.objects.filter(table_id__in=table_ids).values("table_set_id")
    rows = JobUsageDay.objects.filter(
        day__gte=covered_since, day__lte=covered_until, table_set_id__in=sets
    )
    counts = {
        "users": Count("user", distinct=True),
        "service_accounts": Count("user", distinct=True, filter=Q(user__is_service_account=True)),
        "teams": Count("user__team", distinct=True),
        "queries": Sum("queries"),
    }
    by_week = {
        _as_date(row["week"]): row
        for row in rows.annotate(week=TruncWeek("day")).values("week").annotate(**counts)
    }
    by_month = {
        _as_date(row["month"]): row
        for row in rows.annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(queries=Sum("queries"), cost_nanos=Sum("cost_nanos"))
    }
    totals = rows.aggregate(**counts, cost_nanos=Sum("cost_nanos"))

    weeks = []
    week = covered_since - datetime.timedelta(days=covered_since.weekday())
    while week <= covered_until:
        row = by_week.get(week, {})
        weeks.append(
            WeekUsage(
                start=week,
                days=_days_in(week, week + datetime.timedelta(days=6), covered_since,
                              covered_until),
                users=row.get("users", 0),
                service_accounts=row.get("service_accounts", 0),
                teams=row.get("teams", 0),
                queries=row.get("queries") or 0,
            )
        )  # fmt: skip
        week += datetime.timedelta(days=7)

    months = []
    month = covered_since.replace(day=1)
    while month <= covered_until:
        following = (month + datetime.timedelta(days=32)).replace(day=1)
        row = by_month.get(month, {})
        months.append(
            MonthCost(
                month=month,
                days=_days_in(month, following - datetime.timedelta(days=1), covered_since,
                              covered_until),
                queries=row.get("queries") or 0,
                cost=to_decimal(row.get("cost_nanos") or 0),
            )
        )  # fmt: skip
        month = following

    return TableEvidence(
        tables=tuple(tables),
        since=since,
        until=until,
        covered_since=covered_since,
        covered_until=covered_until,
        weeks=weeks,
        months=months,
        users=totals["users"] or 0,
        service_accounts=totals["service_accounts"] or 0,
        teams=totals["teams"] or 0,
        queries=totals["queries"] or 0,
        cost=to_decimal(totals["cost_nanos"] or 0),
    )

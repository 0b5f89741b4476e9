"""What happened on a few tables, day by day, and what a work item's allocated cost did:
the raw figures a higher layer (the roadmap's realised benefit) compares before and after
a change. Each function is one or a few queries, whatever the number of tables or items.

- `reader_days`: from the daily job usage (`JobUsageDay`, which outlives the job rows),
  who read which of the tables on which UTC day, with their queries and allocated cost.
  A day's row belongs to one table set; it is reported with the tables of that set that
  were asked about, so a job that read two of them is one row, counted once.
- `job_runtimes`: from the job rows (`BigQueryJob`, kept for the retention window only),
  how long each query reading the tables ran.
- `allocated_cost_days`: from the current billing facts, the net cost (cost plus
  credits) the allocation rules attribute to each work item, per usage day and currency.
"""

import datetime
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import DurationField, ExpressionWrapper, F, Max, Min, Sum

from cost.models import CostFact, JobUsageDay, JobUser, TableSetMember
from cost.usage.reports import as_int, utc_bounds
from cost.usage.spending import counted_jobs


@dataclass(frozen=True, slots=True)
class ReaderDay:
    """The queries one user ran on one UTC day that read `tables` (of those asked about)."""

    tables: frozenset[int]  # BigQueryTable ids
    day: datetime.date
    user_id: int
    queries: int
    cost_nanos: int  # allocated, USD billionths


@dataclass(frozen=True, slots=True)
class Reader:
    """A user who ran jobs, with the team they are mapped to ("" when none)."""

    user_id: int
    email: str
    is_service_account: bool
    team_id: int | None
    team_name: str


@dataclass(frozen=True)
class ReaderHistory:
    days: list[ReaderDay]  # by day, then user
    readers: dict[int, Reader]  # by user id, every user of `days`
    # The first and last day of the whole imported job history (None: none imported):
    # a day outside it has no figures, which is not the same as no readers.
    history_from: datetime.date | None
    history_until: datetime.date | None


def _sets_of(table_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """Table set id -> the asked-about tables among its members."""
    members: dict[int, set[int]] = defaultdict(set)
    for set_id, table_id in TableSetMember.objects.filter(table_id__in=list(table_ids)).values_list(
        "table_set_id", "table_id"
    ):
        members[set_id].add(table_id)
    return {set_id: frozenset(tables) for set_id, tables in members.items()}


def reader_days(
    *, table_ids: Collection[int], since: datetime.date, until: datetime.date
) -> ReaderHistory:
    """Every (tables, day, user) with queries reading any of `table_ids` from `since` to
    `until` (UTC days, both included). Four queries."""
    span = JobUsageDay.objects.aggregate(first=Min("day"), last=Max("day"))
    sets = _sets_of(table_ids) if table_ids else {}
    merged: dict[tuple[frozenset[int], datetime.date, int], list[int]] = defaultdict(lambda: [0, 0])
    if sets:
        rows = (
            JobUsageDay.objects.filter(table_set_id__in=list(sets), day__gte=since, day__lte=until)
            .values("table_set_id", "day", "user_id")
            .annotate(queries=Sum("queries"), cost_nanos=Sum("cost_nanos"))
            .order_by()
        )
        for row in rows:
            # Sets of other tables too may share the asked-about ones: one row each.
            sums = merged[(sets[row["table_set_id"]], row["day"], row["user_id"])]
            sums[0] += as_int(row["queries"])
            sums[1] += as_int(row["cost_nanos"])
    days = [
        ReaderDay(tables=tables, day=day, user_id=user_id, queries=queries, cost_nanos=cost)
        for (tables, day, user_id), (queries, cost) in merged.items()
    ]
    days.sort(key=lambda reader_day: (reader_day.day, reader_day.user_id))
    user_ids = {reader_day.user_id for reader_day in days}
    readers = {
        user.pk: Reader(
            user_id=user.pk,
            email=user.email,
            is_service_account=user.is_service_account,
            team_id=user.team_id,
            team_name=user.team.name if user.team else "",
        )
        for user in JobUser.objects.filter(pk__in=user_ids).select_related("team")
    }
    return ReaderHistory(
        days=days, readers=readers, history_from=span["first"], history_until=span["last"]
    )


@dataclass(frozen=True, slots=True)
class JobRuntime:
    tables: frozenset[int]  # of the tables asked about, those the job read
    day: datetime.date  # UTC day it was created
    user_id: int
    seconds: float  # end_time - start_time; a duration, not an amount of money


def job_runtimes(
    *, table_ids: Collection[int], since: datetime.date, until: datetime.date
) -> list[JobRuntime]:
    """How long each finished query that read any of `table_ids` ran, created from `since`
    to `until` (UTC days). Counted like the usage (SCRIPT children, not their parents);
    failed jobs and jobs without both times are left out. Job rows older than the
    retention (`cost.usage.runs.retention_start`) are gone: nothing comes back for them.
    Two queries."""
    sets = _sets_of(table_ids) if table_ids else {}
    if not sets:
        return []
    start, end = utc_bounds(since, until)
    rows = (
        counted_jobs()
        .filter(
            table_set_id__in=list(sets),
            creation_time__gte=start,
            creation_time__lt=end,
            start_time__isnull=False,
            end_time__isnull=False,
            error_reason="",
        )
        .annotate(ran=ExpressionWrapper(F("end_time") - F("start_time"), DurationField()))
        .values_list("table_set_id", "creation_time", "user_id", "ran")
        .order_by()
    )
    return [
        JobRuntime(
            tables=sets[set_id],
            day=created.astimezone(datetime.UTC).date(),
            user_id=user_id,
            seconds=ran.total_seconds(),
        )
        for set_id, created, user_id, ran in rows
    ]


@dataclass(frozen=True, slots=True)
class AllocatedDay:
    item_id: int
    day: datetime.date  # usage day, in the billing account's time zone
    currency: str
    net_nanos: int  # cost plus credits, billionths of `currency`


def allocated_cost_days(
    *, item_ids: Collection[int], since: datetime.date, until: datetime.date
) -> list[AllocatedDay]:
    """Net cost of the current billing facts whose allocation rule names one of the work
    items, per item, usage day and currency, from `since` to `until`. One query."""
    if not item_ids:
        return []
    rows = (
        CostFact.objects.current()
        .filter(
            allocation_rule__roadmap_item_id__in=list(item_ids),
            usage_date__gte=since,
            usage_date__lte=until,
        )
        .values("allocation_rule__roadmap_item_id", "usage_date", "currency")
        .annotate(net=Sum(F("cost_nanos") + F("credits_nanos")))
        .order_by()
    )
    return [
        AllocatedDay(
            item_id=row["allocation_rule__roadmap_item_id"],
            day=row["usage_date"],
            currency=row["currency"],
            net_nanos=as_int(row["net"]),
        )
        for row in rows
    ]

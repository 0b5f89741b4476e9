"""Review packs: the document a VP reads before the meeting, as HTML, PDF, Markdown and slides.

A pack is built from the session's snapshot and from everything else as it was at one
recorded moment (`as_of`): comments and decisions from their history, cost from the
billing month versions current then, attributed to teams and items with the allocation
rules as they stood then, each item's cited usage evidence and its stakeholder interviews,
the error budgets (products, reliability items, incidents), all from their history, and
every person and team by the name they had then. Rebuilt for the same moment it has the
same content, and the same content hash (which leaves out only the generation time),
whatever was edited since. Each cost table names the cost-reports API query that gives its
figures, and each item its id, so every number can be traced back.

"What last quarter's deliveries changed" (roadmap.reviews.deliveries) is read as of the
moment's UTC date, over the items as their history had them at the moment (status,
delivery day, declared targets and changes). Its limit of reproducibility: the job history
(JobUsageDay, BigQueryJob) is not versioned, and neither are the links of items to the
tables they build on or retire (ItemTable), so job history imported after the moment for
days up to it, or a table linked or unlinked since, changes a rebuilt pack's section and
its content hash. Days after the moment's date are left out of every figure, but not of
one bound: readers are "left" after 28 quiet days up to the earlier of that date and the
last day of the whole imported job history (roadmap.evidence.benefit), so a pack built
while the history ended before its date reads "readers left" over an earlier window than
a rebuild after later days were imported.
"""

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from core.history import names_as_of
from core.money import Money
from cost.billing.breakdowns import Query, Row, cost_breakdown
from cost.billing.reports import (
    MonthlyCost,
    Stack,
    fold_stacks,
    month_label,
    month_range,
    shift_month,
)
from roadmap.budgets.rules import BudgetStatus, State, budget_statuses, exhausted_items
from roadmap.evidence.interviews import InterviewWords, interviews_as_of
from roadmap.evidence.tables import usage_evidence_as_of
from roadmap.items.planning import OPEN_STATUSES
from roadmap.models import (
    ChangeReason,
    Commitment,
    DataProduct,
    Decision,
    Quarter,
    ReviewComment,
    ReviewSession,
    RoadmapItem,
)
from roadmap.reviews.deliveries import Deliveries, deliveries_changed, deliveries_since
from roadmap.reviews.snapshots import (
    ChangeKind,
    ItemChanges,
    changes_between,
    item_record,
    live_items,
    previous_session,
)
from roadmap.reviews.track_record import (
    CommitmentCheck,
    QuarterRecord,
    check_commitments,
    track_record,
)

OPEN = {str(status) for status in OPEN_STATUSES}


# --- Content -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuarterLoad:
    code: str
    # The board's two counts, with the same meaning: items in the quarter (from their
    # start quarter to their target quarter) and, of those, items due in it (target).
    items: int
    due: int
    planned_weeks: Decimal | None
    capacity_weeks: Decimal | None

    @property
    def over(self) -> bool:
        """Planned beyond capacity, however little (the percentage is rounded)."""
        return (
            bool(self.capacity_weeks)
            and self.capacity_weeks is not None
            and (self.planned_weeks or 0) > self.capacity_weeks
        )

    @property
    def used(self) -> Decimal | None:
        if not self.capacity_weeks or self.planned_weeks is None:
            return None
        return (100 * self.planned_weeks / self.capacity_weeks).quantize(Decimal(1))


@dataclass(frozen=True)
class PackThread:
    item_title: str | None  # None: on the session as a whole
    kind: str
    author: str
    written: datetime.datetime
    body: str
    resolved: bool
    replies: tuple[tuple[str, str], ...]  # (author, body)


@dataclass(frozen=True)
class ItemCost:
    item_key: int
    title: str
    declared: Money | None  # the item's expected monthly BigQuery change
    actual: tuple[Money, ...]  # average monthly net cost its rules allocate, per currency


@dataclass(frozen=True)
class Driver:
    label: str
    amount: Money
    change: Money | None  # against the month before


@dataclass(frozen=True)
class Forecast:
    currency: str
    so_far: Money  # the quarter's net cost up to the last day of data
    daily_rate: Money  # average of the last seven days of data
    remaining_days: int
    total: Money


@dataclass
class CostSection:
    months: tuple[str, ...]
    by_service: list[MonthlyCost]
    by_team: list[MonthlyCost]
    last_month: str | None
    month_change: list[tuple[Money, Money]]  # (last month, change against the month before)
    drivers: list[Driver]
    items: list[ItemCost]
    forecast: list[Forecast]
    complete_through: datetime.date | None
    sources: dict[str, str]  # table -> the cost-reports query behind it

    @property
    def month_labels(self) -> list[str]:
        return [month_label(month) for month in self.months]

    @property
    def last_month_label(self) -> str:
        return month_label(self.last_month) if self.last_month else ""


@dataclass(frozen=True)
class ItemInterviews:
    """The interviews that asked for one item, as they read at the pack's moment."""

    interviews: tuple[InterviewWords, ...]

    @property
    def teams(self) -> list[str]:
        return sorted({words.team for words in self.interviews})


@dataclass
class PackContent:
    session: ReviewSession
    as_of: datetime.datetime
    frozen: bool
    quarters: list[QuarterLoad]
    people_cost: list[Money]
    declared_bq: list[Money]
    biggest_changes: list[ItemChanges]
    open_questions: list[PackThread]
    previous: ReviewSession | None
    changes: list[tuple[ItemChanges, ChangeReason | None]]
    items: list[dict]
    decisions: dict[int, Decision]  # by item id
    asked: dict[int, str]  # the decision asked for, by item id
    cost: CostSection
    commitments: list[CommitmentCheck]
    record: list[QuarterRecord]
    threads: list[PackThread]
    budgets: list[BudgetStatus]  # every data product's error budget on the day of as_of
    fix_first: dict[int, list[DataProduct]]  # items that restore an exhausted budget, by id
    names: dict[int, str]  # people (commitment and product owners) by user id, as named then
    charts: dict[str, str] = field(default_factory=dict)  # name -> SVG
    # Benefit evidence at the pack's moment, by item id: the usage figures the manager
    # cited, and the interviews that asked for the item.
    evidence: dict[int, str] = field(default_factory=dict)
    interviews: dict[int, ItemInterviews] = field(default_factory=dict)
    # What the items delivered since the previous review changed, as of the moment's date.
    deliveries: Deliveries | None = None

    @property
    def open_threads(self) -> int:
        return sum(1 for thread in self.threads if not thread.resolved)

    @property
    def evidence_items(self) -> list[tuple[dict, str, ItemInterviews | None]]:
        """Open items with usage evidence or interviews: (record, evidence, interviews)."""
        return [
            (record, self.evidence.get(record["id"], ""), self.interviews.get(record["id"]))
            for record in self.items
            if record["status"] in OPEN
            and (record["id"] in self.evidence or record["id"] in self.interviews)
        ]

    @property
    def budgets_exhausted(self) -> int:
        return sum(1 for status in self.budgets if status.state == State.EXHAUSTED)

    @property
    def budgets_at_risk(self) -> int:
        return sum(1 for status in self.budgets if status.state == State.AT_RISK)


def _quantity(value: str | None) -> Decimal | None:
    return None if value is None or value == "" else Decimal(value)


def _money_of(value: dict | None) -> Money | None:
    return None if not value else Money(Decimal(value["amount"]), value["currency"])


def _sum_by_currency(values: Iterable[Money | None]) -> list[Money]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for money in values:
        if money is not None:
            totals[money.currency] += money.amount
    return [Money(amount, currency) for currency, amount in sorted(totals.items())]


CHANGE_WEIGHT = {
    ChangeKind.ADDED: 100, ChangeKind.DROPPED: 100, ChangeKind.DONE: 60, ChangeKind.SLIPPED: 40,
    ChangeKind.PULLED_IN: 40, ChangeKind.RECOSTED: 30, ChangeKind.REPRIORITISED: 20,
    ChangeKind.RESCORED: 10,
}  # fmt: skip


def _threads(session: ReviewSession, as_of: datetime.datetime) -> list[PackThread]:
    """Comments as they read at `as_of` (their history), deleted ones left out."""
    comments = [
        comment
        for comment in ReviewComment.history.as_of(as_of).filter(session_id=session.pk)
        if comment.deleted_at is None
    ]
    names = names_as_of((comment.author_id for comment in comments), as_of)
    titles = dict(session.items.values_list("pk", "title"))

    def name(user_id: int) -> str:
        return names.get(user_id, "?")

    replies: dict[int, list[ReviewComment]] = defaultdict(list)
    for comment in comments:
        if comment.parent_id:
            replies[comment.parent_id].append(comment)
    roots = sorted((c for c in comments if not c.parent_id), key=lambda c: (c.created_at, c.pk))
    return [
        PackThread(
            item_title=titles.get(root.review_item_id),
            kind=root.get_kind_display(),
            author=name(root.author_id),
            written=root.created_at,
            body=root.body,
            resolved=root.resolved_at is not None and root.resolved_at <= as_of,
            replies=tuple(
                (name(reply.author_id), reply.body)
                for reply in sorted(replies[root.pk], key=lambda c: (c.created_at, c.pk))
            ),
        )
        for root in roots
    ]


def _asked(record: dict, changed: set[int]) -> str:
    if record["status"] == "proposed":
        return _("approve into the plan")
    if record["id"] in changed:
        return _("confirm the change")
    if record["status"] in OPEN:
        return _("none: for information")
    return ""


def _spans(record: dict, code: str) -> bool:
    """Whether an item is in a quarter as the board places it: every quarter from its
    start quarter (or its target, without one) to its target. Codes such as 2027-Q1
    sort as the quarters do."""
    target = record["target_quarter"]
    start = record.get("start_quarter") or target
    return min(start, target) <= code <= target


def build_content(*, session: ReviewSession, as_of: datetime.datetime) -> PackContent:
    frozen = session.is_frozen
    if frozen:
        records = list(session.items.order_by("position").values_list("data", flat=True))
    else:
        records = [item_record(item) for item in live_items()]
        records.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["id"]))
    quarters_meta = session.snapshot.get("quarters") or _live_quarters(session)
    scheduled = [r for r in records if r["target_quarter"] and r["status"] != "dropped"]
    loads = [
        QuarterLoad(
            code=quarter["code"],
            items=sum(1 for r in scheduled if _spans(r, quarter["code"])),
            due=sum(1 for r in scheduled if r["target_quarter"] == quarter["code"]),
            planned_weeks=_quantity(quarter["planned_weeks"]),
            capacity_weeks=_quantity(quarter["capacity_weeks"]),
        )
        for quarter in quarters_meta
    ]  # fmt: skip
    open_records = [r for r in records if r["status"] in OPEN]
    previous = previous_session(session, as_of=as_of)
    changes: list[ItemChanges] = []
    if previous is not None:
        before = list(previous.items.order_by("position").values_list("data", flat=True))
        changes = changes_between(before=before, after=records)
    reasons = {
        reason.item_key: reason
        for reason in ChangeReason.history.as_of(as_of).filter(session_id=session.pk)
    }
    biggest = sorted(
        changes, key=lambda c: -max(CHANGE_WEIGHT[change.kind] for change in c.changes)
    )[:3]
    threads = _threads(session, as_of) if frozen else []
    decisions = {
        decision.review_item.item_key: decision
        for decision in Decision.history.as_of(as_of)
        .filter(session_id=session.pk)
        .select_related("review_item")
    } if frozen else {}  # fmt: skip
    changed = {change.item_key for change in changes}
    previous_commitments = list(
        Commitment.objects.filter(decision__session=previous).select_related(
            "due_quarter", "owner", "decision__review_item"
        )
        if previous is not None
        else Commitment.objects.none()
    )
    # Commitments decided by then (a revision later moves decided_at: it drops out).
    # Every commitment as it stood then: revised ones are replaced, so read the history.
    every = list(Commitment.history.as_of(as_of))
    quarters = Quarter.objects.in_bulk({commitment.due_quarter_id for commitment in every})
    for commitment in every:
        commitment.due_quarter = quarters[commitment.due_quarter_id]
    budgets = budget_statuses(as_of=as_of)
    owners = [c.owner_id for c in (*previous_commitments, *every)]
    owners += [status.product.owner_id for status in budgets]
    item_ids = [record["id"] for record in records]
    record = track_record(check_commitments(every, as_of=as_of))
    return PackContent(
        session=session,
        as_of=as_of,
        frozen=frozen,
        quarters=loads,
        people_cost=_sum_by_currency(_money_of(r["people_cost"]) for r in open_records),
        declared_bq=_sum_by_currency(_money_of(r["bq_monthly_cost_change"]) for r in open_records),
        biggest_changes=biggest,
        open_questions=[t for t in threads if not t.resolved and t.kind == _("Question")],
        previous=previous,
        changes=[(change, reasons.get(change.item_key)) for change in changes],
        items=records,
        decisions=decisions,
        asked={r["id"]: _asked(r, changed) for r in records},
        cost=cost_section(session=session, as_of=as_of, records=open_records),
        commitments=check_commitments(previous_commitments, as_of=as_of),
        record=record,
        threads=threads,
        budgets=budgets,
        fix_first=dict(exhausted_items(budgets)),
        names=names_as_of(owners, as_of),
        evidence=usage_evidence_as_of(item_ids=item_ids, as_of=as_of),
        interviews={
            item_id: ItemInterviews(tuple(words))
            for item_id, words in interviews_as_of(item_ids=item_ids, as_of=as_of).items()
        },
        deliveries=_deliveries(session, previous, as_of, record),
    )


def _deliveries(
    session: ReviewSession,
    previous: ReviewSession | None,
    as_of: datetime.datetime,
    record: list[QuarterRecord],
) -> Deliveries:
    """The section as of the moment's UTC date, over the items as they were at the moment
    (see the module's docstring for what a rebuild may still change)."""
    day = as_of.astimezone(datetime.UTC).date()
    since = deliveries_since(session, previous)
    # As values, made into items here: a history instance would read the fields the
    # history leaves out (created_at, updated_at) from the live row, one query per item.
    kept = [field.attname for field in RoadmapItem._meta.concrete_fields
            if field.name not in ("created_at", "updated_at")]  # fmt: skip
    then = RoadmapItem.history.as_of(as_of).filter(
        status=RoadmapItem.Status.DONE, delivered_on__gte=since, delivered_on__lte=day
    )
    items = [RoadmapItem(**values) for values in then.values(*kept)]
    return deliveries_changed(session=session, previous=previous, as_of=day, record=record,
                              items=items)  # fmt: skip


def _live_quarters(session: ReviewSession) -> list[dict]:
    from roadmap.items.planning import planned_weeks_by_quarter

    quarters = Quarter.objects.window(session.quarter.code, 4)
    planned = planned_weeks_by_quarter(quarters)
    return [
        {
            "code": q.code,
            "planned_weeks": str(planned[q.index]),
            "capacity_weeks": str(sum(c.person_weeks for c in q.capacities.all()))
            if q.pk
            else None,
        }
        for q in quarters
    ]


# --- Cost ----------------------------------------------------------------------------------


def _report_url(query: Query) -> str:
    """The cost-reports API call that gives the same figures."""
    params: dict[str, str] = {"group_by": ",".join(query.group_by), "basis": query.basis}
    day = query.by_day
    if query.first:
        params["from"] = query.first.isoformat() if day else query.first.strftime("%Y-%m")
    if query.last:
        params["to"] = query.last.isoformat() if day else query.last.strftime("%Y-%m")
    if query.as_of:
        params["as_of"] = query.as_of.isoformat().replace("+00:00", "Z")
    return "/api/v1/cost-reports/?" + urlencode(params, safe=",:")


def _month_date(key: str) -> datetime.date:
    return datetime.date(int(key[:4]), int(key[4:6]), 1)


def _key(month: str | None) -> str | None:
    return month.replace("-", "") if month else None


def _stacks(
    rows: list[Row], months: tuple[str, ...], label: Callable[[Row], tuple[str, bool]]
) -> list[MonthlyCost]:
    position = {month: index for index, month in enumerate(months)}
    grid: dict[str, dict[tuple[str, bool], list[Decimal]]] = defaultdict(dict)
    for row in rows:
        name, unallocated = label(row)
        amounts = grid[row.currency].setdefault((name, unallocated), [Decimal(0)] * len(months))
        # Every row of a breakdown by usage month has its month (keys allow None).
        amounts[position[_key(row.keys["usage_month"])]] += row.net_cost  # type: ignore[index]
    return [
        MonthlyCost(
            currency=currency,
            months=months,
            stacks=fold_stacks(
                [Stack(label=name, amounts=tuple(amounts), unallocated=unallocated)
                 for (name, unallocated), amounts in grid[currency].items()],
                max_stacks=7,
            ),
        )
        for currency in sorted(grid)
    ]  # fmt: skip


def cost_section(
    *, session: ReviewSession, as_of: datetime.datetime, records: list[dict[str, Any]]
) -> CostSection:
    """Twelve months of net cost by usage month, as the cost data stood at `as_of`."""
    base = Query(group_by=("usage_month",), basis="usage", as_of=as_of)
    newest = cost_breakdown(base).complete_through
    if newest is None:
        return CostSection((), [], [], None, [], [], [], [], None, {})
    this_month = newest.strftime("%Y%m")
    # The newest month is incomplete unless its last day is in: it shows, the figures
    # below compare complete months.
    months = month_range(this_month, 12)
    first, last = _month_date(months[0]), _month_date(months[-1])
    by_service_q = Query(group_by=("usage_month", "service"), basis="usage", first=first,
                         last=last, as_of=as_of)  # fmt: skip
    by_team_q = Query(group_by=("usage_month", "team"), basis="usage", first=first, last=last,
                      as_of=as_of)  # fmt: skip
    by_service = cost_breakdown(by_service_q)
    by_team = cost_breakdown(by_team_q)
    unallocated = _("Unallocated")
    # Every row of a breakdown by service has its service id (keys allow None).
    service_stacks = _stacks(
        by_service.rows,
        months,
        lambda r: (r.keys.get("service") or r.keys["service_id"], False),  # type: ignore[arg-type,return-value]
    )
    team_stacks = _stacks(
        by_team.rows, months,
        lambda r: (r.keys.get("team_name") or unallocated, r.keys.get("team_name") is None),
    )  # fmt: skip

    complete = shift_month(this_month, -1)
    before_complete = shift_month(this_month, -2)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in by_service.rows:
        totals[(_key(row.keys["usage_month"]), row.currency)] += row.net_cost  # type: ignore[index]
    currencies = sorted({currency for _month, currency in totals})
    month_change = [
        (
            Money(totals[(complete, c)], c),
            Money(totals[(complete, c)] - totals[(before_complete, c)], c),
        )
        for c in currencies
        if (complete, c) in totals
    ]

    drivers_q = Query(group_by=("usage_month", "sku"), basis="usage",
                      first=_month_date(before_complete), last=_month_date(complete),
                      as_of=as_of)  # fmt: skip
    sku_cost: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for row in cost_breakdown(drivers_q).rows:
        label = row.keys.get("sku") or row.keys["sku_id"]
        sku_cost[(label, row.currency)][_key(row.keys["usage_month"])] = row.net_cost  # type: ignore[index]
    drivers = sorted(
        (
            Driver(f"{label}", Money(amounts.get(complete, Decimal(0)), currency),
                   Money(amounts.get(complete, Decimal(0)) - amounts[before_complete], currency)
                   if before_complete in amounts else None)
            for (label, currency), amounts in sku_cost.items()
        ),
        key=lambda d: (-d.amount.amount, d.label),
    )[:8]  # fmt: skip

    recent = (_month_date(shift_month(this_month, -3)), _month_date(complete))
    items_q = Query(group_by=("usage_month", "roadmap_item"), basis="usage", first=recent[0],
                    last=recent[1], as_of=as_of)  # fmt: skip
    allocated: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in cost_breakdown(items_q).rows:
        if row.keys.get("roadmap_item"):
            allocated[int(row.keys["roadmap_item"])][row.currency] += row.net_cost  # type: ignore[arg-type]
    items = [
        ItemCost(
            item_key=record["id"],
            title=record["title"],
            declared=_money_of(record["bq_monthly_cost_change"]),
            actual=tuple(Money((amount / 3).quantize(Decimal("0.01")), currency)
                         for currency, amount in sorted(allocated.get(record["id"], {}).items())),
        )
        for record in records
        if record["bq_monthly_cost_change"] or record["id"] in allocated
    ]  # fmt: skip

    forecast, forecast_q = _forecast(session, newest, as_of)
    return CostSection(
        months=months,
        by_service=service_stacks,
        by_team=team_stacks,
        last_month=complete,
        month_change=month_change,
        drivers=drivers,
        items=items,
        forecast=forecast,
        complete_through=newest,
        sources={
            "by_service": _report_url(by_service_q),
            "by_team": _report_url(by_team_q),
            "drivers": _report_url(drivers_q),
            "items": _report_url(items_q),
            "forecast": _report_url(forecast_q),
        },
    )


def _forecast(
    session: ReviewSession, newest: datetime.date, as_of: datetime.datetime
) -> tuple[list[Forecast], Query]:
    """The quarter of the newest data: its cost so far plus the last seven days' average
    for every day left."""
    quarter = Quarter.from_code(Quarter.code_for_date(newest))
    query = Query(group_by=("usage_day",), basis="usage", first=quarter.start_date, last=newest,
                  by_day=True, as_of=as_of)  # fmt: skip
    days: dict[str, dict[datetime.date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in cost_breakdown(query).rows:
        days[row.currency][datetime.date.fromisoformat(row.keys["usage_day"])] += row.net_cost  # type: ignore[arg-type]
    remaining = (quarter.end_date - newest).days
    result = []
    for currency, amounts in sorted(days.items()):
        last_week = [amounts.get(newest - datetime.timedelta(days=n), Decimal(0)) for n in range(7)]
        # Seven Decimals: the sum is a Decimal, not the 0 of an empty sum.
        rate = (sum(last_week) / 7).quantize(Decimal("0.01"))  # type: ignore[union-attr]
        so_far = sum(amounts.values(), Decimal(0))
        result.append(Forecast(currency, Money(so_far, currency), Money(rate, currency),
                               remaining, Money(so_far + rate * remaining, currency)))  # fmt: skip
    return result, query

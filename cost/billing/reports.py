"""Read-only aggregations of BigQuery cost, for the cost pages and the roadmap item page.

Only current facts count (their BillingMonth has valid_to NULL): a superseded version of
an invoice month is history, not cost. Amounts are summed in SQL over the integer
`*_nanos` columns, exact on SQLite and PostgreSQL, and become Decimal afterwards
(`to_decimal`). Amounts of different currencies are never added together: every figure
is grouped by currency too, and the pages show one line, table or chart per currency.

A month is a `YYYYMM` key, as invoice months are written; the usage month of a fact is
the month of its usage day.
"""

import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.money import Money
from cost.models import AllocationRule, BillingSource, CostCredit, CostFact, ImportRun, to_decimal

NET = Sum(F("cost_nanos") + F("credits_nanos"))


class Basis(models.TextChoices):
    """Which month a cost belongs to: the invoice it is billed on, or the day it was used."""

    INVOICE = "invoice", _("Invoice month")
    USAGE = "usage", _("Usage month")


class Stacking(models.TextChoices):
    SERVICE = "service", _("By service")
    TEAM = "team", _("By team")


# --- Months


def month_key(day: datetime.date) -> str:
    return f"{day.year:04d}{day.month:02d}"


def shift_month(key: str, months: int) -> str:
    index = int(key[:4]) * 12 + int(key[4:]) - 1 + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def month_start(key: str) -> datetime.date:
    return datetime.date(int(key[:4]), int(key[4:]), 1)


def month_label(key: str) -> str:
    """'202611' -> '2026-11'."""
    return f"{key[:4]}-{key[4:]}"


def month_range(last: str, count: int) -> tuple[str, ...]:
    """`count` consecutive months ending with `last`, oldest first."""
    return tuple(shift_month(last, offset) for offset in range(1 - count, 1))


def _nanos(value: int | Decimal | None) -> int:
    # SQLite sums integers to int; PostgreSQL's SUM(bigint) is numeric (Decimal), exact.
    return 0 if value is None else int(value)


def _money(nanos: int | Decimal | None, currency: str) -> Money:
    return Money(to_decimal(_nanos(nanos)), currency)


def current_facts() -> QuerySet[CostFact]:
    return CostFact.objects.current()


def _in_window(
    facts: QuerySet, *, basis: str, months: tuple[str, ...], prefix: str = ""
) -> QuerySet:
    """Facts (or rows reached through `prefix`, e.g. 'fact__') billed in or used in `months`."""
    if basis == Basis.INVOICE:
        return facts.filter(**{f"{prefix}invoice_month__in": months})
    return facts.filter(
        **{
            f"{prefix}usage_date__gte": month_start(months[0]),
            f"{prefix}usage_date__lt": month_start(shift_month(months[-1], 1)),
        }
    )


def _month_of(row_month: str | datetime.date) -> str:
    return row_month if isinstance(row_month, str) else month_key(row_month)


def _newest(facts: QuerySet[Any], field: str) -> Any:
    return facts.order_by(f"-{field}").values_list(field, flat=True).first()


def latest_window(*, basis: str, count: int = 12) -> tuple[str, ...]:
    """The `count` calendar months ending with the newest month that has current cost;
    empty when there is none."""
    # Newest first along an index: stops at the first current fact, where MAX() reads all.
    if basis == Basis.INVOICE:
        newest = _newest(current_facts(), "invoice_month")
    else:
        day = _newest(current_facts(), "usage_date")
        newest = month_key(day) if day else None
    return month_range(newest, count) if newest else ()


# --- Net cost by month, stacked


@dataclass(frozen=True, slots=True)
class Stack:
    """One layer of a stacked chart: a service or a team, one amount per month."""

    label: str
    amounts: tuple[Decimal, ...]
    unallocated: bool = False

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, Decimal(0))


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str
    label: str
    amounts: tuple[Money, ...]
    total: Money


@dataclass(frozen=True, slots=True)
class MonthlyCost:
    """Net cost of one currency by month, in stacks (largest first)."""

    currency: str
    months: tuple[str, ...]
    stacks: tuple[Stack, ...]

    @property
    def month_labels(self) -> list[str]:
        return [month_label(month) for month in self.months]

    @property
    def month_totals(self) -> list[Decimal]:
        return [
            sum((stack.amounts[index] for stack in self.stacks), Decimal(0))
            for index in range(len(self.months))
        ]

    @property
    def total(self) -> Money:
        return Money(sum(self.month_totals, Decimal(0)), self.currency)

    def rows(self) -> list[MonthRow]:
        """The figures behind the chart, one row per month, for the table beside it."""
        return [
            MonthRow(
                month=month,
                label=month_label(month),
                amounts=tuple(Money(stack.amounts[index], self.currency) for stack in self.stacks),
                total=Money(month_total, self.currency),
            )
            for index, (month, month_total) in enumerate(
                zip(self.months, self.month_totals, strict=True)
            )
        ]

    def stack_totals(self) -> list[Money]:
        return [Money(stack.total, self.currency) for stack in self.stacks]


def monthly_cost(
    *, basis: str, stacking: str, months: tuple[str, ...], max_stacks: int = 7
) -> list[MonthlyCost]:
    """Net cost per month of the window, one MonthlyCost per currency (sorted by code).

    Stacked by service or by team (the team of the allocation rule that matched the fact;
    'Unallocated' when none did, always its own stack). Beyond `max_stacks`, the smallest
    stacks are folded into 'Other'.
    """
    if not months:
        return []
    facts = _in_window(current_facts(), basis=basis, months=months)
    month_field = "invoice_month" if basis == Basis.INVOICE else "usage_month"
    if basis == Basis.USAGE:
        facts = facts.annotate(usage_month=TruncMonth("usage_date"))
    if stacking == Stacking.TEAM:
        keys = ["allocation_rule__team__name"]
    else:
        keys = ["service_id", "service_description"]
    rows = facts.values("currency", month_field, *keys).annotate(net=NET).order_by()
    position = {month: index for index, month in enumerate(months)}
    unallocated = gettext("Unallocated")
    grid: dict[str, dict[tuple[str, bool], list[Decimal]]] = defaultdict(dict)
    for row in rows:
        if stacking == Stacking.TEAM:
            name = row["allocation_rule__team__name"]
            key = (name, False) if name is not None else (unallocated, True)
        else:
            key = (row["service_description"] or row["service_id"], False)
        amounts = grid[row["currency"]].setdefault(key, [Decimal(0)] * len(months))
        amounts[position[_month_of(row[month_field])]] += to_decimal(_nanos(row["net"]))
    return [
        MonthlyCost(
            currency=currency,
            months=months,
            stacks=fold_stacks(
                [
                    Stack(label=label, amounts=tuple(amounts), unallocated=is_unallocated)
                    for (label, is_unallocated), amounts in grid[currency].items()
                ],
                max_stacks=max_stacks,
            ),
        )
        for currency in sorted(grid)
    ]


def fold_stacks(stacks: list[Stack], *, max_stacks: int) -> tuple[Stack, ...]:
    ordered = sorted(stacks, key=lambda stack: (-abs(stack.total), stack.label))
    kept = [stack for stack in ordered if not stack.unallocated]
    # Unallocated cost is never hidden in 'Other': it is what the rules still miss.
    pinned = [stack for stack in ordered if stack.unallocated]
    room = max(max_stacks - len(pinned), 1)
    if len(kept) > room:
        rest = kept[room - 1 :]
        other = Stack(
            label=gettext("Other"),
            amounts=tuple(
                sum(column, Decimal(0)) for column in zip(*(s.amounts for s in rest), strict=True)
            ),
        )
        kept = [*kept[: room - 1], other]
    return (*kept, *pinned)


# --- Totals, rankings and credits of a window


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """Cost, credits (negative) and net of one currency over a window; corrections are
    the net of correction rows, already part of the net."""

    currency: str
    cost: Money
    credits: Money
    net: Money
    corrections: Money


def window_totals(*, basis: str, months: tuple[str, ...]) -> list[CurrencyTotal]:
    if not months:
        return []
    rows = (
        _in_window(current_facts(), basis=basis, months=months)
        .values("currency")
        .annotate(
            cost=Sum("cost_nanos"),
            credits=Sum("credits_nanos"),
            net=NET,
            corrections=Sum(F("cost_nanos") + F("credits_nanos"), filter=Q(is_correction=True)),
        )
        .order_by("currency")
    )
    return [
        CurrencyTotal(
            currency=row["currency"],
            cost=_money(row["cost"], row["currency"]),
            credits=_money(row["credits"], row["currency"]),
            net=_money(row["net"], row["currency"]),
            corrections=_money(row["corrections"], row["currency"]),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class RankedCost:
    key: str
    label: str
    detail: str
    amount: Money
    share: Decimal | None  # of the currency's net over the window, in percent


@dataclass(frozen=True, slots=True)
class CurrencyRanking:
    currency: str
    rows: tuple[RankedCost, ...]
    total: Money
    others: int  # how many more entries were left out


def _rank(
    rows: Iterable[dict], *, limit: int, key: str, label: str, detail: str | None = None
) -> list[CurrencyRanking]:
    by_currency: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_currency[row["currency"]].append(row)
    rankings = []
    for currency in sorted(by_currency):
        entries = sorted(by_currency[currency], key=lambda row: (-_nanos(row["net"]), row[key]))
        total = sum(_nanos(row["net"]) for row in entries)
        rankings.append(
            CurrencyRanking(
                currency=currency,
                rows=tuple(
                    RankedCost(
                        key=row[key],
                        label=row[label] or row[key],
                        detail=(row[detail] or "") if detail else "",
                        amount=_money(row["net"], currency),
                        share=(
                            (Decimal(_nanos(row["net"])) * 100 / total).quantize(Decimal("0.1"))
                            if total > 0
                            else None
                        ),
                    )
                    for row in entries[:limit]
                ),
                total=_money(total, currency),
                others=max(len(entries) - limit, 0),
            )
        )
    return rankings


def top_projects(*, basis: str, months: tuple[str, ...], limit: int = 10) -> list[CurrencyRanking]:
    """The projects with the highest net cost over the window, per currency."""
    if not months:
        return []
    rows = (
        _in_window(current_facts(), basis=basis, months=months)
        .values("currency", "project_id")
        .annotate(net=NET, name=Max("project_name"))
        .order_by()
    )
    return _rank(rows, limit=limit, key="project_id", label="project_id", detail="name")


def top_skus(*, basis: str, months: tuple[str, ...], limit: int = 10) -> list[CurrencyRanking]:
    """The SKUs with the highest net cost over the window, per currency."""
    if not months:
        return []
    rows = (
        _in_window(current_facts(), basis=basis, months=months)
        .values("currency", "sku_id")
        .annotate(net=NET, name=Max("sku_description"), service=Max("service_description"))
        .order_by()
    )
    return _rank(rows, limit=limit, key="sku_id", label="name", detail="service")


@dataclass(frozen=True, slots=True)
class CreditTotal:
    credit_type: str
    amount: Money


@dataclass(frozen=True, slots=True)
class CurrencyCredits:
    currency: str
    rows: tuple[CreditTotal, ...]
    total: Money


def credits_by_type(*, basis: str, months: tuple[str, ...]) -> list[CurrencyCredits]:
    """Credits (negative amounts) of current facts over the window, by type and currency."""
    if not months:
        return []
    credits = CostCredit.objects.filter(fact__month__valid_to__isnull=True)
    rows = (
        _in_window(credits, basis=basis, months=months, prefix="fact__")
        .values("fact__currency", "credit_type")
        .annotate(amount=Sum("amount_nanos"))
        .order_by("fact__currency", "amount", "credit_type")
    )
    grouped: dict[str, list[CreditTotal]] = defaultdict(list)
    for row in rows:
        currency = row["fact__currency"]
        grouped[currency].append(CreditTotal(row["credit_type"], _money(row["amount"], currency)))
    return [
        CurrencyCredits(
            currency=currency,
            rows=tuple(entries),
            total=Money(sum((e.amount.amount for e in entries), Decimal(0)), currency),
        )
        for currency, entries in sorted(grouped.items())
    ]


# --- Sources and imports


@dataclass(frozen=True, slots=True)
class SourceFreshness:
    source: BillingSource
    complete_through: datetime.date | None  # newest usage day among current facts
    last_success: datetime.datetime | None  # when the newest successful run finished
    last_run: ImportRun | None


def source_freshness() -> list[SourceFreshness]:
    """How recent each source's data is: two queries, however many sources and facts."""
    newest_day = (
        current_facts()
        .filter(month__source=OuterRef("pk"))
        .order_by("-usage_date")
        .values("usage_date")[:1]
    )
    last_success = (
        ImportRun.objects.filter(source=OuterRef("pk"), status=ImportRun.Status.SUCCEEDED)
        .order_by("-finished_at")
        .values("finished_at")[:1]
    )
    last_run = ImportRun.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-id")
    sources = list(
        BillingSource.objects.annotate(
            complete_through=Subquery(newest_day),
            last_success=Subquery(last_success),
            last_run_id=Subquery(last_run.values("id")[:1]),
        )
    )
    runs = ImportRun.objects.in_bulk([s.last_run_id for s in sources if s.last_run_id])
    return [
        SourceFreshness(
            source=source,
            complete_through=source.complete_through,
            last_success=source.last_success,
            last_run=runs.get(source.last_run_id),
        )
        for source in sources
    ]


def recent_import_runs(*, limit: int = 10) -> list[ImportRun]:
    return list(ImportRun.objects.select_related("source", "started_by")[:limit])


# --- Allocation


@dataclass(frozen=True, slots=True)
class RuleCost:
    rule: AllocationRule
    amounts: tuple[Money, ...]  # net cost it allocates, one per currency


@dataclass(frozen=True, slots=True)
class AllocationSummary:
    rules: tuple[RuleCost, ...]  # in the order they are tried
    unallocated: tuple[Money, ...]  # per currency
    allocated: tuple[Money, ...]  # per currency


def allocation_summary() -> AllocationSummary:
    """Every rule with the net cost of the current facts it allocates, and what no rule
    matches. Two queries, however many facts."""
    rules = list(AllocationRule.objects.select_related("team", "roadmap_item"))
    rows = current_facts().values("allocation_rule_id", "currency").annotate(net=NET).order_by()
    per_rule: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        per_rule[row["allocation_rule_id"]][row["currency"]] += _nanos(row["net"])

    def monies(amounts: dict[str, int]) -> tuple[Money, ...]:
        return tuple(_money(nanos, currency) for currency, nanos in sorted(amounts.items()))

    allocated: dict[str, int] = defaultdict(int)
    for rule_id, amounts in per_rule.items():
        if rule_id is not None:
            for currency, nanos in amounts.items():
                allocated[currency] += nanos
    return AllocationSummary(
        rules=tuple(
            RuleCost(rule=rule, amounts=monies(per_rule.get(rule.pk, {}))) for rule in rules
        ),
        unallocated=monies(per_rule.get(None, {})),
        allocated=monies(allocated),
    )


@dataclass(frozen=True, slots=True)
class ItemMonth:
    month: str
    label: str
    amounts: tuple[Money, ...]  # one per currency; empty when nothing was allocated
    changes: tuple[Money, ...]  # against the month before, for currencies both months have


def item_monthly_cost(*, item_id: int, today: datetime.date, count: int = 12) -> list[ItemMonth]:
    """Net cost allocated to a roadmap item (through the rules that name it) per usage
    month, for the `count` months ending with this one, oldest first. One query."""
    months = month_range(month_key(today), count + 1)  # one more, for the first change
    rows = (
        _in_window(current_facts(), basis=Basis.USAGE, months=months)
        .filter(allocation_rule__roadmap_item_id=item_id)
        .annotate(usage_month=TruncMonth("usage_date"))
        .values("usage_month", "currency")
        .annotate(net=NET)
        .order_by()
    )
    by_month: dict[str, dict[str, Money]] = defaultdict(dict)
    for row in rows:
        by_month[_month_of(row["usage_month"])][row["currency"]] = _money(
            row["net"], row["currency"]
        )
    result = []
    for previous, month in itertools.pairwise(months):
        amounts, before = by_month.get(month, {}), by_month.get(previous, {})
        result.append(
            ItemMonth(
                month=month,
                label=month_label(month),
                amounts=tuple(amounts[currency] for currency in sorted(amounts)),
                changes=tuple(
                    amounts[currency] - before[currency]
                    for currency in sorted(amounts)
                    if currency in before
                ),
            )
        )
    return result

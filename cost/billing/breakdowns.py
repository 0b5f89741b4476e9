"""Cost broken down by any grouping finance asks for: the engine of the cost-reports API.

Sums run in SQL over the integer billionths, so they are exact on both databases.
Reports by month read the monthly rollups (a thirtieth of the rows); a report by day, or
between days, reads the daily facts. Figures in two currencies are never added: rows
are grouped by billing currency, or every amount is taken in US dollars (the export's
own conversion). `as_of` reads the month versions that were current at that moment, and
attributes their cost to teams and roadmap items with the allocation rules as they stood
then: a report as of a moment is the report as it read at that moment.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth

from core.models import Team
from cost.billing.allocation import Attribution, attribution_as_of, attribution_now
from cost.models import (
    AllocationRule,
    BillingMonth,
    CostCredit,
    CostFact,
    CostMonthRollup,
    CreditMonthRollup,
    Label,
    to_decimal,
)

# "resource": a detailed or FOCUS export's resources (the most costly per day and SKU,
# the rest as "(other)"; cost.billing.facts.fold_resources); null for a standard export.
GROUPINGS = (
    "invoice_month", "usage_month", "usage_day", "project", "service", "sku", "region",
    "cost_type", "team", "roadmap_item", "credit_type", "resource",
)  # fmt: skip
LABEL_PREFIX = "label:"
UNALLOCATED = "unallocated"
# The column a grouping's value goes to, when the name alone would be ambiguous: grouping
# by service gives `service_id` and, beside it, `service` (the description).
ID_COLUMNS = {"service": "service_id", "sku": "sku_id"}


class BreakdownError(ValueError):
    """A request the data cannot answer; `field` names the parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Query:
    group_by: tuple[str, ...] = ()
    basis: str = "invoice"  # which month `first`/`last` mean: "invoice" or "usage"
    first: datetime.date | None = None  # first month (day 1) or first day
    last: datetime.date | None = None  # last month (day 1) or last day, included
    by_day: bool = False  # first/last are days (usage basis only)
    projects: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    cost_types: tuple[str, ...] = ()
    currency: str = "billing"  # or "USD"
    as_of: datetime.datetime | None = None

    @property
    def daily(self) -> bool:
        return self.by_day or "usage_day" in self.group_by


@dataclass
class Row:
    keys: dict[str, str | None]
    cost: Decimal
    credits: Decimal
    currency: str

    @property
    def net_cost(self) -> Decimal:
        return self.cost + self.credits


@dataclass
class Breakdown:
    query: Query
    rows: list[Row]
    totals: list[Row]
    data_as_of: datetime.datetime | None
    complete_through: datetime.date | None
    key_names: list[str] = field(default_factory=list)


# --- Which rows ----------------------------------------------------------------------------


def _month_code(day: datetime.date) -> str:
    return f"{day:%Y%m}"


def attribution(query: Query, prefix: str = "") -> Attribution:
    return attribution_as_of(query.as_of, prefix) if query.as_of else attribution_now(prefix)


def selected(query: Query, *, daily: bool | None = None) -> QuerySet:
    """Facts (daily) or monthly rollups matching the query's period and filters."""
    daily = query.daily if daily is None else daily
    model = CostFact if daily else CostMonthRollup
    rows = model.objects.as_of(query.as_of) if query.as_of else model.objects.current()
    if query.first or query.last:
        rows = rows.filter(_period(query, daily))
    if query.projects:
        rows = rows.filter(project_id__in=query.projects)
    if query.services:
        rows = rows.filter(
            Q(service_id__in=query.services) | Q(service_description__in=query.services)
        )
    if query.skus:
        rows = rows.filter(Q(sku_id__in=query.skus) | Q(sku_description__in=query.skus))
    if query.cost_types:
        rows = rows.filter(cost_type__in=query.cost_types)
    if query.teams:
        rows = rows.alias(attributed_team=attribution(query).team_slug)
        teams = Q(attributed_team__in=[t for t in query.teams if t != UNALLOCATED])
        if UNALLOCATED in query.teams:
            teams |= Q(attributed_team__isnull=True)
        rows = rows.filter(teams)
    for key, value in query.labels:
        with_label = Label.objects.filter(key=key, value=value).values("label_set")
        rows = rows.filter(label_set__in=with_label)
    return rows


def _period(query: Query, daily: bool) -> Q:
    if query.basis == "usage" and daily:
        last = query.last
        if last and not query.by_day:  # the whole last month
            last = (last.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
            last -= datetime.timedelta(days=1)
        condition = Q()
        if query.first:
            condition &= Q(usage_date__gte=query.first)
        if last:
            condition &= Q(usage_date__lte=last)
        return condition
    field_name = "invoice_month" if query.basis == "invoice" else "usage_month"
    if query.first and query.first == query.last:
        # One month, the common case, as an equality: the index on (invoice_month, id) then
        # gives a cost-facts page in id order without reading the months before it.
        return Q(**{field_name: _month_code(query.first)})
    condition = Q()
    if query.first:
        condition &= Q(**{f"{field_name}__gte": _month_code(query.first)})
    if query.last:
        condition &= Q(**{f"{field_name}__lte": _month_code(query.last)})
    return condition


# --- Groupings -------------------------------------------------------------------------------


def _dimensions(query: Query, daily: bool, prefix: str = "") -> tuple[dict, dict, list[str]]:
    """(group-by expressions, per-group labels computed with Max, output key names)."""
    groups: dict = {}
    extras: dict = {}
    names: list[str] = []
    by = attribution(query, prefix) if {"team", "roadmap_item"} & set(query.group_by) else None
    for index, name in enumerate(query.group_by):
        if name == "credit_type":
            continue
        if name.startswith(LABEL_PREFIX):
            key = name[len(LABEL_PREFIX) :]
            labels = Label.objects.filter(label_set=OuterRef(f"{prefix}label_set"), key=key)
            groups[f"g{index}"] = Subquery(labels.order_by("-scope").values("value")[:1])
            names.append(name)
            continue
        column = {
            "invoice_month": "invoice_month",
            "usage_day": "usage_date",
            "project": "project_id",
            "service": "service_id",
            "sku": "sku_id",
            "cost_type": "cost_type",
            "resource": "resource",
        }.get(name)
        if by is not None and name in ("team", "roadmap_item"):
            if name == "team":
                groups[f"g{index}"], extras["team_name"] = by.team_slug, Max(by.team_name)
            else:
                groups[f"g{index}"], extras["roadmap_item_title"] = by.item_id, Max(by.item_title)
            names.append(name)
            continue
        if name == "usage_month":
            groups[f"g{index}"] = (
                TruncMonth(f"{prefix}usage_date") if daily else F(f"{prefix}usage_month")
            )
        elif name == "region":
            groups[f"g{index}"] = F(f"{prefix}region")
            groups[f"g{index}_location"] = F(f"{prefix}location")
        else:
            groups[f"g{index}"] = F(f"{prefix}{column}")
        names.append(name)
        described = {
            "project": ("project_name", "project_name"),
            "service": ("service", "service_description"),
            "sku": ("sku", "sku_description"),
        }.get(name)
        if described:
            extras[described[0]] = Max(f"{prefix}{described[1]}")
    return groups, extras, names


def _key_value(name: str, raw: Any, row: dict[str, Any], index: int) -> str | None:
    if raw is None:
        return UNALLOCATED if name == "team" else None
    if name in ("invoice_month", "usage_month"):
        text = raw.strftime("%Y%m") if isinstance(raw, datetime.date) else str(raw)
        return f"{text[:4]}-{text[4:6]}"
    if name == "usage_day":
        return raw.isoformat()
    if name == "region":
        return raw or row.get(f"g{index}_location") or None
    if name == "resource":
        return raw or None  # a standard export's facts name no resource
    return str(raw)


# --- The breakdown ---------------------------------------------------------------------------


def data_version(query: Query) -> str:
    """Changes whenever the query's report could: a month version added or closed, a rule
    added, changed, moved or deleted, a team renamed, or (for a report by roadmap item) an
    item the rules name renamed. Saving an item changes nothing else a report shows, so
    managers editing items do not empty finance's cache. Read from the database on every
    call, so every gunicorn worker sees a change at once."""
    months = BillingMonth.objects.aggregate(
        newest=Max("id"), closed=Max("valid_to"), count=Count("id")
    )
    rules = list(AllocationRule.objects.order_by("id").values_list("id", "position", "updated_at"))
    teams = list(Team.objects.order_by("id").values_list("id", "slug", "name"))
    items = []
    if "roadmap_item" in query.group_by:
        items = list(
            AllocationRule.objects.filter(roadmap_item__isnull=False)
            .order_by("roadmap_item_id")
            .values_list("roadmap_item_id", "roadmap_item__title")
            .distinct()
        )
    return repr((months, rules, teams, items))


def cost_breakdown(query: Query) -> Breakdown:
    """The breakdown, computed once per query and data version and kept in the cache:
    the figures can only change when data_version(query) does."""
    key = "breakdown:" + hashlib.sha256(repr((query, data_version(query))).encode()).hexdigest()
    breakdown = cache.get(key)
    if breakdown is None:
        breakdown = compute_breakdown(query)
        cache.set(key, breakdown, timeout=3600)
    return breakdown


def compute_breakdown(query: Query) -> Breakdown:
    """The breakdown straight from the database (cost_breakdown is the cached one)."""
    daily = query.daily
    rows_qs = selected(query, daily=daily)
    groups, extras, names = _dimensions(query, daily)
    usd = query.currency == "USD"
    amounts = ("cost_usd_nanos", "credits_usd_nanos") if usd else ("cost_nanos", "credits_nanos")
    cost, credits = amounts
    values = dict(groups)
    if not usd:
        values["currency_"] = F("currency")
    result = (
        rows_qs.values(**values)
        .annotate(
            cost=Sum(cost), credits=Sum(credits), unconverted=Count("pk") - Count(cost), **extras
        )
        .order_by(*values)
    )
    out: list[Row] = []
    credit_rows: list[Row] = []
    by_credit = "credit_type" in query.group_by
    key_names = [ID_COLUMNS.get(name, name) for name in names] + list(extras)
    if by_credit:
        key_names.insert(query.group_by.index("credit_type"), "credit_type")
    for record in result:
        if usd and record["unconverted"]:
            raise BreakdownError(
                "currency", "some of this billing data has no USD conversion rate; ask in the "
                "billing currency",
            )  # fmt: skip
        keys = _keys(query, names, record, extras)
        currency = "USD" if usd else record["currency_"]
        if by_credit:
            keys["credit_type"] = None
            out.append(Row(keys, to_decimal(record["cost"] or 0), Decimal(0), currency))
        else:
            out.append(Row(keys, to_decimal(record["cost"] or 0),
                           to_decimal(record["credits"] or 0), currency))  # fmt: skip
    if by_credit:
        credit_rows = _credit_rows(query, daily, rows_qs, names, extras, usd)
        out = sorted(out + credit_rows, key=lambda row: _sort_key(row, key_names))
    totals = _totals(out)
    return Breakdown(
        query=query,
        rows=out,
        totals=totals,
        data_as_of=_data_as_of(query),
        complete_through=_complete_through(query),
        key_names=key_names,
    )


def _keys(query: Query, names: list[str], record: dict, extras: dict) -> dict:
    keys: dict[str, str | None] = {}
    for index, name in enumerate(query.group_by):
        if name == "credit_type":
            continue
        keys[ID_COLUMNS.get(name, name)] = _key_value(name, record.get(f"g{index}"), record, index)
    for extra in extras:
        value = record.get(extra)
        keys[extra] = None if value is None else str(value)
    return keys


def _credit_rows(
    query: Query,
    daily: bool,
    rows_qs: QuerySet[Any],
    names: list[str],
    extras: dict[str, Any],
    usd: bool,
) -> list[Row]:
    model, relation = (CostCredit, "fact") if daily else (CreditMonthRollup, "rollup")
    groups, credit_extras, _names = _dimensions(query, daily, prefix=f"{relation}__")
    values = {**groups, "credit_type_": F("credit_type")}
    if not usd:
        values["currency_"] = F(f"{relation}__currency")
    amount = "amount_usd_nanos" if usd else "amount_nanos"
    result = (
        model.objects.filter(**{f"{relation}__in": rows_qs.values("pk")})
        .values(**values)
        .annotate(amount=Sum(amount), **credit_extras)
        .order_by(*values)
    )
    rows = []
    for record in result:
        keys = _keys(query, names, record, credit_extras)
        keys["credit_type"] = record["credit_type_"]
        currency = "USD" if usd else record["currency_"]
        rows.append(Row(keys, Decimal(0), to_decimal(record["amount"] or 0), currency))
    return rows


def _sort_key(row: Row, names: list[str]) -> tuple:
    return (*((row.keys.get(name) is None, row.keys.get(name) or "") for name in names),
            row.currency)  # fmt: skip


def _totals(rows: list[Row]) -> list[Row]:
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for row in rows:
        sums[row.currency][0] += row.cost
        sums[row.currency][1] += row.credits
    return [Row({}, cost, credits, currency) for currency, (cost, credits) in sorted(sums.items())]


def _data_as_of(query: Query) -> datetime.datetime | None:
    """When the figures last changed: the newest month version in what was current."""
    months = BillingMonth.objects.as_of(query.as_of) if query.as_of else (
        BillingMonth.objects.current()
    )  # fmt: skip
    return months.aggregate(newest=Max("valid_from"))["newest"]


def _complete_through(query: Query) -> datetime.date | None:
    facts = CostFact.objects.as_of(query.as_of) if query.as_of else CostFact.objects.current()
    # Newest first along the usage_date index: stops at the first current fact, where
    # MAX() would read them all.
    return facts.order_by("-usage_date").values_list("usage_date", flat=True).first()

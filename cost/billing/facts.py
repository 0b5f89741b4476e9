"""Daily cost facts, however they were read (files or BigQuery), stored as new versions of
their invoice months.

A month whose facts are exactly those already current is left alone, so loading the
same export twice changes nothing. A month whose facts differ gets a new BillingMonth;
the old one is closed (valid_to, superseded_by) and keeps its facts.
"""

import datetime
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, overload

from django.db import connection, models, transaction
from django.utils import timezone

from cost.models import (
    BillingMonth,
    BillingSource,
    CostCredit,
    CostFact,
    CostMonthRollup,
    CreditMonthRollup,
    ImportRun,
    Label,
    LabelSet,
    to_nanos,
)
from cost.models.billing import OTHER_RESOURCES

Labels = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class DailyFact:
    """One group of export rows: a day, an invoice month, a project, a SKU, a label set."""

    invoice_month: str
    usage_date: datetime.date
    billing_account_id: str
    project_id: str
    project_name: str
    project_number: str
    project_ancestry: str
    service_id: str
    service_description: str
    sku_id: str
    sku_description: str
    location: str
    region: str
    cost_type: str
    currency: str
    conversion_rate: Decimal | None
    labels: Labels
    project_labels: Labels
    is_correction: bool
    usage_unit: str
    pricing_unit: str
    cost: Decimal
    cost_at_list: Decimal | None
    usage_amount: Decimal | None
    usage_in_pricing_units: Decimal | None
    row_count: int
    last_export_time: datetime.datetime | None
    credits: dict[str, Decimal] = field(default_factory=dict)
    # The resource of a detailed or FOCUS export (its global name), "(other)" for the
    # resources folded together (fold_resources), blank in a standard export.
    resource: str = ""

    def sort_key(self) -> tuple:
        """What tells two facts apart (the invoice month first: a day's late rows are
        billed on the next invoice and are a fact of their own)."""
        return (
            self.invoice_month, self.usage_date, self.project_id, self.service_id,
            self.sku_id, self.cost_type, self.currency, self.is_correction, self.labels,
            self.project_labels, self.location, self.region, self.billing_account_id,
            self.project_name, self.project_number, self.project_ancestry,
            self.service_description, self.sku_description, self.usage_unit,
            self.pricing_unit, str(self.conversion_rate),
            # Only when there is one: a standard export's months keep the digest they had
            # before facts had resources, so loading them again changes nothing.
            *((self.resource,) if self.resource else ()),
        )  # fmt: skip

    def stored(self) -> "Stored":
        """The amounts as the database keeps them (billionths; usage to nine places),
        computed once for both the month digest and the rows written."""
        credits_total = self.credits_total
        return Stored(
            fact=self,
            amounts=(
                _billionths(self.usage_amount), _billionths(self.usage_in_pricing_units),
                to_nanos(self.cost), to_nanos(credits_total), _nanos(self.cost_at_list),
                _nanos(self.in_usd(self.cost)), _nanos(self.in_usd(credits_total)),
            ),
            credits=[(kind, to_nanos(amount), _nanos(self.in_usd(amount)))
                     for kind, amount in sorted(self.credits.items())],
        )  # fmt: skip

    def absorb(self, other: "DailyFact") -> None:
        """Add another group of rows of the same fact into this one."""
        self.cost += other.cost
        self.cost_at_list = _add(self.cost_at_list, other.cost_at_list)
        self.usage_amount = _add(self.usage_amount, other.usage_amount)
        self.usage_in_pricing_units = _add(self.usage_in_pricing_units,
                                           other.usage_in_pricing_units)  # fmt: skip
        self.row_count += other.row_count
        if other.last_export_time and (
            self.last_export_time is None or other.last_export_time > self.last_export_time
        ):
            self.last_export_time = other.last_export_time
        for kind, amount in other.credits.items():
            self.credits[kind] = self.credits.get(kind, Decimal(0)) + amount

    @property
    def credits_total(self) -> Decimal:
        return sum(self.credits.values(), Decimal(0))

    def in_usd(self, amount: Decimal | None) -> Decimal | None:
        """`currency_conversion_rate` is units of the billing currency per US dollar."""
        if amount is None:
            return None
        if self.currency == "USD":
            return amount
        if not self.conversion_rate:
            return None
        return amount / self.conversion_rate


@overload
def plain_decimal(value: Decimal) -> Decimal: ...
@overload
def plain_decimal(value: None) -> None: ...
@overload
def plain_decimal(value: Decimal | None) -> Decimal | None: ...
def plain_decimal(value: Decimal | None) -> Decimal | None:
    """A sum without the trailing zeros of its SQL type (0.000005000000000 -> 0.000005),
    so the same amount reads the same whichever path it came by."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral() else normal


@dataclass(slots=True)
class Stored:
    fact: DailyFact
    amounts: tuple
    credits: list[tuple[str, int, int | None]]

    def canonical(self) -> str:
        """Everything that makes the fact what it is, as stored: the file and BigQuery
        paths agree on a month's digest whenever they store the same figures. (The USD
        equivalents follow from amounts and rate; export times are not figures.)"""
        credits = [(kind, amount) for kind, amount, _usd in self.credits]
        return repr((self.fact.sort_key(), self.amounts[:5], self.fact.row_count, credits))


@dataclass
class MonthOutcome:
    month: str
    outcome: str  # "new", "replaced" or "unchanged"
    facts: int
    rows: int

    def as_json(self) -> dict:
        return {
            "month": self.month,
            "outcome": self.outcome,
            "facts": self.facts,
            "rows": self.rows,
        }


def fact_from_row(row: Mapping[str, Any], *, labels: Labels, project_labels: Labels) -> DailyFact:
    """A DailyFact from a row of either reader's query (DuckDB or BigQuery), which name
    their columns alike; each reader parses its own label text."""
    credits: dict[str, Decimal] = {}
    for credit in row["credits"] or []:
        if credit["amount"] is not None:
            credits[credit["type"]] = credits.get(credit["type"], Decimal(0)) + credit["amount"]
    last_export = row["last_export_time"]
    return DailyFact(
        invoice_month=row["invoice_month"],
        usage_date=row["usage_date"],
        billing_account_id=row["billing_account_id"],
        project_id=row["project_id"],
        project_name=row["project_name"],
        project_number=row["project_number"],
        project_ancestry=row["project_ancestry"],
        service_id=row["service_id"],
        service_description=row["service_description"],
        sku_id=row["sku_id"],
        sku_description=row["sku_description"],
        location=row["location"],
        region=row["region"],
        cost_type=row["cost_type"],
        currency=row["currency"],
        conversion_rate=plain_decimal(row["conversion_rate"]),
        labels=labels,
        project_labels=project_labels,
        is_correction=bool(row["is_correction"]),
        usage_unit=row["usage_unit"],
        pricing_unit=row["pricing_unit"],
        cost=plain_decimal(row["cost"]),
        cost_at_list=plain_decimal(row["cost_at_list"]),
        usage_amount=plain_decimal(row["usage_amount"]),
        usage_in_pricing_units=plain_decimal(row["usage_in_pricing_units"]),
        row_count=row["row_count"],
        last_export_time=last_export.astimezone(datetime.UTC) if last_export else None,
        credits={kind: plain_decimal(amount) for kind, amount in credits.items()},
        resource=row.get("resource") or "",
    )


def fold_resources(facts: Iterable[DailyFact], *, keep: int) -> list[DailyFact]:
    """The facts with a bounded resource grain: per invoice month, usage day, billing
    account and SKU, the `keep` resources of the highest cost (ties: by name) keep their
    name, and the others become "(other)", their facts merged. Facts with no resource
    (a standard export's, or rows Google names no resource for) are left as they are.

    The same rule as the BigQuery pull's SQL (cost.billing.pull RESOURCE_RANKS), so that a
    file and a pull of the same export store the same facts; folding twice changes nothing.
    """
    facts = list(facts)
    totals: dict[tuple, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for fact in facts:
        if fact.resource and fact.resource != OTHER_RESOURCES:
            totals[_resource_group(fact)][fact.resource] += fact.cost
    kept = {
        group: {name for name, _cost in sorted(costs.items(),
                                               key=lambda pair: (-pair[1], pair[0]))[:keep]}
        for group, costs in totals.items()
    }  # fmt: skip
    folded: dict[tuple, DailyFact] = {}
    for fact in facts:
        if fact.resource and fact.resource not in kept.get(_resource_group(fact), ()):
            fact.resource = OTHER_RESOURCES
        if (same := folded.get(fact.sort_key())) is not None:
            same.absorb(fact)
        else:
            folded[fact.sort_key()] = fact
    return list(folded.values())


def _resource_group(fact: DailyFact) -> tuple:
    return (fact.invoice_month, fact.usage_date, fact.billing_account_id, fact.sku_id)


def _add(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None:
        return second
    return first if second is None else first + second


class FactRefused(ValueError):
    """A fact Quarterdeck cannot store as it is; the message says which and why."""


def _check(fact: DailyFact) -> None:
    where = f"{fact.invoice_month} {fact.usage_date} {fact.project_id} {fact.sku_description}"
    for scope, labels in (("label", fact.labels), ("project label", fact.project_labels)):
        keys = [key for key, _value in labels]
        if not all(keys) or len(set(keys)) != len(keys):
            raise FactRefused(f"{where}: a {scope} with no key, or the same key twice")
    for name in ("cost", "cost_at_list"):
        amount = getattr(fact, name)
        if amount is not None and abs(amount) >= LARGEST_FACT:
            raise FactRefused(f"{where}: a day's {name} of {amount} {fact.currency} is more "
                              "than Quarterdeck stores (9.2 billion units)")  # fmt: skip


# Amounts are stored as 64-bit billionths.
LARGEST_FACT = Decimal("9.2e9")


def month_digest(facts: list[Stored]) -> str:
    digest = hashlib.sha256()
    for stored in sorted(facts, key=lambda stored: stored.fact.sort_key()):
        digest.update(stored.canonical().encode())
        digest.update(b"\n")
    return digest.hexdigest()


@transaction.atomic
def store_facts(
    *, source: BillingSource, run: ImportRun, facts: Iterable[DailyFact]
) -> list[MonthOutcome]:
    """Make `facts` the current version of every invoice month they cover. Month by
    month: only one month's stored rows are in memory at a time."""
    by_month: dict[str, list[DailyFact]] = defaultdict(list)
    for fact in facts:
        _check(fact)
        by_month[fact.invoice_month].append(fact)
    now = timezone.now()
    current = {
        month.invoice_month: month
        for month in BillingMonth.objects.select_for_update()
        .filter(source=source, invoice_month__in=list(by_month))
        .current()
    }
    label_sets = label_set_ids(fact for month in by_month.values() for fact in month)
    outcomes = []
    for invoice_month in sorted(by_month):
        month_facts = [fact.stored() for fact in by_month.pop(invoice_month)]
        digest = month_digest(month_facts)
        rows = sum(stored.fact.row_count for stored in month_facts)
        previous = current.get(invoice_month)
        if previous is not None and previous.digest == digest:
            outcomes.append(MonthOutcome(invoice_month, "unchanged", len(month_facts), rows))
            continue
        if previous is not None:
            previous.valid_to, previous.superseded_by = now, run
            previous.save(update_fields=["valid_to", "superseded_by"])
        month = BillingMonth.objects.create(
            source=source,
            invoice_month=invoice_month,
            run=run,
            valid_from=now,
            digest=digest,
            fact_count=len(month_facts),
            row_count=rows,
        )
        _insert_facts(month, month_facts, label_sets)
        _insert_rollups(month, month_facts, label_sets)
        outcome = "new" if previous is None else "replaced"
        outcomes.append(MonthOutcome(invoice_month, outcome, len(month_facts), rows))
    return outcomes


def _label_digest(labels: Labels, project_labels: Labels) -> str:
    text = json.dumps([list(labels), list(project_labels)], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def label_set_ids(facts: Iterable[DailyFact]) -> dict[tuple[Labels, Labels], int]:
    wanted = {(fact.labels, fact.project_labels) for fact in facts}
    digests = {_label_digest(*pair): pair for pair in wanted}
    known = dict(LabelSet.objects.filter(digest__in=digests).values_list("digest", "id"))
    missing = [digest for digest in digests if digest not in known]
    if missing:
        created = LabelSet.objects.bulk_create(
            LabelSet(digest=digest, labels=dict(digests[digest][0]),
                     project_labels=dict(digests[digest][1]))
            for digest in missing
        )  # fmt: skip
        Label.objects.bulk_create(
            Label(label_set=label_set, scope=scope, key=key, value=value)
            for label_set in created
            for scope, pairs in ((Label.Scope.RESOURCE, label_set.labels),
                                 (Label.Scope.PROJECT, label_set.project_labels))
            for key, value in pairs.items()
        )  # fmt: skip
        known.update({label_set.digest: label_set.id for label_set in created})
    return {pair: known[digest] for digest, pair in digests.items()}


FACT_COLUMNS = [
    "id", "month_id", "invoice_month", "usage_date", "billing_account_id", "project_id",
    "project_name", "project_number", "project_ancestry", "service_id", "service_description",
    "sku_id", "sku_description", "location", "region", "cost_type", "currency",
    "label_set_id", "is_correction", "usage_unit", "usage_amount", "pricing_unit",
    "usage_in_pricing_units", "cost_nanos", "credits_nanos", "cost_at_list_nanos",
    "cost_usd_nanos", "credits_usd_nanos", "row_count", "last_export_time", "resource",
]  # fmt: skip
CREDIT_COLUMNS = ["fact_id", "credit_type", "amount_nanos", "amount_usd_nanos"]


def _nanos(amount: Decimal | None) -> int | None:
    return None if amount is None else to_nanos(amount)


def _billionths(quantity: Decimal | None) -> Decimal | None:
    """Usage as stored (nine decimals)."""
    return None if quantity is None else quantity.quantize(Decimal("1e-9"))


def _fact_row(fact_id: int, month: BillingMonth, stored: Stored, label_set_id: int) -> tuple:
    fact = stored.fact
    usage, in_pricing, cost, credits, at_list, cost_usd, credits_usd = stored.amounts
    return (
        fact_id, month.id, fact.invoice_month, fact.usage_date, fact.billing_account_id,
        fact.project_id, fact.project_name, fact.project_number, fact.project_ancestry,
        fact.service_id, fact.service_description, fact.sku_id, fact.sku_description,
        fact.location, fact.region, fact.cost_type, fact.currency, label_set_id,
        fact.is_correction, fact.usage_unit, usage, fact.pricing_unit, in_pricing, cost,
        credits, at_list, cost_usd, credits_usd, fact.row_count, fact.last_export_time,
        fact.resource,
    )  # fmt: skip


ROLLUP_COLUMNS = [
    "id", "month_id", "invoice_month", "usage_month", "billing_account_id", "project_id",
    "project_name", "service_id", "service_description", "sku_id", "sku_description",
    "location", "region", "cost_type", "currency", "label_set_id", "is_correction",
    "cost_nanos", "credits_nanos", "cost_at_list_nanos", "cost_usd_nanos",
    "credits_usd_nanos", "fact_count", "resource",
]  # fmt: skip
CREDIT_ROLLUP_COLUMNS = ["rollup_id", "credit_type", "amount_nanos", "amount_usd_nanos"]


def _plus(total: int | None, amount: int | None, first: bool) -> int | None:
    """Sum where a missing amount (no list price, no USD rate) makes the sum missing."""
    if first:
        return amount
    return None if total is None or amount is None else total + amount


def _insert_rollups(
    month: BillingMonth, facts: list[Stored], label_sets: dict[tuple[Labels, Labels], int]
) -> None:
    """The month's facts summed per usage month and every other dimension."""
    groups: dict[tuple, list] = {}
    credits: dict[tuple, dict[str, list]] = defaultdict(dict)
    for stored in facts:
        fact = stored.fact
        key = (
            fact.invoice_month, f"{fact.usage_date:%Y%m}", fact.billing_account_id,
            fact.project_id, fact.project_name, fact.service_id, fact.service_description,
            fact.sku_id, fact.sku_description, fact.location, fact.region, fact.cost_type,
            fact.currency, label_sets[(fact.labels, fact.project_labels)], fact.is_correction,
            fact.resource,
        )  # fmt: skip
        _usage, _in_pricing, cost, credit, at_list, cost_usd, credit_usd = stored.amounts
        sums = groups.get(key)
        first = sums is None
        if sums is None:
            sums = groups[key] = [0, 0, None, None, None, 0]
        sums[0] += cost
        sums[1] += credit
        sums[2] = _plus(sums[2], at_list, first)
        sums[3] = _plus(sums[3], cost_usd, first)
        sums[4] = _plus(sums[4], credit_usd, first)
        sums[5] += 1
        for kind, amount, usd in stored.credits:
            line = credits[key].get(kind)
            if line is None:
                credits[key][kind] = [amount, usd]
            else:
                line[0] += amount
                line[1] = None if line[1] is None or usd is None else line[1] + usd
    ids = reserve_ids(CostMonthRollup, len(groups))
    rollup_rows: list[tuple[Any, ...]] = []
    credit_rows: list[tuple[Any, ...]] = []
    for rollup_id, (key, sums) in zip(ids, groups.items(), strict=True):
        *dimensions, resource = key
        rollup_rows.append((rollup_id, month.id, *dimensions, *sums, resource))
        credit_rows.extend((rollup_id, kind, amount, usd)
                           for kind, (amount, usd) in sorted(credits[key].items()))  # fmt: skip
    write_rows(CostMonthRollup, ROLLUP_COLUMNS, rollup_rows)
    write_rows(CreditMonthRollup, CREDIT_ROLLUP_COLUMNS, credit_rows)


def _insert_facts(
    month: BillingMonth, facts: list[Stored], label_sets: dict[tuple[Labels, Labels], int]
) -> None:
    fact_rows: list[tuple[Any, ...]] = []
    credit_rows: list[tuple[Any, ...]] = []
    for fact_id, stored in zip(reserve_ids(CostFact, len(facts)), facts, strict=True):
        label_set = label_sets[(stored.fact.labels, stored.fact.project_labels)]
        fact_rows.append(_fact_row(fact_id, month, stored, label_set))
        credit_rows.extend((fact_id, *credit) for credit in stored.credits)
    write_rows(CostFact, FACT_COLUMNS, fact_rows)
    write_rows(CostCredit, CREDIT_COLUMNS, credit_rows)


def write_rows(model: type[models.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if connection.vendor == "postgresql":
        _copy(model._meta.db_table, columns, rows)
    else:
        model._default_manager.bulk_create(
            (model(**dict(zip(columns, row, strict=True))) for row in rows), batch_size=500
        )


def reserve_ids(model: type[models.Model], count: int) -> range | list[int]:
    """Ids for new rows, so the rows pointing at them can be written in bulk too."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: one writer at a time (the transaction holds the write lock).
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        start = cursor.fetchone()[0] + 1
        return range(start, start + count)


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL COPY: about ten times the rows per second of bulk_create."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)

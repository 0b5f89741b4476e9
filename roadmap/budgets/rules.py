"""Error budgets: per data product, how much of the period's incident budget is spent,
how fast, and what the agreed policy says to do about it.

- An incident spends one unit of the budget of every product it affects, in the period
  in which it was detected (an incident that spans two periods counts once, in the first).
- elapsed = days of the period gone, today included, / days in the period.
- burn rate = (used / allowed) / elapsed: 1.0 spends the budget exactly by the period's
  end; above 1.0 spends it early.
- exhausted: used >= allowed (nothing left; with a budget of 0, any incident);
  at risk: burning faster than time (used / allowed > elapsed); healthy otherwise.
- A freshness objective is a second budget (late days, counted from late-data incidents,
  one per day); a product's state is the worse of the two.
- Move faster: healthy, at least half the period gone, at most a quarter of the budget
  used: the team is being more careful than it agreed to be.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.history import records_as_of
from core.models import Team
from roadmap.items.planning import OPEN_STATUSES
from roadmap.models import DataProduct, Incident, Quarter, RoadmapItem


class State:
    HEALTHY = "healthy"
    AT_RISK = "at_risk"
    EXHAUSTED = "exhausted"
    ORDER = (HEALTHY, AT_RISK, EXHAUSTED)
    LABELS = {HEALTHY: _("healthy"), AT_RISK: _("at risk"), EXHAUSTED: _("exhausted")}
    POLICY = {
        HEALTHY: _("ship as planned"),
        AT_RISK: _("burning faster than time: slow down risky changes"),
        EXHAUSTED: _("fix before new features"),
    }


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def elapsed(self, today: datetime.date) -> Decimal:
        gone = min(max((today - self.start).days + 1, 0), self.days)
        return Decimal(gone) / Decimal(self.days)

    def __contains__(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end


def period_of(product: DataProduct, day: datetime.date) -> Period:
    if product.budget_period == DataProduct.Period.YEAR:
        return Period(datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31), str(day.year))
    quarter = Quarter.from_code(Quarter.code_for_date(day))
    return Period(quarter.start_date, quarter.end_date, quarter.code)


def _state(used: int, allowed: int, elapsed: Decimal) -> str:
    if used and used >= allowed:
        return State.EXHAUSTED
    if allowed and Decimal(used) / allowed > elapsed:
        return State.AT_RISK
    return State.HEALTHY


@dataclass(frozen=True)
class BudgetStatus:
    product: DataProduct
    period: Period
    today: datetime.date
    allowed: int
    used: int
    incidents: tuple[Incident, ...]
    late_days_used: int | None  # None: no freshness objective
    items_restoring: tuple[RoadmapItem, ...] = field(default=())
    items_spending: tuple[RoadmapItem, ...] = field(default=())

    @property
    def elapsed(self) -> Decimal:
        return self.period.elapsed(self.today)

    @property
    def remaining(self) -> int:
        return max(self.allowed - self.used, 0)

    @property
    def over(self) -> int:
        return max(self.used - self.allowed, 0)

    @property
    def burn_rate(self) -> Decimal | None:
        if not self.allowed or not self.elapsed:
            return None
        return (Decimal(self.used) / self.allowed / self.elapsed).quantize(Decimal("0.01"))

    @property
    def incident_state(self) -> str:
        return _state(self.used, self.allowed, self.elapsed)

    @property
    def freshness_state(self) -> str | None:
        # late_days_used is counted exactly when the product has late_days_allowed.
        if self.late_days_used is None or self.product.late_days_allowed is None:
            return None
        return _state(self.late_days_used, self.product.late_days_allowed, self.elapsed)

    @property
    def state(self) -> str:
        states = [self.incident_state, self.freshness_state or State.HEALTHY]
        return max(states, key=State.ORDER.index)

    @property
    def state_label(self) -> str:
        return str(State.LABELS[self.state])

    @property
    def policy(self) -> str:
        return str(State.POLICY[self.state])

    @property
    def move_faster(self) -> bool:
        return (
            self.state == State.HEALTHY
            and self.allowed > 0
            and self.elapsed >= Decimal("0.5")
            and self.used * 4 <= self.allowed
        )


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localdate(moment)


def budget_status(
    product: DataProduct,
    *,
    today: datetime.date,
    incidents: Iterable[Incident],
    items_restoring: Iterable[RoadmapItem] | None = None,
) -> BudgetStatus:
    """The product's budget in the period that contains `today`, from its incidents;
    the items restoring it are its reliability items unless given."""
    period = period_of(product, today)
    counted = tuple(
        incident
        for incident in incidents
        if _local_day(incident.detected_at) in period and _local_day(incident.detected_at) <= today
    )
    late_days = None
    if product.late_days_allowed is not None:
        late_days = len({
            _local_day(incident.detected_at)
            for incident in counted
            if incident.impact == Incident.Impact.LATE_DATA
        })  # fmt: skip
    spending = {i.caused_by_id: i.caused_by for i in counted if i.caused_by_id}
    return BudgetStatus(
        product=product,
        period=period,
        today=today,
        allowed=product.incidents_allowed,
        used=len(counted),
        incidents=counted,
        late_days_used=late_days,
        items_restoring=tuple(
            product.reliability_items.all() if items_restoring is None else items_restoring
        ),
        items_spending=tuple(spending.values()),  # type: ignore[arg-type]  # caused_by_id set
    )


def budget_statuses(
    *,
    today: datetime.date | None = None,
    as_of: datetime.datetime | None = None,
) -> list[BudgetStatus]:
    """Every product's status: three queries, however many products and incidents.
    `as_of`: everything as it was recorded by then (budget_statuses_as_of)."""
    if as_of is not None:
        return budget_statuses_as_of(as_of)
    today = today or timezone.localdate()
    incidents = Incident.objects.filter(
        detected_at__date__gte=datetime.date(today.year - 1, 1, 1)
    ).select_related("caused_by")
    prefetched = DataProduct.objects.prefetch_related(
        Prefetch("incidents", queryset=incidents),
        Prefetch("reliability_items", queryset=RoadmapItem.objects.order_by("rank", "id")),
    ).select_related("owner")
    return [
        budget_status(product, today=today, incidents=product.incidents.all())
        for product in prefetched
    ]


def _linked(through: str, history_ids: list[int], column: str) -> dict[int, list[int]]:
    links: dict[int, list[int]] = defaultdict(list)
    rows = apps.get_model("roadmap", through).objects.filter(history_id__in=history_ids)
    for history_id, linked in rows.values_list("history_id", column):
        links[history_id].append(linked)
    return links


def budget_statuses_as_of(moment: datetime.datetime) -> list[BudgetStatus]:
    """Every product's status at `moment` (a review pack's), from the history: the
    products and their objectives, their reliability items, and the incidents, each as
    recorded by then. An edit made later changes none of it. Seven queries."""
    today = timezone.localdate(moment)
    products = sorted(records_as_of(DataProduct.history, moment), key=lambda p: (p.name, p.id))
    incidents = [
        record
        for record in records_as_of(Incident.history, moment)
        if timezone.localdate(record.detected_at) >= datetime.date(today.year - 1, 1, 1)
    ]
    restoring = _linked(
        "HistoricalDataProduct_reliability_items",
        [p.history_id for p in products],
        "roadmapitem_id",
    )
    affected = _linked("HistoricalIncident_products", [i.history_id for i in incidents],
                       "dataproduct_id")  # fmt: skip
    wanted = {pk for ids in restoring.values() for pk in ids}
    wanted |= {i.caused_by_id for i in incidents if i.caused_by_id}
    items = {record.id: record.instance for record in records_as_of(
        RoadmapItem.history.filter(id__in=wanted), moment)}  # fmt: skip
    # An item linked then existed then; one recorded before its history began, as it is.
    items.update(RoadmapItem.objects.in_bulk(wanted - set(items)))
    by_product: dict[int, list[Incident]] = defaultdict(list)
    for record in sorted(incidents, key=lambda i: (i.detected_at, i.id), reverse=True):
        incident = record.instance
        incident.caused_by = items.get(incident.caused_by_id) if incident.caused_by_id else None
        for product_id in affected.get(record.history_id, ()):
            by_product[product_id].append(incident)
    return [
        budget_status(
            record.instance,
            today=today,
            incidents=by_product.get(record.id, ()),
            items_restoring=sorted(
                (items[pk] for pk in restoring.get(record.history_id, ()) if pk in items),
                key=lambda item: (item.rank is None, item.rank or 0, item.pk),
            ),
        )
        for record in products
    ]


def exhausted_items(statuses: Iterable[BudgetStatus]) -> dict[int, list[DataProduct]]:
    """Open roadmap items that restore an exhausted budget: fix them before new features."""
    flagged: dict[int, list[DataProduct]] = defaultdict(list)
    for status in statuses:
        if status.state == State.EXHAUSTED:
            for item in status.items_restoring:
                if item.status in OPEN_STATUSES:  # a done item has nothing left to fix
                    flagged[item.pk].append(status.product)
    return flagged


def save_product(
    *,
    product: DataProduct,
    consumers: Iterable[Team],
    reliability_items: Iterable[RoadmapItem],
) -> DataProduct:
    """Create or change a product with its consumer teams and reliability items, all or
    nothing."""
    with transaction.atomic():
        product.save()
        product.consumers.set(consumers)
        product.reliability_items.set(reliability_items)
    return product


def save_incident(
    *, incident: Incident, products: Iterable[DataProduct], by: User | None
) -> Incident:
    """Record a new incident (by `by`) or change one, with the products whose budget it
    spends, all or nothing: a half-saved incident would spend no budget at all."""
    with transaction.atomic():
        if incident.pk is None:
            incident.recorded_by = by
        incident.save()
        incident.products.set(products)
    return incident


def current_quarter(today: datetime.date) -> Quarter:
    return Quarter.from_code(Quarter.code_for_date(today))


def incidents_in_quarter(*, today: datetime.date) -> QuerySet[Incident]:
    """The incidents detected in the quarter that contains `today` (local dates), newest
    first, with what the budget page shows of them."""
    quarter = current_quarter(today)
    return (
        Incident.objects.filter(
            detected_at__date__gte=quarter.start_date, detected_at__date__lte=quarter.end_date
        )
        .select_related("caused_by", "follow_up")
        .prefetch_related("products")
    )


@dataclass(frozen=True)
class BudgetRow:
    """A status with the figures its bar and the board's lane need."""

    status: BudgetStatus
    used_percent: int  # of the budget, capped at 100 for the bar
    elapsed_percent: int  # of the period
    incidents_this_quarter: int

    @property
    def product(self) -> DataProduct:
        return self.status.product


def _percent(part: Decimal) -> int:
    return int(min(max(part, Decimal(0)), Decimal(1)) * 100)


def budget_rows(statuses: Sequence[BudgetStatus], *, today: datetime.date) -> list[BudgetRow]:
    quarter = current_quarter(today)
    rows = []
    for status in statuses:
        if status.allowed:
            used = Decimal(status.used) / status.allowed
        else:  # a budget of 0: any incident spends all of it
            used = Decimal(1 if status.used else 0)
        in_quarter = sum(
            1
            for incident in status.incidents
            if quarter.start_date <= timezone.localdate(incident.detected_at) <= quarter.end_date
        )
        rows.append(
            BudgetRow(
                status=status,
                used_percent=_percent(used),
                elapsed_percent=_percent(status.elapsed),
                incidents_this_quarter=in_quarter,
            )
        )
    return rows


def exhausted_budgets_of(item: RoadmapItem, statuses: Sequence[BudgetStatus]) -> list[BudgetStatus]:
    """The exhausted budgets that `item` restores: it comes before new features."""
    products = {product.pk for product in exhausted_items(statuses).get(item.pk, [])}
    return [status for status in statuses if status.product.pk in products]

"""Writing data products and incidents, and shaping budget statuses for the pages that
show them (the budget page, the roadmap board's lane, an item's banner). The arithmetic
itself lives in `error_budgets.py`."""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from roadmap.error_budgets import BudgetStatus, exhausted_items
from roadmap.models import DataProduct, Incident, Quarter, RoadmapItem, Team


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
    *, incident: Incident, products: Iterable[DataProduct], by: AbstractBaseUser | None
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

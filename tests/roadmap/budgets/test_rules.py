"""Error-budget arithmetic on hand-computed examples: period boundaries, incidents that
span periods, several products per incident, late days, the policy states."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from roadmap.budgets.rules import State, budget_statuses, exhausted_items, period_of
from roadmap.models import DataProduct, Incident
from tests.roadmap.factories import RoadmapItemFactory

pytestmark = pytest.mark.django_db


def product(slug: str, allowed: int, **fields) -> DataProduct:
    return DataProduct.objects.create(name=slug.title(), slug=slug, incidents_allowed=allowed,
                                      **fields)  # fmt: skip


def incident(day: str, *products: DataProduct, impact: str = "wrong_numbers", **fields):
    """Detected at 10:00 local time on `day`."""
    detected = timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T10:00:00"))
    # Numbered: one incident per title and moment, and a test may record two at once.
    title = f"Incident {day} #{Incident.objects.count() + 1}"
    record = Incident.objects.create(title=title, detected_at=detected,
                                     severity="sev2", impact=impact, **fields)  # fmt: skip
    record.products.set(products)
    return record


def status_of(slug: str, today: str):
    day = datetime.date.fromisoformat(today)
    return {s.product.slug: s for s in budget_statuses(today=day)}[slug]


def test_periods_are_calendar_quarters_or_years():
    quarterly = DataProduct(budget_period="quarter")
    yearly = DataProduct(budget_period="year")
    q = period_of(quarterly, datetime.date(2026, 11, 26))
    assert (q.start, q.end, q.label, q.days) == (
        datetime.date(2026, 10, 1), datetime.date(2026, 12, 31), "2026-Q4", 92
    )  # fmt: skip
    y = period_of(yearly, datetime.date(2026, 11, 26))
    assert (y.start, y.end, y.label, y.days) == (
        datetime.date(2026, 1, 1), datetime.date(2026, 12, 31), "2026", 365
    )  # fmt: skip
    # 2026-11-15 is day 46 of the quarter's 92: exactly half gone.
    assert q.elapsed(datetime.date(2026, 11, 15)) == Decimal("0.5")


def test_healthy_at_risk_exhausted_as_the_budget_burns():
    kpi = product("kpi", 4)
    assert status_of("kpi", "2026-11-15").state == State.HEALTHY
    incident("2026-10-05", kpi)
    incident("2026-10-20", kpi)
    incident("2026-10-28", kpi)
    # Day 46 of 92 (half the quarter) with 3 of 4 spent: 75 % used > 50 % elapsed.
    half = status_of("kpi", "2026-11-15")
    assert (half.used, half.remaining, half.state) == (3, 1, State.AT_RISK)
    assert half.burn_rate == Decimal("1.50")
    assert half.policy == "burning faster than time: slow down risky changes"
    # Late in the quarter (day 85 of 92: 92 %), 3 of 4 (75 %) is within pace again.
    assert status_of("kpi", "2026-12-24").state == State.HEALTHY
    incident("2026-12-01", kpi)
    spent = status_of("kpi", "2026-12-24")
    assert (spent.used, spent.remaining, spent.over, spent.state) == (4, 0, 0, State.EXHAUSTED)
    incident("2026-12-02", kpi)
    assert status_of("kpi", "2026-12-24").over == 1


def test_an_incident_counts_once_in_the_period_it_was_detected():
    kpi = product("kpi", 2)
    # Detected on the last day of Q3, resolved in Q4: spends Q3's budget, not Q4's.
    incident("2026-09-30", kpi, resolved_at=timezone.make_aware(datetime.datetime(2026, 10, 3)))
    assert status_of("kpi", "2026-09-30").used == 1
    assert status_of("kpi", "2026-10-01").used == 0
    # Incidents detected after "today" do not count yet.
    incident("2026-10-20", kpi)
    assert status_of("kpi", "2026-10-19").used == 0
    assert status_of("kpi", "2026-10-20").used == 1


def test_one_incident_spends_the_budget_of_every_product_it_affects():
    orders = product("orders", 2)
    revenue = product("revenue", 1, budget_period="year")
    incident("2026-03-10", orders, revenue)
    incident("2026-11-02", orders, revenue)
    # Orders (quarterly) counts only Q4's incident; revenue (yearly) counts both.
    assert status_of("orders", "2026-11-26").used == 1
    yearly = status_of("revenue", "2026-11-26")
    assert (yearly.used, yearly.state) == (2, State.EXHAUSTED)


def test_late_days_are_a_second_budget_and_the_worse_state_wins():
    sales = product("sales", 10, ready_by=datetime.time(8, 0), late_days_allowed=2)
    # Two late-data incidents the same day are one late day; three days in all.
    incident("2026-10-06", sales, impact="late_data")
    incident("2026-10-06", sales, impact="late_data")
    incident("2026-10-07", sales, impact="late_data")
    incident("2026-10-08", sales, impact="late_data")
    late = status_of("sales", "2026-12-30")
    assert (late.used, late.late_days_used) == (4, 3)
    assert late.incident_state == State.HEALTHY  # 4 of 10 incidents, 99 % of the quarter gone
    assert late.freshness_state == State.EXHAUSTED  # 3 late days of 2
    assert late.state == State.EXHAUSTED


def test_a_zero_budget_is_exhausted_by_one_incident_and_a_quiet_product_moves_faster():
    strict = product("strict", 0)
    quiet = product("quiet", 8)
    assert status_of("strict", "2026-10-10").state == State.HEALTHY
    incident("2026-10-05", strict, quiet)
    assert status_of("strict", "2026-10-10").state == State.EXHAUSTED
    # 1 of 8 used (12.5 %) with half the quarter gone: a candidate to move faster...
    assert status_of("quiet", "2026-11-15").move_faster is True
    # ...but not before half the period is gone.
    assert status_of("quiet", "2026-11-14").move_faster is False


def test_reliability_items_of_an_exhausted_product_are_flagged():
    kpi = product("kpi", 1)
    other = product("other", 5)
    fix = RoadmapItemFactory(title="Add tests to the KPI pipeline")
    feature = RoadmapItemFactory(title="A new dashboard")
    kpi.reliability_items.add(fix)
    other.reliability_items.add(feature)
    incident("2026-10-05", kpi, caused_by=feature)
    statuses = budget_statuses(today=datetime.date(2026, 10, 10))
    assert exhausted_items(statuses) == {fix.pk: [kpi]}
    kpi_status = {s.product.slug: s for s in statuses}["kpi"]
    assert kpi_status.items_spending == (feature,)
    assert kpi_status.items_restoring == (fix,)


def test_statuses_read_three_queries_whatever_the_number_of_products(django_assert_num_queries):
    for n in range(12):
        kpi = product(f"p{n}", 3)
        kpi.reliability_items.add(RoadmapItemFactory())
        incident("2026-10-05", kpi)
    with django_assert_num_queries(3):
        statuses = budget_statuses(today=datetime.date(2026, 10, 10))
        assert [s.used for s in statuses] == [1] * 12


def test_a_finished_reliability_item_is_not_flagged():
    kpi = product("kpi", 1)
    done = RoadmapItemFactory(title="Tests added last quarter", status="done")
    kpi.reliability_items.add(done)
    incident("2026-10-05", kpi)
    assert exhausted_items(budget_statuses(today=datetime.date(2026, 10, 10))) == {}

"""The read-only cost reports against totals worked out by hand."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from core.money import Money
from cost.billing import reports
from cost.billing.reports import Basis, Stacking
from cost.models import AllocationRule, CostCredit, ImportRun, to_nanos
from tests.cost.factories import (
    BillingMonthFactory,
    BillingSourceFactory,
    CostFactFactory,
    ImportRunFactory,
)
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOV = ("202611",)
YESTERDAY = timezone.now() - datetime.timedelta(days=1)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def jpy(amount: str) -> Money:
    return Money(Decimal(amount), "JPY")


def fact(month=None, *, credit_lines: dict[str, str] | None = None, **fields):
    """A fact; `credit_lines` ({type: amount}) become CostCredit rows and its credits."""
    if credit_lines:
        fields["credits"] = sum((Decimal(a) for a in credit_lines.values()), Decimal(0))
    if month is not None:
        fields["month"] = month
    created = CostFactFactory(**fields)
    for credit_type, amount in (credit_lines or {}).items():
        CostCredit.objects.create(
            fact=created, credit_type=credit_type, amount_nanos=to_nanos(Decimal(amount))
        )
    return created


def stacks(chart: reports.MonthlyCost) -> dict[str, list[Decimal]]:
    return {stack.label: list(stack.amounts) for stack in chart.stacks}


def test_net_cost_by_invoice_month_is_cost_plus_credits_per_service():
    november = BillingMonthFactory(invoice_month="202611")
    fact(november, service_description="BigQuery", cost=Decimal("10.25"),
         credit_lines={"FREE_TIER": "-1.25"})  # fmt: skip
    fact(november, service_description="BigQuery", cost=Decimal("4"))
    fact(november, service_id="95FF", service_description="Cloud Storage", cost=Decimal("2.5"))
    december = BillingMonthFactory(invoice_month="202612", source=november.source)
    fact(december, service_description="BigQuery", cost=Decimal("1"))

    [chart] = reports.monthly_cost(
        basis=Basis.INVOICE, stacking=Stacking.SERVICE, months=("202611", "202612")
    )

    assert chart.currency == "USD"
    assert stacks(chart) == {
        "BigQuery": [Decimal("13"), Decimal("1")],
        "Cloud Storage": [Decimal("2.5"), Decimal("0")],
    }
    assert chart.month_totals == [Decimal("15.5"), Decimal("1")]
    assert chart.total == usd("16.5")
    assert [row.total for row in chart.rows()] == [usd("15.5"), usd("1")]


def test_amounts_in_two_currencies_are_never_added_together():
    fact(cost=Decimal("10"), currency="USD")
    fact(cost=Decimal("1500"), currency="JPY")
    fact(cost=Decimal("20"), currency="USD", project_id="other")

    charts = reports.monthly_cost(basis=Basis.INVOICE, stacking=Stacking.SERVICE, months=NOV)
    totals = reports.window_totals(basis=Basis.INVOICE, months=NOV)
    projects = reports.top_projects(basis=Basis.INVOICE, months=NOV)

    assert [(chart.currency, chart.total) for chart in charts] == [
        ("JPY", jpy("1500")),
        ("USD", usd("30")),
    ]
    assert [total.net for total in totals] == [jpy("1500"), usd("30")]
    assert [(ranking.currency, ranking.total) for ranking in projects] == [
        ("JPY", jpy("1500")),
        ("USD", usd("30")),
    ]


def test_usage_month_counts_a_late_row_in_the_month_it_was_used():
    # Used on 31 October, billed on the November invoice.
    fact(usage_date=datetime.date(2026, 10, 31), cost=Decimal("7"))
    fact(usage_date=datetime.date(2026, 11, 2), cost=Decimal("3"))

    [by_invoice] = reports.monthly_cost(
        basis=Basis.INVOICE, stacking=Stacking.SERVICE, months=("202610", "202611")
    )
    [by_usage] = reports.monthly_cost(
        basis=Basis.USAGE, stacking=Stacking.SERVICE, months=("202610", "202611")
    )

    assert by_invoice.month_totals == [Decimal(0), Decimal("10")]
    assert by_usage.month_totals == [Decimal("7"), Decimal("3")]
    assert reports.latest_window(basis=Basis.USAGE, count=2) == ("202610", "202611")
    assert reports.latest_window(basis=Basis.INVOICE, count=2) == ("202610", "202611")


def test_superseded_month_versions_are_left_out_of_every_report():
    source = BillingSourceFactory(name="export")
    old = BillingMonthFactory(source=source, valid_from=YESTERDAY, valid_to=timezone.now())
    fact(old, cost=Decimal("100"), credit_lines={"PROMOTION": "-5"},
         usage_date=datetime.date(2026, 11, 20))  # fmt: skip
    current = BillingMonthFactory(source=source)
    fact(current, cost=Decimal("60"), usage_date=datetime.date(2026, 11, 12))

    [chart] = reports.monthly_cost(basis=Basis.INVOICE, stacking=Stacking.SERVICE, months=NOV)
    [total] = reports.window_totals(basis=Basis.INVOICE, months=NOV)
    [freshness] = reports.source_freshness()

    assert chart.total == usd("60")
    assert total.net == usd("60")
    assert reports.credits_by_type(basis=Basis.INVOICE, months=NOV) == []
    assert reports.top_projects(basis=Basis.INVOICE, months=NOV)[0].total == usd("60")
    assert freshness.complete_through == datetime.date(2026, 11, 12)


def test_window_totals_separate_cost_credits_and_corrections():
    fact(cost=Decimal("50"), credit_lines={"FREE_TIER": "-10", "PROMOTION": "-2.5"})
    fact(cost=Decimal("-25.50"), is_correction=True)
    fact(
        cost=Decimal("999"),
        invoice_month="202610",
        month=BillingMonthFactory(invoice_month="202610"),
    )

    [total] = reports.window_totals(basis=Basis.INVOICE, months=NOV)

    assert total.cost == usd("24.50")
    assert total.credits == usd("-12.5")
    assert total.corrections == usd("-25.50")
    assert total.net == usd("12")


def test_credits_are_summed_by_type_and_currency():
    fact(cost=Decimal("50"), credit_lines={"FREE_TIER": "-10", "COMMITTED_USAGE_DISCOUNT": "-3"})
    fact(cost=Decimal("20"), credit_lines={"FREE_TIER": "-1.5"})
    fact(cost=Decimal("9000"), currency="JPY", credit_lines={"FREE_TIER": "-700"})

    credits = reports.credits_by_type(basis=Basis.INVOICE, months=NOV)

    assert [(group.currency, group.total) for group in credits] == [
        ("JPY", jpy("-700")),
        ("USD", usd("-14.5")),
    ]
    assert [(row.credit_type, row.amount) for row in credits[1].rows] == [
        ("FREE_TIER", usd("-11.5")),
        ("COMMITTED_USAGE_DISCOUNT", usd("-3")),
    ]


def test_top_projects_and_skus_rank_by_net_cost_with_their_share():
    fact(project_id="big", project_name="Big", cost=Decimal("60"))
    fact(project_id="mid", cost=Decimal("30"), sku_id="S2", sku_description="Storage")
    fact(project_id="mid", cost=Decimal("15"), credit_lines={"FREE_TIER": "-5"})
    fact(project_id="small", cost=Decimal("10"), sku_id="S2", sku_description="Storage")

    [projects] = reports.top_projects(basis=Basis.INVOICE, months=NOV, limit=2)
    [skus] = reports.top_skus(basis=Basis.INVOICE, months=NOV)

    assert [(row.key, row.label, row.detail, row.amount, row.share) for row in projects.rows] == [
        ("big", "big", "Big", usd("60"), Decimal("54.5")),
        ("mid", "mid", "", usd("40"), Decimal("36.4")),
    ]
    assert (projects.total, projects.others) == (usd("110"), 1)
    assert [(row.label, row.detail, row.amount) for row in skus.rows] == [
        ("Analysis", "BigQuery", usd("70")),
        ("Storage", "BigQuery", usd("40")),
    ]


def test_sums_are_exact_to_the_billionth():
    for _ in range(3):
        fact(cost=Decimal("0.1"), credit_lines={"FREE_TIER": "-0.000000001"})

    [total] = reports.window_totals(basis=Basis.INVOICE, months=NOV)

    # As floats, 0.1 + 0.1 + 0.1 is 0.30000000000000004.
    assert total.cost.amount == Decimal("0.3")
    assert total.net.amount == Decimal("0.299999997")


def test_stacking_by_team_uses_the_rule_team_and_keeps_unallocated_cost():
    team = TeamFactory(name="Analytics Engineering")
    rule = AllocationRule.objects.create(name="AE", team=team, match_project="ae-prod")
    fact(project_id="ae-prod", cost=Decimal("40"), allocation_rule=rule)
    fact(project_id="sandbox", cost=Decimal("7"))

    [chart] = reports.monthly_cost(basis=Basis.INVOICE, stacking=Stacking.TEAM, months=NOV)

    assert stacks(chart) == {"Analytics Engineering": [Decimal(40)], "Unallocated": [Decimal(7)]}
    assert [stack.unallocated for stack in chart.stacks] == [False, True]


def test_small_stacks_fold_into_other_but_unallocated_never_does():
    for index, amount in enumerate(["50", "40", "3", "2"]):
        fact(service_id=f"S{index}", service_description=f"Service {index}", cost=Decimal(amount))

    [chart] = reports.monthly_cost(
        basis=Basis.INVOICE, stacking=Stacking.SERVICE, months=NOV, max_stacks=3
    )

    assert stacks(chart) == {
        "Service 0": [Decimal(50)],
        "Service 1": [Decimal(40)],
        "Other": [Decimal(5)],
    }

    fact(project_id="nobody", cost=Decimal("1"))
    [by_team] = reports.monthly_cost(
        basis=Basis.INVOICE, stacking=Stacking.TEAM, months=NOV, max_stacks=1
    )
    assert stacks(by_team) == {"Unallocated": [Decimal(96)]}


def test_latest_window_is_twelve_months_ending_with_the_newest_current_month():
    assert reports.latest_window(basis=Basis.INVOICE) == ()
    source = BillingSourceFactory(name="export")
    fact(BillingMonthFactory(source=source, invoice_month="202602"), invoice_month="202602")
    newer_but_superseded = BillingMonthFactory(
        source=source, invoice_month="202605", valid_from=YESTERDAY, valid_to=timezone.now()
    )
    fact(newer_but_superseded)

    window = reports.latest_window(basis=Basis.INVOICE)

    assert window == ("202503", "202504", "202505", "202506", "202507", "202508", "202509",
                      "202510", "202511", "202512", "202601", "202602")  # fmt: skip


def test_freshness_shows_newest_usage_day_and_last_successful_run_per_source():
    files = BillingSourceFactory(name="files")
    ok = ImportRunFactory(source=files)
    failed = ImportRunFactory(source=files, status=ImportRun.Status.FAILED, error="bad file")
    fact(BillingMonthFactory(source=files, run=ok), usage_date=datetime.date(2026, 11, 24))
    fact(BillingMonthFactory(source=files, run=ok, invoice_month="202610"),
         invoice_month="202610", usage_date=datetime.date(2026, 10, 30))  # fmt: skip
    BillingSourceFactory(name="never-loaded")

    by_name = {entry.source.name: entry for entry in reports.source_freshness()}

    assert by_name["files"].complete_through == datetime.date(2026, 11, 24)
    assert by_name["files"].last_success == ok.finished_at
    assert by_name["files"].last_run == failed
    assert by_name["never-loaded"].complete_through is None
    assert by_name["never-loaded"].last_run is None


def test_item_cost_is_what_its_rules_allocate_by_usage_month_with_changes():
    item = RoadmapItemFactory()
    rule = AllocationRule.objects.create(name="Legacy", team=item.team, roadmap_item=item)
    other = AllocationRule.objects.create(name="Other", team=item.team)
    fact(usage_date=datetime.date(2026, 9, 3), cost=Decimal("100"), allocation_rule=rule)
    fact(usage_date=datetime.date(2026, 10, 3), cost=Decimal("80"), allocation_rule=rule,
         credit_lines={"FREE_TIER": "-5"})  # fmt: skip
    fact(usage_date=datetime.date(2026, 10, 4), cost=Decimal("1000"), currency="JPY",
         allocation_rule=rule)  # fmt: skip
    fact(usage_date=datetime.date(2026, 10, 5), cost=Decimal("999"), allocation_rule=other)
    fact(usage_date=datetime.date(2025, 11, 5), cost=Decimal("999"), allocation_rule=rule,
         month=BillingMonthFactory(invoice_month="202511"), invoice_month="202511")  # fmt: skip

    months = reports.item_monthly_cost(item_id=item.pk, today=datetime.date(2026, 11, 26), count=3)

    assert [(m.label, m.amounts, m.changes) for m in months] == [
        ("2026-09", (usd("100"),), ()),
        ("2026-10", (jpy("1000"), usd("75")), (usd("-25"),)),
        ("2026-11", (), ()),
    ]
    full_year = reports.item_monthly_cost(item_id=item.pk, today=datetime.date(2026, 11, 26))
    assert full_year[0].label == "2025-12"  # November 2025 is out of the window
    assert sum(len(m.amounts) for m in full_year) == 3

"""The cost pages with real data: an export generated, written to a file and imported."""

import datetime
import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.money import Money
from cost.billing.allocation import reallocate_all
from cost.billing.reports import month_key, shift_month
from cost.billing.runs import ImportFailed, import_files
from cost.models import AllocationRule, ImportRun
from demo.billing_export import generate_rows, write_export
from tests.cost.factories import (
    BillingMonthFactory,
    BillingSourceFactory,
    CostFactFactory,
    ImportRunFactory,
    label_set,
)
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(tmp_path) -> tuple[Path, list[dict]]:
    """Two months of a small export, as a file and as the rows written to it."""
    rows = list(generate_rows(first_month=datetime.date(2026, 9, 1), months=2, hours_per_day=1))
    path = tmp_path / "billing-202609.jsonl.gz"
    write_export(path, iter(rows))
    return path, rows


def net_of(rows: list[dict]) -> Money:
    """Cost plus credits, summed here from the generated rows, not by our code."""
    total = sum(
        (row["cost"] + sum((c["amount"] for c in row["credits"]), Decimal(0)) for row in rows),
        Decimal(0),
    )
    return Money(total, "USD")


@pytest.fixture
def finance_client(finance, client_for):
    return client_for(finance)


def test_overview_shows_the_net_cost_of_an_imported_export(export, finance_client):
    path, rows = export
    import_files(paths=[path], source_name="billing-files")

    page = finance_client.get(reverse("cost:overview")).content.decode()

    assert str(net_of(rows)) in page  # e.g. "123,456.78 USD", the net of every row
    september = [row for row in rows if row["invoice"]["month"] == "202609"]
    assert str(net_of(september)) in page  # the September bar in the figures table
    assert 'src="/cost/chart.svg?basis=invoice&amp;stack=service&amp;currency=USD"' in page
    for heading in ["Top projects", "Top SKUs", "Credits by type", "Data freshness"]:
        assert heading in page
    assert "acme-analytics-prod" in page
    assert "FREE_TIER" in page
    assert "billing-files" in page
    assert "Succeeded" in page


def test_the_chart_is_an_svg_with_a_labelled_segment_per_team(export, finance_client):
    path, _rows = export
    import_files(paths=[path], source_name="billing-files")
    AllocationRule.objects.create(
        name="AE", team=TeamFactory(name="Analytics Engineering"), match_label_key="team",
        match_label_value="ae",
    )  # fmt: skip
    reallocate_all()

    response = finance_client.get(
        reverse("cost:chart"), {"basis": "usage", "stack": "team", "currency": "USD"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    assert "Net cost by usage month and team (USD)" in svg
    assert "Analytics Engineering" in svg
    assert "Unallocated" in svg
    assert "<pattern" in svg  # segments carry hatches, not only colours
    assert "<script" not in svg


def test_each_currency_gets_its_own_chart_and_total(finance_client):
    CostFactFactory(cost=Decimal("12.50"), currency="USD")
    CostFactFactory(cost=Decimal("1800"), currency="JPY")

    page = finance_client.get(reverse("cost:overview")).content.decode()

    assert "currency=JPY" in page
    assert "currency=USD" in page
    assert "1,800 JPY" in page
    assert "12.50 USD" in page
    assert "1,812" not in page


def test_the_toggle_switches_to_usage_month_and_team(finance_client):
    CostFactFactory(usage_date=datetime.date(2026, 10, 31), cost=Decimal("7"))

    by_invoice = finance_client.get(reverse("cost:overview")).content.decode()
    by_usage = finance_client.get(
        reverse("cost:overview"), {"basis": "usage", "stack": "team"}
    ).content.decode()
    nonsense = finance_client.get(reverse("cost:overview"), {"basis": "x", "stack": "y"})

    assert "2026-11" in by_invoice
    assert "to 2026-11." in by_invoice
    assert "to 2026-10." in by_usage
    assert "Unallocated" in by_usage
    assert 'src="/cost/chart.svg?basis=usage&amp;stack=team&amp;currency=USD"' in by_usage
    assert nonsense.status_code == 200
    assert "basis=invoice&amp;stack=service" in nonsense.content.decode()


def test_without_billing_data_the_pages_say_how_to_load_it(finance_client):
    page = finance_client.get(reverse("cost:overview")).content.decode()
    chart = finance_client.get(reverse("cost:chart"))
    assert "No billing data yet" in page
    assert "import_billing" in page
    assert chart.status_code == 200
    assert "No cost in this period." in chart.content.decode()


def test_import_detail_shows_files_with_sha256_months_rows_facts_and_duration(
    export, finance_client
):
    path, rows = export
    first = import_files(paths=[path], source_name="billing-files")
    again = import_files(paths=[path], source_name="billing-files")

    page = finance_client.get(reverse("cost:import-detail", args=[first.pk])).content.decode()
    repeat = finance_client.get(again.get_absolute_url()).content.decode()

    assert hashlib.sha256(path.read_bytes()).hexdigest() in page
    assert path.name in page
    assert "2026-09" in page
    assert "2026-10" in page
    assert f"{len(rows):,}" in page  # rows read
    assert f"{first.facts_written:,}" in page
    assert re.search(r"\d+\.\d s", page)
    assert ">new<" in page
    assert ">unchanged<" in repeat
    assert ">new<" not in repeat


def test_a_failed_import_shows_its_error(tmp_path, finance_client):
    BillingSourceFactory(name="billing-files")  # a new source keeps no failed run
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"cost": 1}\n')
    with pytest.raises(ImportFailed):
        import_files(paths=[bad], source_name="billing-files")
    run = ImportRun.objects.get()

    page = finance_client.get(run.get_absolute_url()).content.decode()
    listing = finance_client.get(reverse("cost:import-list")).content.decode()

    assert "Failed" in page
    assert "bad.jsonl, line 1" in page
    assert run.get_absolute_url() in listing


def test_import_history_lists_runs_newest_first(finance_client):
    older = ImportRunFactory(started_by_name="cli:alice")
    newer = ImportRunFactory(started_by_name="cli:bob")
    page = finance_client.get(reverse("cost:import-list")).content.decode()
    assert page.index(newer.get_absolute_url()) < page.index(older.get_absolute_url())
    assert "cli:alice" in page


def test_rule_list_shows_conditions_team_item_allocated_cost_and_unallocated(manager_client):
    item = RoadmapItemFactory(title="Retire the legacy sales pipeline")
    team = TeamFactory(name="Analytics Engineering")
    AllocationRule.objects.create(
        name="Legacy", team=team, roadmap_item=item, match_project="acme-legacy-sales",
        match_label_key="env",
    )  # fmt: skip
    manager_client.post(reverse("cost:rule-create"), {"name": "Sandbox", "team": team.pk,
                                                       "match_sku": "Analysis"})  # fmt: skip
    CostFactFactory(
        project_id="acme-legacy-sales", label_set=label_set(env="prod"), cost=Decimal("41.20")
    )
    CostFactFactory(project_id="other", sku_id="S", sku_description="Storage", cost=Decimal("3"))
    reallocate_all()

    page = manager_client.get(reverse("cost:rule-list")).content.decode()

    assert "project = acme-legacy-sales" in page
    assert "label env = *" in page
    assert "SKU = Analysis" in page
    assert "Retire the legacy sales pipeline" in page
    assert "41.20 USD" in page
    assert page.index(">Legacy</a>") < page.index(">Sandbox</a>")
    unallocated = page[page.index('class="unallocated"') :]
    assert "3.00 USD" in unallocated


def test_a_label_value_without_a_key_is_refused_next_to_the_field(manager_client):
    team = TeamFactory()
    response = manager_client.post(
        reverse("cost:rule-create"), {"name": "Broken", "team": team.pk, "match_label_value": "ae"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    error = re.search(r'id="id_match_label_value_error">([^<]*)<', page)
    assert error is not None
    assert "needs its label key" in error.group(1)
    assert AllocationRule.objects.count() == 0


def test_a_rule_needs_a_name_and_a_team(manager_client):
    response = manager_client.post(reverse("cost:rule-create"), {"match_project": "p"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_name_error"' in page
    assert 'id="id_team_error"' in page
    assert AllocationRule.objects.count() == 0


def test_moving_a_rule_refuses_get(manager_client):
    rule = AllocationRule.objects.create(name="Only", team=TeamFactory(), position=4)
    response = manager_client.get(reverse("cost:rule-move", args=[rule.pk]), {"direction": "up"})
    assert response.status_code == 405
    rule.refresh_from_db()
    assert rule.position == 4


def test_deleting_a_rule_asks_first_and_deletes_only_on_post(manager_client):
    rule = AllocationRule.objects.create(name="Doomed", team=TeamFactory())
    url = reverse("cost:rule-delete", args=[rule.pk])

    confirm = manager_client.get(url)

    assert confirm.status_code == 200
    assert "Delete rule “Doomed”?" in confirm.content.decode()
    assert '<form method="post"' in confirm.content.decode()
    assert AllocationRule.objects.filter(pk=rule.pk).exists()
    response = manager_client.post(url)
    assert response.status_code == 302
    assert not AllocationRule.objects.filter(pk=rule.pk).exists()


def test_new_rule_form_can_start_from_a_roadmap_item(manager_client):
    item = RoadmapItemFactory()
    page = manager_client.get(
        reverse("cost:rule-create"), {"roadmap_item": item.pk, "team": item.team_id}
    ).content.decode()
    assert f'<option value="{item.pk}" selected>' in page
    assert f'<option value="{item.team_id}" selected>' in page


def _item_with_cost(facts: int) -> tuple:
    item = RoadmapItemFactory(bq_monthly_cost_change=Decimal("-320.00"), currency="USD")
    rule = AllocationRule.objects.create(name="Legacy sales", team=item.team, roadmap_item=item)
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    for month_start, amount in ((last_month, Decimal("100.10")), (this_month, Decimal("60.05"))):
        month = BillingMonthFactory(invoice_month=month_key(month_start))
        for day in range(facts):
            CostFactFactory(month=month, usage_date=month_start + datetime.timedelta(days=day % 28),
                            cost=amount / facts, allocation_rule=rule)  # fmt: skip
    return item, last_month, this_month


def test_item_page_shows_actual_cost_per_month_next_to_the_declared_change(manager_client):
    item, last_month, this_month = _item_with_cost(facts=1)

    page = manager_client.get(item.get_absolute_url()).content.decode()

    section = page[page.index('id="bigquery-cost"') :]
    assert "-320.00 USD" in section
    assert "Legacy sales" in section
    assert f"{last_month:%Y-%m}" in section
    assert f"{this_month:%Y-%m}" in section
    assert "100.10 USD" in section
    assert "60.05 USD" in section
    assert "-40.05 USD" in section  # the change from last month
    eleven_months_ago = shift_month(month_key(this_month), -11)
    assert f"{eleven_months_ago[:4]}-{eleven_months_ago[4:]}" in section


def test_item_page_without_rules_says_no_cost_can_be_shown(manager_client):
    item = RoadmapItemFactory()
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "No allocation rule points at this item yet" in page
    assert f"{reverse('cost:rule-create')}?roadmap_item={item.pk}" in page


def test_item_page_query_count_does_not_grow_with_facts(manager_client):
    def count(item) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(item.get_absolute_url()).status_code == 200
        return len(queries)

    few, _last, _this = _item_with_cost(facts=2)
    many, _last, _this = _item_with_cost(facts=40)
    assert count(many) == count(few)


def test_navigation_shows_cost_to_managers_and_finance_and_rules_to_managers(client_for):
    overview, rules = reverse("cost:overview"), reverse("cost:rule-list")
    pages = {
        role: client_for(UserFactory(username=f"nav-{role}", role=role)).get("/").content.decode()
        for role in ("Manager", "Finance", "Reviewer")
    }
    assert f'href="{overview}"' in pages["Manager"]
    assert f'href="{rules}"' in pages["Manager"]
    assert f'href="{overview}"' in pages["Finance"]
    assert f'href="{rules}"' not in pages["Finance"]
    assert "will appear here" not in pages["Finance"]
    assert f'href="{overview}"' not in pages["Reviewer"]


def test_cost_pages_load_no_inline_script(export, manager_client):
    path, _rows = export
    import_files(paths=[path], source_name="billing-files")
    run = ImportRun.objects.get()
    for url in [reverse("cost:overview"), reverse("cost:rule-list"), run.get_absolute_url(),
                reverse("cost:rule-create")]:  # fmt: skip
        page = manager_client.get(url).content.decode()
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts, url
        assert all("src=" in tag for tag in scripts), url

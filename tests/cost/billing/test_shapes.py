"""Every billing export Google writes: standard, detailed (with resources) and FOCUS.

The three shapes are built from the same real rows (the repository's copy of the koku
standard sample), each the way Google derives it: the detailed export is the standard
columns plus `resource` and `price`; the FOCUS rows follow Google's mapping (BilledCost =
cost + credits, BillingPeriodStart = the invoice month's first midnight on Pacific time,
x_Credits, x_Project, x_Labels...). The same usage must give the same totals whichever
shape it comes in.
"""

import csv
import datetime
import io
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from cost.billing.breakdowns import Query, compute_breakdown
from cost.billing.facts import DailyFact, fold_resources
from cost.billing.runs import ImportFailed, import_files
from cost.models import BillingSource, CostFact, CostMonthRollup, ImportRun, to_decimal
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "real-samples"
SAMPLE_JSONL = SAMPLE / "gcp-billing-standard-koku-202011.jsonl"
PACIFIC = ZoneInfo("America/Los_Angeles")
PROJECT = "billing-example-00000"


# --- The three shapes of the same rows ---------------------------------------------------


# The sample's account was on a free trial: its BigQuery and Logging rows cost 0. These
# list-price costs (10 GiB of analysis at 5 USD a TiB; a Logging volume) give the
# resources of the detailed and FOCUS shapes some money to carry.
ANALYSIS_COST = "0.048828125"
LOG_VOLUME_COST = "0.0025"


def standard_rows() -> list[dict]:
    """The real rows, amounts kept as the text they were written as, with the costs
    above, a resource label on the Security Command Center rows and a project label on
    every row (the sample has none; the mapping of labels must be seen)."""
    rows = []
    for line in SAMPLE_JSONL.read_text().splitlines():
        row = json.loads(line, parse_float=str)
        if row["service"]["description"] == "Security Command Center":
            row["labels"] = [{"key": "team", "value": "security"}]
        if row["sku"]["description"] == "Analysis":
            row["cost"] = ANALYSIS_COST
        if row["sku"]["description"] == "Log Volume":
            row["cost"] = LOG_VOLUME_COST
        row["project"]["labels"] = [{"key": "cost-center", "value": "cc-42"}]
        rows.append(row)
    return rows


# By hand: Security Command Center's 0.000032 (cancelled by its PROMOTION credits), four
# Analysis rows (4 x 0.048828125 = 0.1953125) and ten Log Volume rows (10 x 0.0025).
TOTAL_COST = Decimal("0.000032") + Decimal("0.1953125") + Decimal("0.025")
TOTAL_CREDITS = Decimal("-0.000032")


def resource_of(row: dict) -> dict:
    """What the detailed export names for the row: BigQuery jobs, a Logging bucket, a
    storage dataset; Security Command Center rows name no resource."""
    service, sku = row["service"]["description"], row["sku"]["description"]
    if service == "BigQuery" and sku == "Analysis":
        name = "analysis-" + row["usage_start_time"][11:13]
        path = f"bigquery.googleapis.com/projects/{PROJECT}/jobs/{name}"
    elif service == "BigQuery":
        name, path = "billing", f"bigquery.googleapis.com/projects/{PROJECT}/datasets/billing"
    elif service == "Stackdriver Logging":
        name = "_Default"
        path = f"logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/_Default"
    else:
        return {"name": None, "global_name": None}
    return {"name": name, "global_name": f"//{path}"}


def detailed_rows() -> list[dict]:
    rows = []
    for row in standard_rows():
        row["resource"] = resource_of(row)
        row["price"] = {
            "effective_price": "0",
            "tier_start_amount": "0",
            "unit": row["usage"]["pricing_unit"],
            "pricing_unit_quantity": "1",
        }
        rows.append(row)
    return rows


def pacific_month_start(month: str) -> str:
    start = datetime.datetime(int(month[:4]), int(month[4:]), 1, tzinfo=PACIFIC)
    return f"{start.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


def numeric(text: str | None) -> str | None:
    """A FLOAT64 of the detailed export as the FOCUS export's NUMERIC holds it: nine
    decimal places, rounded half away from zero."""
    if text is None:
        return None
    return format(Decimal(text).quantize(Decimal("1e-9"), rounding=ROUND_HALF_UP), "f")


def focus_rows(detailed: list[dict] | None = None) -> list[dict]:
    """The detailed rows (by default detailed_rows()) as Google's FOCUS export writes them."""
    rows = []
    for row in detailed_rows() if detailed is None else detailed:
        credits = row["credits"]
        billed = Decimal(row["cost"]) + sum((Decimal(c["amount"]) for c in credits), Decimal(0))
        month = row["invoice"]["month"]
        rows.append({
            "AvailabilityZone": row["location"].get("zone"),
            "BilledCost": format(billed, "f"),
            "BillingAccountId": row["billing_account_id"],
            "BillingCurrency": row["currency"],
            "BillingPeriodStart": pacific_month_start(month),
            "BillingPeriodEnd": pacific_month_start("202012"),
            "ChargeCategory": "Usage",
            "ChargeClass": None,
            "ChargeDescription": row["sku"]["description"],
            "ChargePeriodStart": row["usage_start_time"],
            "ChargePeriodEnd": row["usage_end_time"],
            "ConsumedQuantity": numeric(row["usage"]["amount"]),
            "ConsumedUnit": row["usage"]["unit"],
            "EffectiveCost": format(billed, "f"),
            "ListCost": row.get("cost_at_list"),
            "PricingQuantity": numeric(row["usage"]["amount_in_pricing_units"]),
            "PricingUnit": row["usage"]["pricing_unit"],
            "ProviderName": "Google Cloud",
            "RegionId": row["location"].get("region"),
            "ResourceId": row["resource"]["global_name"],
            "ResourceName": row["resource"]["name"],
            "ServiceName": row["service"]["description"],
            "SkuId": row["sku"]["id"],
            "SubAccountId": row["billing_account_id"],
            "x_Credits": [{"Name": c.get("name"), "Amount": c["amount"], "FullName": None,
                           "Id": c.get("id"), "Type": c["type"]} for c in credits],
            "x_CostType": row["cost_type"],
            "x_CurrencyConversionRate": row["currency_conversion_rate"],
            "x_ExportTime": row["export_time"],
            "x_Location": row["location"]["location"],
            "x_Project": {"Id": row["project"]["id"], "Number": row["project"].get("number"),
                          "Name": row["project"]["name"],
                          "AncestryNumbers": row["project"]["ancestry_numbers"]},
            "x_ServiceId": row["service"]["id"],
            "x_Labels": [{"Key": p["key"], "Value": p["value"]} for p in row["labels"]],
            "x_ProjectLabels": [{"Key": p["key"], "Value": p["value"]}
                                for p in row["project"]["labels"]],
            "x_SystemLabels": [],
        })  # fmt: skip
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def totals(source: str) -> tuple[Decimal, Decimal, int]:
    sums = (
        CostFact.objects.current()
        .filter(month__source__name=source)
        .aggregate(cost=Sum("cost_nanos"), credits=Sum("credits_nanos"), rows=Sum("row_count"))
    )
    return to_decimal(sums["cost"]), to_decimal(sums["credits"]), sums["rows"]


def by_day_and_sku(source: str) -> dict:
    result = {}
    rows = (CostFact.objects.current().filter(month__source__name=source)
            .values("usage_date", "sku_id", "project_id", "label_set__labels")
            .annotate(cost=Sum("cost_nanos"), credits=Sum("credits_nanos")))  # fmt: skip
    for row in rows:
        key = (row["usage_date"], row["sku_id"], row["project_id"],
               json.dumps(row["label_set__labels"], sort_keys=True))  # fmt: skip
        result[key] = (row["cost"], row["credits"])
    return result


def hand_totals(rows: list[dict]) -> tuple[Decimal, Decimal]:
    cost = sum((Decimal(row["cost"]) for row in rows), Decimal(0))
    credits = sum((Decimal(c["amount"]) for row in rows for c in row["credits"]), Decimal(0))
    return cost, credits


# --- One test per shape, and the three agree ---------------------------------------------


def test_the_standard_export_has_no_resource_and_sums_to_the_rows(tmp_path: Path) -> None:
    run = import_files(paths=[write_jsonl(tmp_path / "standard.jsonl", standard_rows())],
                       source_name="standard")  # fmt: skip
    assert run.files[0]["shape"] == "standard"
    assert Decimal("0.2203445") == TOTAL_COST
    assert totals("standard") == (TOTAL_COST, TOTAL_CREDITS, 25)
    assert hand_totals(standard_rows()) == (TOTAL_COST, TOTAL_CREDITS)
    assert set(CostFact.objects.values_list("resource", flat=True)) == {""}


def test_a_detailed_export_keeps_each_resource_and_sums_to_the_rows(tmp_path: Path) -> None:
    rows = detailed_rows()
    run = import_files(paths=[write_jsonl(tmp_path / "detailed.jsonl", rows)],
                       source_name="detailed")  # fmt: skip
    assert run.files[0]["shape"] == "detailed"
    assert totals("detailed") == (TOTAL_COST, TOTAL_CREDITS, 25)
    by_resource: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_resource[row["resource"]["global_name"] or ""] += Decimal(row["cost"])
    stored = {resource: to_decimal(cost) for resource, cost in
              CostFact.objects.values_list("resource").annotate(c=Sum("cost_nanos"))}  # fmt: skip
    assert stored == dict(by_resource)
    assert stored[""] == Decimal("0.000032")  # Security Command Center names no resource
    logging = f"//logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/_Default"
    assert stored[logging] == Decimal("0.025")
    # The monthly rollups keep the resource too, with the same sums.
    rollup_sums = CostMonthRollup.objects.values_list("resource").annotate(c=Sum("cost_nanos"))
    rollups = {resource: to_decimal(cost) for resource, cost in rollup_sums}
    assert rollups == stored


def test_a_focus_export_maps_onto_the_same_facts(tmp_path: Path) -> None:
    rows = focus_rows()
    run = import_files(paths=[write_jsonl(tmp_path / "focus.jsonl", rows)], source_name="focus")
    assert run.files[0]["shape"] == "focus"
    # Gross cost by hand: BilledCost minus the credits, which FOCUS gives as x_Credits.
    billed = sum((Decimal(row["BilledCost"]) for row in rows), Decimal(0))
    credits = sum((Decimal(c["Amount"]) for row in rows for c in row["x_Credits"]), Decimal(0))
    assert (billed, credits) == (TOTAL_COST + TOTAL_CREDITS, TOTAL_CREDITS)
    assert totals("focus") == (billed - credits, credits, 25) == (TOTAL_COST, TOTAL_CREDITS, 25)
    fact = CostFact.objects.filter(service_description="Security Command Center").first()
    assert fact is not None
    assert (fact.invoice_month, fact.currency, fact.project_id, fact.project_name) == (
        "202011", "USD", PROJECT, "cloud-billing")  # fmt: skip
    assert fact.label_set.labels == {"team": "security"}
    assert fact.label_set.project_labels == {"cost-center": "cc-42"}
    assert fact.cost_type == "regular"
    assert fact.is_correction is False
    assert fact.credit_lines.get().credit_type == "PROMOTION"


def test_the_three_shapes_of_the_same_usage_give_the_same_totals(tmp_path: Path) -> None:
    for shape, rows in (("standard", standard_rows()), ("detailed", detailed_rows()),
                        ("focus", focus_rows())):  # fmt: skip
        import_files(paths=[write_jsonl(tmp_path / f"{shape}.jsonl", rows)], source_name=shape)
    assert totals("standard") == totals("detailed") == totals("focus")
    assert by_day_and_sku("standard") == by_day_and_sku("detailed") == by_day_and_sku("focus")
    expected: dict = defaultdict(lambda: [0, 0])
    for row in standard_rows():
        start = datetime.datetime.strptime(row["usage_start_time"], "%Y-%m-%d %H:%M:%S UTC")
        day = start.replace(tzinfo=datetime.UTC).astimezone(PACIFIC).date()
        labels = json.dumps({p["key"]: p["value"] for p in row["labels"]}, sort_keys=True)
        total = expected[(day, row["sku"]["id"], PROJECT, labels)]
        total[0] += int(Decimal(row["cost"]) * 10**9)
        total[1] += sum(int(Decimal(c["amount"]) * 10**9) for c in row["credits"])
    assert by_day_and_sku("standard") == {key: tuple(value) for key, value in expected.items()}


def test_each_shape_reads_from_csv_and_parquet_as_from_json(tmp_path: Path) -> None:
    """The flattened CSV of a detailed export (resource.name columns) and a FOCUS export
    written as Parquet give the JSON files' facts."""
    rows = detailed_rows()
    columns = ["billing_account_id", "service.id", "service.description", "sku.id",
               "sku.description", "usage_start_time", "usage_end_time", "project.id",
               "project.name", "project.ancestry_numbers", "project.labels", "labels",
               "location.location", "export_time", "cost", "currency",
               "currency_conversion_rate", "usage.amount", "usage.unit",
               "usage.amount_in_pricing_units", "usage.pricing_unit", "credits",
               "invoice.month", "cost_type", "resource.name", "resource.global_name"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        cells = []
        for column in columns:
            value: object = row
            for part in column.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            cells.append(json.dumps(value) if isinstance(value, list) else value or "")
        writer.writerow(cells)
    (tmp_path / "detailed.csv").write_text(out.getvalue())
    import_files(paths=[tmp_path / "detailed.csv"], source_name="detailed-csv")
    import_files(paths=[write_jsonl(tmp_path / "d.jsonl", rows)], source_name="detailed")
    assert by_day_and_sku("detailed-csv") == by_day_and_sku("detailed")
    assert set(CostFact.objects.filter(month__source__name="detailed-csv")
               .values_list("resource", flat=True)) == set(
        CostFact.objects.filter(month__source__name="detailed").values_list("resource", flat=True)
    )  # fmt: skip

    focus_json = write_jsonl(tmp_path / "focus.jsonl", focus_rows())
    parquet = tmp_path / "focus.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json('{focus_json}')) TO '{parquet}' (FORMAT parquet)")
    run = import_files(paths=[parquet], source_name="focus-parquet")
    assert run.files[0]["shape"] == "focus"
    assert totals("focus-parquet") == (TOTAL_COST, TOTAL_CREDITS, 25)


# --- The wrong shape, said clearly, nothing written --------------------------------------


def test_a_standard_file_imported_as_focus_names_file_line_and_missing_column(
    tmp_path: Path,
) -> None:
    path = write_jsonl(tmp_path / "standard.jsonl", standard_rows())
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="finance", shape="focus")
    problem = failed.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), 1, "BilledCost")
    assert "looks like the standard usage cost export (--shape standard)" in problem.message
    assert not BillingSource.objects.exists()
    assert not CostFact.objects.exists()


def test_a_standard_file_imported_as_detailed_names_the_missing_resource(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "standard.jsonl", standard_rows())
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_billing", str(path), "--shape", "detailed", stdout=out)
    assert f"{path}, line 1, field resource: missing: a detailed export row has" in str(
        failed.value
    )
    assert not CostFact.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_focus_file_imported_as_standard_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "focus.jsonl", focus_rows())
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="finance", shape="standard")
    problem = failed.value.problems[0]
    assert (problem.line, problem.field) == (1, "cost")
    assert "looks like the FOCUS export (--shape focus)" in problem.message


def test_files_of_two_shapes_in_one_import_are_refused(tmp_path: Path) -> None:
    standard = write_jsonl(tmp_path / "standard.jsonl", standard_rows())
    focus = write_jsonl(tmp_path / "focus.jsonl", focus_rows())
    BillingSource.objects.create(name="finance")
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[standard, focus], source_name="finance")
    problem = failed.value.problems[0]
    assert (problem.file, problem.line) == (str(focus), 1)
    assert "looks like the FOCUS export, while" in problem.message
    assert not CostFact.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def test_a_bad_focus_row_is_named_by_line_and_focus_column(tmp_path: Path) -> None:
    rows = focus_rows()
    rows[2]["BilledCost"] = "twelve"
    del rows[4]["BillingCurrency"]
    rows[11]["x_Credits"][0]["Amount"] = None
    rows[7]["ChargePeriodStart"] = "yesterday"
    path = write_jsonl(tmp_path / "focus.jsonl", rows)
    with pytest.raises(ImportFailed) as failed:
        import_files(paths=[path], source_name="finance")
    found = {(p.line, p.field, p.message) for p in failed.value.problems}
    assert found == {
        (3, "BilledCost", "'twelve' is not a number"),
        (5, "BillingCurrency", "missing"),
        (12, "x_Credits[0].Amount", "None is not a number"),
        (8, "ChargePeriodStart", "'yesterday' is not a time"),
    }
    assert not CostFact.objects.exists()


def test_import_billing_says_which_shape_it_read(tmp_path: Path) -> None:
    out = io.StringIO()
    path = write_jsonl(tmp_path / "focus.jsonl", focus_rows())
    call_command("import_billing", str(path), "--source", "finops", stdout=out)
    assert "read as the FOCUS export." in out.getvalue()


# --- The resource grain stays bounded ------------------------------------------------------


def resource_rows(costs: dict[str, str], day: str = "2020-11-09") -> list[dict]:
    """Hourly rows of one day and SKU (BigQuery Analysis, from the sample), one per
    resource and cost given."""
    template = next(r for r in detailed_rows() if r["sku"]["description"] == "Analysis")
    rows = []
    for hour, (name, cost) in enumerate(costs.items()):
        row = json.loads(json.dumps(template))
        # From noon UTC: the same day on Pacific time, where usage days are cut.
        row["usage_start_time"] = f"{day} {12 + hour:02}:00:00 UTC"
        row["usage_end_time"] = f"{day} {13 + hour:02}:00:00 UTC"
        row["cost"], row["credits"] = cost, []
        row["resource"] = {"name": name, "global_name": f"//bigquery.googleapis.com/{name}"}
        rows.append(row)
    return rows


def test_resources_beyond_the_top_n_of_a_day_and_sku_fold_into_other(
    tmp_path: Path, settings: Settings
) -> None:
    settings.QUARTERDECK_RESOURCES_PER_SKU = 2
    costs = {"jobs/a": "1.50", "jobs/b": "4.25", "jobs/c": "0.75", "jobs/d": "4.25",
             "jobs/e": "2.00"}  # fmt: skip
    rows = resource_rows(costs) + resource_rows({"jobs/c": "9.00"}, day="2020-11-10")
    import_files(paths=[write_jsonl(tmp_path / "detailed.jsonl", rows)], source_name="detailed")
    stored = {(str(date), resource): to_decimal(cost) for date, resource, cost in
              CostFact.objects.values_list("usage_date", "resource")
              .annotate(c=Sum("cost_nanos"))}  # fmt: skip
    # By hand: on the 9th b and d (4.25 each) are the top two; a + c + e = 4.25 is (other).
    # On the 10th c is alone, and kept.
    assert stored == {
        ("2020-11-09", "//bigquery.googleapis.com/jobs/b"): Decimal("4.25"),
        ("2020-11-09", "//bigquery.googleapis.com/jobs/d"): Decimal("4.25"),
        ("2020-11-09", "(other)"): Decimal("4.25"),
        ("2020-11-10", "//bigquery.googleapis.com/jobs/c"): Decimal("9"),
    }
    assert CostFact.objects.get(resource="(other)").row_count == 3


def fact(resource: str, cost: str, sku: str = "sku-1") -> DailyFact:
    return DailyFact(
        invoice_month="202011", usage_date=datetime.date(2020, 11, 9),
        billing_account_id="000000-B0BBA4-940A77", project_id=PROJECT, project_name="",
        project_number="", project_ancestry="", service_id="24E6-581D-38E5",
        service_description="BigQuery", sku_id=sku, sku_description="", location="US",
        region="", cost_type="regular", currency="USD", conversion_rate=Decimal(1),
        labels=(), project_labels=(), is_correction=False, usage_unit="", pricing_unit="",
        cost=Decimal(cost), cost_at_list=None, usage_amount=None,
        usage_in_pricing_units=None, row_count=1, last_export_time=None, resource=resource,
    )  # fmt: skip


def test_folding_breaks_ties_by_name_keeps_skus_apart_and_twice_changes_nothing() -> None:
    facts = [fact("b", "2"), fact("a", "2"), fact("c", "2"), fact("", "7"),
             fact("z", "1", sku="sku-2")]  # fmt: skip
    folded = fold_resources(facts, keep=2)
    shown = sorted((f.sku_id, f.resource, f.cost, f.row_count) for f in folded)
    assert shown == [
        ("sku-1", "", Decimal(7), 1),  # no resource: never folded
        ("sku-1", "(other)", Decimal(2), 1),
        ("sku-1", "a", Decimal(2), 1),
        ("sku-1", "b", Decimal(2), 1),
        ("sku-2", "z", Decimal(1), 1),
    ]
    again = sorted((f.sku_id, f.resource, f.cost) for f in fold_resources(folded, keep=2))
    assert again == [row[:3] for row in shown]


# --- Reports by resource -------------------------------------------------------------------


def test_a_report_by_resource(tmp_path: Path) -> None:
    import_files(paths=[write_jsonl(tmp_path / "d.jsonl", detailed_rows())], source_name="d")
    breakdown = compute_breakdown(Query(group_by=("resource",)))
    expected: dict = defaultdict(Decimal)
    for row in detailed_rows():
        expected[row["resource"]["global_name"]] += Decimal(row["cost"])
    assert expected[None] == Decimal("0.000032")  # no resource: null in the report
    assert {row.keys["resource"]: row.cost for row in breakdown.rows} == dict(expected)
    assert breakdown.totals[0].cost == TOTAL_COST


def test_the_report_api_groups_by_resource(tmp_path: Path) -> None:
    import_files(paths=[write_jsonl(tmp_path / "d.jsonl", detailed_rows())], source_name="d")
    user = UserFactory(username="finance-shapes", role=Role.FINANCE)
    _token, key = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(reverse("cost-report"), {"group_by": "resource,invoice_month"})
    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    logging = f"//logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/_Default"
    expected = sum((Decimal(r["cost"]) for r in detailed_rows()
                    if r["resource"]["global_name"] == logging), Decimal(0))  # fmt: skip
    assert expected == Decimal("0.025")
    assert [Decimal(row["cost"]) for row in rows if row["resource"] == logging] == [expected]
    assert any(row["resource"] is None for row in rows)  # Security Command Center

"""The finance cost API: figures, parameters, formats, paging and who may call it."""

import base64
import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from cost.billing.runs import import_files
from cost.models import CostFact
from demo.billing_export import generate_rows, write_export
from tests.cost.billing.test_files import read_rows
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def export(tmp_path) -> list[dict]:
    path = tmp_path / "export.jsonl.gz"
    write_export(path, generate_rows(first_month=datetime.date(2026, 1, 1), months=2,
                                     hours_per_day=1))  # fmt: skip
    import_files(paths=[path], source_name="export")
    return read_rows(path)


def client_for(role: str | None, username: str | None = None) -> APIClient:
    user = UserFactory(username=username or f"api-{role or 'none'}", role=role)
    _token, key = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def finance() -> APIClient:
    return client_for(Role.FINANCE)


def report(client: APIClient, **params) -> dict:
    response = client.get(reverse("cost-report"), params)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_report_by_invoice_month_and_service_matches_the_export(finance, export):
    body = report(finance, group_by="invoice_month,service")
    expected: dict = {}
    for row in export:
        key = (f"{row['invoice']['month'][:4]}-{row['invoice']['month'][4:]}",
               row["service"]["description"])  # fmt: skip
        total = expected.setdefault(key, [Decimal(0), Decimal(0)])
        total[0] += Decimal(str(row["cost"]))
        total[1] += sum((Decimal(str(c["amount"])) for c in row["credits"]), Decimal(0))
    got = {(r["invoice_month"], r["service"]): [Decimal(r["cost"]), Decimal(r["credits"])]
           for r in body["rows"]}  # fmt: skip
    assert got == expected
    first = body["rows"][0]
    assert isinstance(first["cost"], str)
    assert Decimal(first["net_cost"]) == Decimal(first["cost"]) + Decimal(first["credits"])
    assert body["totals"][0]["currency"] == "USD"
    assert body["data_as_of"] is not None
    # The last row starts at midnight UTC on 28 February: the 27th in California.
    assert body["complete_through"] == "2026-02-27"


def test_amounts_are_fixed_point_decimal_strings(finance, export):
    body = report(finance, group_by="sku")
    for row in body["rows"]:
        for name in ("cost", "credits", "net_cost"):
            assert "E" not in row[name]
            assert "e" not in row[name]
            Decimal(row[name])


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"group_by": "colour"}, "group_by", "'colour' is not a grouping"),
        ({"group_by": "label:"}, "group_by", "needs a key"),
        ({"group_by": "sku,sku"}, "group_by", "named twice"),
        ({"basis": "shipping"}, "basis", "is not a valid choice"),
        ({"from": "2026-13"}, "from", "YYYY-MM"),
        ({"from": "2026-01-05"}, "from", "Days need basis=usage"),
        ({"from": "2026-03", "to": "2026-01"}, "to", "before"),
        ({"invoice_month": "2026-01", "from": "2026-01"}, "invoice_month", "not both"),
        ({"currency": "EUR"}, "currency", "is not a valid choice"),
        ({"as_of": "last week"}, "as_of", "2026-11-20T09:00:00Z"),
        ({"label": "team"}, "label", "does not match"),
        ({"groupby": "sku"}, "groupby", "Unknown parameter"),
    ],
)  # fmt: skip
def test_each_bad_parameter_gets_a_400_naming_it(finance, params, field, message):
    response = finance.get(reverse("cost-report"), params)
    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert message in json.dumps(body[field])


@pytest.mark.parametrize("name", ["cost-report", "cost-fact-list"])
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"basis": "usage", "from": "2026-02-30"}, "from", "2026-02-30 is not a day."),
        ({"basis": "usage", "to": "2026-02-30"}, "to", "2026-02-30 is not a day."),
        ({"basis": "usage", "from": "0000-01-01"}, "from", "0000-01-01 is not a day."),
        ({"basis": "usage", "from": "1999-12-31"}, "from", "years 2000 to 2099"),
        ({"invoice_month": "0000-01"}, "invoice_month", "years 2000 to 2099"),
        ({"invoice_month": "210001"}, "invoice_month", "years 2000 to 2099"),
        ({"from": "0000-01"}, "from", "years 2000 to 2099"),
        ({"to": "9999-12"}, "to", "years 2000 to 2099"),
        ({"as_of": "2026-02-30T09:00:00Z"}, "as_of", "2026-02-30T09:00:00Z is not a moment."),
        ({"as_of": "2026-01-01T25:00:00Z"}, "as_of", "2026-01-01T25:00:00Z is not a moment."),
        ({"as_of": "2026-02-30"}, "as_of", "2026-02-30 is not a day."),
    ],
)  # fmt: skip
def test_a_date_that_does_not_exist_is_a_400_naming_it(finance, name, params, field, message):
    response = finance.get(reverse(name), params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert message in json.dumps(response.json()[field])


def test_a_report_as_csv_opens_in_a_spreadsheet(finance, export):
    params = {"group_by": "usage_month,team", "format": "csv", "currency": "usd"}
    response = finance.get(reverse("cost-report"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == ["usage_month", "team", "team_name", "cost", "credits",
                             "net_cost", "currency"]  # fmt: skip
    json_rows = report(finance, group_by="usage_month,team", currency="USD")["rows"]
    assert [r["net_cost"] for r in rows] == [r["net_cost"] for r in json_rows]
    assert {r["team"] for r in rows} == {"unallocated"}  # no rules yet


def test_facts_page_with_a_cursor_until_the_end(finance, export):
    seen, url, params = [], reverse("cost-fact-list"), {"page_size": 500,
                                                         "invoice_month": "2026-01"}  # fmt: skip
    while url:
        response = finance.get(url, params)
        assert response.status_code == 200
        body = response.json()
        seen += [fact["id"] for fact in body["results"]]
        url, params = body["next"], None
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == CostFact.objects.filter(invoice_month="202601").count()


def test_facts_as_csv_are_streamed_whole(finance, export):
    response = finance.get(reverse("cost-fact-list"), {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == CostFact.objects.count()
    total = sum(Decimal(row["cost"]) for row in rows)
    assert total == sum(Decimal(str(row["cost"])) for row in export)
    assert json.loads(rows[0]["labels"])  # labels travel as JSON text


def test_focus_columns_follow_googles_mapping(finance, export):
    fact = CostFact.objects.filter(cost_type="tax").first()
    body = finance.get(reverse("cost-fact-detail", args=[fact.pk]), {"focus": "1"}).json()
    assert body["ChargeCategory"] == "Tax"
    assert Decimal(body["BilledCost"]) == Decimal(body["EffectiveCost"]) == fact.net_cost.amount
    assert body["SubAccountId"] == fact.project_id
    assert body["BillingPeriodStart"].startswith(
        f"{fact.invoice_month[:4]}-{fact.invoice_month[4:]}-01T00:00:00-0"
    )
    assert body["ChargePeriodStart"].startswith(fact.usage_date.isoformat())
    assert body["Tags"]["team"] == "ae"
    listed = finance.get(reverse("cost-fact-list"), {"focus": "1", "page_size": 5}).json()
    assert set(listed["results"][0]) >= {"BilledCost", "ListCost", "ServiceName", "SkuId",
                                         "RegionId", "BillingCurrency", "x_Credits"}  # fmt: skip


def test_unknown_fact_is_404(finance, export):
    assert finance.get(reverse("cost-fact-detail", args=[10**9])).status_code == 404
    assert finance.get(reverse("cost-fact-detail", args=["abc"])).status_code == 404


@pytest.mark.parametrize("pk", ["²", "\u0661", "9" * 19, "9" * 30, "9" * 5000])
@pytest.mark.parametrize("name", ["cost-fact-detail", "import-run-detail"])
def test_an_id_that_is_not_a_small_number_is_a_404(finance, name, pk):
    response = finance.get(reverse(name, args=[pk]))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_imports_list_runs_and_freshness(finance, export):
    body = finance.get(reverse("import-run-list")).json()
    assert body["results"][0]["source"] == "export"
    assert body["results"][0]["status"] == "succeeded"
    assert body["sources"] == [{"source": "export", "kind": "files",
                                "complete_through": "2026-02-27",
                                "last_success": body["results"][0]["finished_at"],
                                "last_status": "succeeded"}]  # fmt: skip


def test_a_report_reads_few_queries_whatever_the_number_of_facts(finance, export):
    with CaptureQueriesContext(connection) as queries:
        report(finance, group_by="invoice_month,service,team")
    # 3 for the token and roles, 2 for the shared call counter (the count, and the first
    # call of a window clears the ended ones), 4 for the data version (the cache key), 3
    # for the report.
    assert len(queries) <= 12


@pytest.mark.parametrize(
    ("name", "args"),
    [("cost-report", []), ("cost-fact-list", []), ("import-run-list", [])],
)
@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.FINANCE, 200), (Role.MANAGER, 200), (Role.REVIEWER, 403), (None, 403)],
)
def test_finance_and_managers_read_cost_data_and_nobody_else(name, args, role, status):
    client = client_for(role)
    assert client.get(reverse(name, args=args)).status_code == status
    assert APIClient().get(reverse(name, args=args)).status_code == 401


def test_the_browsable_api_works_with_a_session(export):
    user = UserFactory(username="fiona", role=Role.FINANCE)
    client = APIClient()
    client.force_login(user)
    response = client.get(reverse("cost-report"), {"group_by": "service"},
                          HTTP_ACCEPT="text/html")  # fmt: skip
    assert response.status_code == 200
    assert b"BigQuery" in response.content


def test_as_of_a_day_means_the_end_of_that_day():
    import datetime

    from cost.billing.serializers import ReportParameters

    params = ReportParameters(data={"as_of": "2026-11-20"})
    assert params.is_valid(), params.errors
    expected = datetime.datetime(2026, 11, 20, 23, 59, 59, 999999, tzinfo=datetime.UTC)
    assert params.validated_data["as_of"] == expected


def test_cost_endpoints_refuse_a_single_valued_parameter_given_twice_or_empty(finance, export):
    """The same rules as every other endpoint (core.api.parameters): before, cost-reports
    silently took the last `from` of two and read an empty value as none."""
    response = finance.get(reverse("cost-report") + "?from=2020-11-01&from=2020-11-09")
    assert response.status_code == 400
    assert response.json() == {"from": ["Give this parameter once."]}
    response = finance.get(reverse("cost-fact-list") + "?project=&focus=1")
    assert response.status_code == 400
    assert response.json() == {"project": ["Give a value, or leave the parameter out."]}


def test_a_list_parameter_may_be_repeated(finance, export):
    repeated = finance.get(reverse("cost-report") + "?group_by=invoice_month&group_by=service")
    assert repeated.status_code == 200, repeated.content
    assert repeated.json() == report(finance, group_by="invoice_month,service")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "10001"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        # Well-formed cursors that `next` never gives: positions are ids. These were 500s.
        ({"cursor": base64.b64encode(b"p=abc").decode()}, "cursor"),
        ({"cursor": base64.b64encode(b"p=" + b"9" * 30).decode()}, "cursor"),
    ],
)
def test_fact_paging_refuses_what_it_would_otherwise_replace_by_a_default(
    finance, export, params, field
):
    response = finance.get(reverse("cost-fact-list"), params)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert finance.get(reverse("cost-fact-list"), {"page_size": "10000"}).status_code == 200


@pytest.mark.parametrize("name", ["cost-report", "cost-fact-list"])
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        # Years outside 2000 to 2099 are refused as such, whatever the form (issue 17).
        ({"basis": "usage", "to": "0202-07-12"}, "to", "0202-07-12 is outside the years"),
        ({"basis": "usage", "from": "1247-03-01"}, "from", "1247-03-01 is outside the years"),
        ({"as_of": "0202-07-12"}, "as_of", "0202-07-12 is outside the years"),
        ({"as_of": "2100-01-01T00:00:00Z"}, "as_of", "2100-01-01T00:00:00Z is outside"),
        # Only the forms the schema describes: no spaces around, ASCII digits, RFC 3339.
        ({"invoice_month": " 2026-01"}, "invoice_month", "YYYY-MM"),
        ({"from": "2026-01 "}, "from", "YYYY-MM"),
        ({"from": "\uff12\uff10\uff12\uff16-01"}, "from", "YYYY-MM"),
        ({"basis": "usage", "from": "20260105"}, "from", "YYYY-MM"),
        ({"as_of": "0"}, "as_of", "2026-11-20T09:00:00Z"),
        ({"as_of": "2026-11-20 09:00:00Z"}, "as_of", "2026-11-20T09:00:00Z"),
        ({"as_of": "2026-11-20T09:00Z"}, "as_of", "2026-11-20T09:00:00Z"),
        ({"as_of": "2026-11-20T09:00:00+01:60"}, "as_of", "2026-11-20T09:00:00Z"),
        ({"currency": "Usd"}, "currency", "is not a valid choice"),
        ({"label": "team=a\nb"}, "label", "does not match"),
    ],
)  # fmt: skip
def test_a_parameter_the_schema_does_not_describe_is_a_400(finance, name, params, field, message):
    response = finance.get(reverse(name), params)
    assert response.status_code == 400, response.content
    assert message in json.dumps(response.json()[field])


@pytest.mark.parametrize(
    "params",
    [
        {"as_of": "2026-11-20T09:00:00Z"},
        {"as_of": "2026-11-20T09:00:00.123456789-08:00"},
        {"as_of": "2026-11-20T09:00:00"},  # no offset: UTC
        {"as_of": "2026-11-20T09:00:00-23:59"},  # past PostgreSQL's 15 hours: was a 500
        {"invoice_month": "202601"},
        {"basis": "usage", "from": "2026-01-05", "to": "2026-01-31"},
        {"currency": "usd"},
        {"group_by": "label:team,usage_month"},
    ],
)
def test_the_forms_the_schema_describes_are_read(finance, export, params):
    assert finance.get(reverse("cost-report"), params).status_code == 200

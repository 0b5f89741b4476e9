"""The usage API: the job-history reports as JSON, their parameters, and who may call
them. The figures are those worked out by hand in tests/cost/test_usage_reports.py."""

import datetime
import hashlib
import json
from urllib.parse import quote

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from cost.usage.runs import import_job_files, retention_start
from cost.usage.serializers import utc_today
from tests.cost.usage.test_reports import (
    ANA,
    BEN,
    CLEO,
    D1,
    DBT,
    DU,
    Q1,
    Q2,
    ZOE,
    C,
    L,
    O,
    S,
    U,
    _at,
    _job,
    add_billing,
    load_usage_jobs,
    pin_prices,
)
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-11-02", "to": "2026-11-03"}  # D1 and D2
USAGE_ROUTES = [
    "usage-tables",
    "usage-joined-tables",
    "usage-query-cost",
    "usage-expensive-queries",
    "usage-reconciliation",
]


def client_for(role: str | None) -> APIClient:
    user = UserFactory(username=f"usage-{role or 'none'}", role=role)
    _token, key = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def finance() -> APIClient:
    return client_for(Role.FINANCE)


@pytest.fixture
def jobs(tmp_path, settings) -> None:
    pin_prices(settings)
    load_usage_jobs(tmp_path)


def get(client: APIClient, name: str, params: dict | None = None, *args) -> dict:
    response = client.get(reverse(name, args=args), params or {})
    assert response.status_code == 200, response.content
    return response.json()


def test_table_usage_ranks_tables_and_draws_the_curve(finance, jobs):
    body = get(finance, "usage-tables", {**PERIOD, "limit": "2"})
    assert body == {
        "from": "2026-11-02",
        "to": "2026-11-03",
        "dataset": None,
        "total_queries": 11,
        "tables": 5,
        "rows": [
            {"rank": 1, "table": L, "users": 3, "service_accounts": 1, "queries": 5,
             "bytes_billed": 5 * U, "allocated_cost": "7.8125", "currency": "USD"},
            {"rank": 2, "table": C, "users": 2, "service_accounts": 1, "queries": 5,
             "bytes_billed": 12 * U, "allocated_cost": "18.75", "currency": "USD"},
        ],
        "curve": [
            {"tables": 1, "queries": 5, "share": 0.454545},
            {"tables": 2, "queries": 10, "share": 0.909091},
            {"tables": 3, "queries": 10, "share": 0.909091},
            {"tables": 4, "queries": 11, "share": 1.0},
            {"tables": 5, "queries": 11, "share": 1.0},
        ],
    }  # fmt: skip
    marts = get(finance, "usage-tables", {**PERIOD, "dataset": "acme-analytics.marts"})
    assert marts["dataset"] == "acme-analytics.marts"
    assert [row["table"] for row in marts["rows"]] == [C, O, S, DU]
    assert marts["total_queries"] == 6


def test_who_uses_a_table_by_its_name_in_the_path(finance, jobs):
    body = get(finance, "usage-table-users", PERIOD, L)
    assert body == {
        "from": "2026-11-02",
        "to": "2026-11-03",
        "table": L,
        "people": 3,
        "service_accounts": 1,
        "teams": [
            {"team": "ae", "team_name": "Analytics Engineering", "people": 1,
             "service_accounts": 1, "queries": 3, "users": [
                {"user": BEN, "service_account": False, "queries": 2, "days": 2,
                 "last_used": "2026-11-03T23:30:00Z"},
                {"user": DBT, "service_account": True, "queries": 1, "days": 1,
                 "last_used": "2026-11-02T02:00:20Z"},
            ]},
            {"team": "finance", "team_name": "Finance", "people": 1, "service_accounts": 0,
             "queries": 1, "users": [
                {"user": CLEO, "service_account": False, "queries": 1, "days": 1,
                 "last_used": "2026-11-02T12:00:00Z"},
            ]},
            {"team": None, "team_name": "No team", "people": 1, "service_accounts": 0,
             "queries": 1, "users": [
                {"user": ZOE, "service_account": False, "queries": 1, "days": 1,
                 "last_used": "2026-11-03T09:00:00Z"},
            ]},
        ],
    }  # fmt: skip
    # Backticks, as copied from the BigQuery console, are fine.
    assert get(finance, "usage-table-users", PERIOD, f"`{L}`")["table"] == L


def test_a_table_of_a_domain_scoped_project_is_found_by_its_name(finance, tmp_path):
    name = "example.com:acme-sales.marts.fct_orders"  # the project's name has a dot
    row = _job("d1", _at(D1, "09:00:00"), ANA, Q1, [], U)
    row["referenced_tables"] = [
        {"project_id": "example.com:acme-sales", "dataset_id": "marts", "table_id": "fct_orders"}
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps(row) + "\n")
    import_job_files([path], today=D1)
    body = get(finance, "usage-table-users", PERIOD, name)
    assert (body["table"], body["people"], body["teams"][0]["users"][0]["user"]) == (
        name, 1, ANA
    )  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["acme-analytics.marts.nope", "not-a-table-name", "a..b", "a.b.c\x00", "x." * 2000 + "y"],
)
def test_a_table_the_job_history_never_saw_is_not_found(finance, jobs, name):
    response = finance.get(reverse("usage-table-users", args=[name]))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    url = "/api/v1/usage/tables/" + quote(name, safe="") + "/users/"
    assert finance.get(url).status_code == 404


def test_tables_joined_together(finance, jobs):
    pairs = get(finance, "usage-joined-tables", PERIOD)
    assert pairs["size"] == 2
    assert [(row["tables"], row["queries"], row["users"], row["service_accounts"],
             row["allocated_cost"]) for row in pairs["rows"]] == [
        ([C, O], 5, 2, 1, "18.75"),
        ([DU, S], 1, 1, 0, "1.2"),
        ([C, S], 1, 0, 1, "3.125"),
        ([O, S], 1, 0, 1, "3.125"),
    ]  # fmt: skip
    triples = get(finance, "usage-joined-tables", {**PERIOD, "size": "3"})
    assert triples["rows"] == [
        {"tables": [C, O, S], "queries": 1, "users": 0, "service_accounts": 1,
         "allocated_cost": "3.125", "currency": "USD"}
    ]  # fmt: skip


def test_query_cost_by_team_with_its_total(finance, jobs):
    body = get(finance, "usage-query-cost", {**PERIOD, "by": "team"})
    total = {"key": None, "label": "Total", "queries": 14, "cache_hits": 2,
             "bytes_billed": 21 * U, "allocated_cost": "32.45", "currency": "USD"}  # fmt: skip
    assert body == {
        "from": "2026-11-02",
        "to": "2026-11-03",
        "by": "team",
        "jobs_kept_from": None,
        "rows": [
            {"key": "ae", "label": "Analytics Engineering", "queries": 10, "cache_hits": 2,
             "bytes_billed": 14 * U, "allocated_cost": "21.5125", "currency": "USD"},
            {"key": "finance", "label": "Finance", "queries": 2, "cache_hits": 0,
             "bytes_billed": 3 * U, "allocated_cost": "4.6875", "currency": "USD"},
            {"key": None, "label": "No team", "queries": 2, "cache_hits": 0,
             "bytes_billed": 4 * U, "allocated_cost": "6.25", "currency": "USD"},
        ],
        "total": total,
    }  # fmt: skip
    users = get(finance, "usage-query-cost", PERIOD)  # by user, the default
    assert [(row["key"], row["allocated_cost"]) for row in users["rows"]] == [
        (ANA, "10.575"), (DBT, "7.8125"), (ZOE, "6.25"), (CLEO, "4.6875"), (BEN, "3.125")
    ]  # fmt: skip


def test_query_cost_by_label_says_from_when_jobs_are_kept(finance, jobs):
    body = get(finance, "usage-query-cost", {**PERIOD, "by": "label:team"})
    assert [(row["key"], row["queries"], row["allocated_cost"]) for row in body["rows"]] == [
        ("ae", 1, "6.25"), ("finance", 2, "4.6875"), (None, 11, "21.5125")
    ]  # fmt: skip
    assert body["jobs_kept_from"] == retention_start().isoformat()
    tables = get(finance, "usage-query-cost", {**PERIOD, "by": "table"})
    assert [(row["key"], row["allocated_cost"]) for row in tables["rows"]] == [
        (C, "8.854166667"), (O, "8.854166667"), (L, "7.8125"), (S, "1.641666667"),
        (DU, "0.6"), (None, "4.6875"),
    ]  # fmt: skip


def test_the_most_expensive_queries(finance, jobs):
    body = get(finance, "usage-expensive-queries", {**PERIOD, "limit": "2"})
    assert body["jobs_kept_from"] == retention_start().isoformat()
    assert body["rows"] == [
        {"query_hash": hashlib.sha256(Q1.encode()).hexdigest(), "query_text": "",
         "first_seen": "2026-11-02T09:00:00Z", "last_seen": "2026-11-03T10:00:00Z",
         "runs": 4, "users": 2, "bytes_billed": 8 * U, "allocated_cost": "12.5",
         "currency": "USD"},
        {"query_hash": hashlib.sha256(Q2.encode()).hexdigest(), "query_text": "",
         "first_seen": "2026-11-02T11:00:00Z", "last_seen": "2026-11-03T23:30:00Z",
         "runs": 5, "users": 3, "bytes_billed": 4 * U, "allocated_cost": "6.25",
         "currency": "USD"},
    ]  # fmt: skip


def test_reconciliation_with_the_billing_export(finance, jobs):
    add_billing()
    body = get(finance, "usage-reconciliation", {"from": "2026-11-01", "to": "2026-11-03"})
    assert body == {
        "from": "2026-11-01",
        "to": "2026-11-03",
        "currency": "USD",
        "allocated_cost": "34.0125",
        "billed_cost": "29.5",
        "gap_percent": 15.30,
        "unconverted_facts": 1,
        "days": [
            {"day": "2026-11-01", "allocated_cost": "1.5625", "billed_cost": "0",
             "gap_percent": None},
            {"day": "2026-11-02", "allocated_cost": "23.075", "billed_cost": "19.5",
             "gap_percent": 18.33},
            {"day": "2026-11-03", "allocated_cost": "9.375", "billed_cost": "10",
             "gap_percent": -6.25},
        ],
    }  # fmt: skip


# --- Parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", USAGE_ROUTES)
def test_the_period_defaults_to_the_last_28_days(finance, name):
    body = get(finance, name)
    today = utc_today()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - datetime.timedelta(days=27)).isoformat()


@pytest.mark.parametrize("name", USAGE_ROUTES)
@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"from": "2026-02-30"}, {"from": ["Date has wrong format. Use one of these formats "
                                           "instead: YYYY-MM-DD."]}),
        ({"to": "yesterday"}, {"to": ["Date has wrong format. Use one of these formats "
                                      "instead: YYYY-MM-DD."]}),
        ({"from": "2026-11-03", "to": "2026-11-02"}, {"to": ["to comes before from."]}),
        ({"from": "1999-12-31", "to": "2026-11-02"},
         {"from": ["1999-12-31 is outside the years 2000 to 2099."]}),
        ({"colour": "blue", "From": "x"}, {"From": ["Unknown parameter."],
                                           "colour": ["Unknown parameter."]}),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_by_name(finance, name, params, errors):
    response = finance.get(reverse(name), params)
    assert response.status_code == 400
    assert response.json() == errors


@pytest.mark.parametrize("name", USAGE_ROUTES)
def test_a_day_outside_the_years_2000_to_2099_is_refused_as_such(finance, name):
    """Issue 17: to=0202-07-12 is a typo, refused with the range, never read as year 202."""
    response = finance.get(reverse(name), {"to": "0202-07-12"})
    assert response.status_code == 400
    assert response.json() == {"to": ["0202-07-12 is outside the years 2000 to 2099."]}


def test_the_forms_the_schema_describes_are_read(finance):
    for name, params in [
        ("usage-tables", {"dataset": "`acme-analytics.marts`"}),
        ("usage-tables", {"dataset": "example.com:acme-sales.marts"}),
        ("usage-query-cost", {"by": "label:\u00e9quipe"}),
        ("usage-query-cost", {"by": "label:team-2"}),
    ]:
        assert finance.get(reverse(name), params).status_code == 200, (name, params)


def test_a_period_starting_after_today_needs_its_end(finance):
    today = utc_today()
    response = finance.get(reverse("usage-tables"), {"from": "2098-01-01"})
    assert response.status_code == 400
    assert response.json() == {"from": [f"from is after today ({today}); give to as well."]}
    later = {"from": "2098-01-01", "to": "2098-01-31"}
    assert finance.get(reverse("usage-tables"), later).status_code == 200


def test_a_parameter_given_twice_or_empty_is_refused(finance):
    response = finance.get(reverse("usage-tables") + "?from=2026-11-01&from=2026-11-02")
    assert response.status_code == 400
    assert response.json() == {"from": ["Give this parameter once."]}
    response = finance.get(reverse("usage-query-cost") + "?to=&by=team")
    assert response.status_code == 400
    assert response.json() == {"to": ["Give a value, or leave the parameter out."]}


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("usage-tables", {"limit": "0"}, "limit"),
        ("usage-tables", {"limit": "1001"}, "limit"),
        ("usage-tables", {"dataset": "acme..marts"}, "dataset"),
        ("usage-joined-tables", {"size": "4"}, "size"),
        ("usage-query-cost", {"by": "colour"}, "by"),
        ("usage-query-cost", {"by": "label:"}, "by"),
        ("usage-query-cost", {"by": 'label:a"b'}, "by"),
        ("usage-query-cost", {"by": "label:0"}, "by"),  # a key starts with a letter
        ("usage-query-cost", {"by": "label:-1"}, "by"),
        ("usage-query-cost", {"by": "label:_x"}, "by"),
        ("usage-expensive-queries", {"limit": "x"}, "limit"),
        # Only the forms the schema describes (issue 17).
        ("usage-tables", {"dataset": " acme-analytics.marts"}, "dataset"),
        ("usage-tables", {"dataset": "acme analytics.marts"}, "dataset"),
        ("usage-tables", {"dataset": "`"}, "dataset"),
        ("usage-query-cost", {"by": "user "}, "by"),
        ("usage-query-cost", {"by": "label:\u00b2x"}, "by"),  # a key starts with a letter
        ("usage-reconciliation", {"from": "20261103"}, "from"),
        ("usage-reconciliation", {"from": "2026-11-3"}, "from"),
        ("usage-reconciliation", {"to": "2026-11-03 "}, "to"),
    ],
)
def test_report_parameters_are_checked(finance, name, params, field):
    response = finance.get(reverse(name), params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


# --- Who may call -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.FINANCE, Role.REVIEWER, None])
def test_finance_and_managers_read_usage_others_are_refused(jobs, role):
    client = client_for(role)
    urls = [reverse(name) for name in USAGE_ROUTES]
    urls.append(reverse("usage-table-users", args=[L]))
    for url in urls:
        assert client.get(url).status_code == (200 if role in {Role.MANAGER, Role.FINANCE}
                                               else 403)  # fmt: skip
        anonymous = APIClient().get(url)
        assert anonymous.status_code == 401
        assert anonymous["WWW-Authenticate"] == "Token"


def test_the_schema_documents_every_usage_endpoint_with_its_errors(finance):
    response = finance.get(reverse("api-schema"), {"format": "json"})
    paths = response.json()["paths"]
    usage = {path: operations["get"] for path, operations in paths.items()
             if path.startswith("/api/v1/usage/")}  # fmt: skip
    assert set(usage) == {
        "/api/v1/usage/tables/",
        "/api/v1/usage/tables/{table}/users/",
        "/api/v1/usage/joined-tables/",
        "/api/v1/usage/query-cost/",
        "/api/v1/usage/expensive-queries/",
        "/api/v1/usage/reconciliation/",
    }
    for operation in usage.values():
        assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "429"}
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"from", "to"} <= names
    schemas = response.json()["components"]["schemas"]
    cost = schemas["UsageTableRow"]["properties"]["allocated_cost"]
    assert "not an invoice amount" in cost["description"]

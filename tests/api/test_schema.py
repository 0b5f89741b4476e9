"""The OpenAPI schema holds: schemathesis calls every operation it lists, in-process, with
generated parameters (valid and invalid), and checks each answer against the schema.

New endpoints are covered as soon as they are in the schema: the operations are read
from the schema, not listed here.
"""

import datetime
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from urllib.parse import urlencode

import jsonschema_rs
import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.http import QueryDict
from django.test import override_settings
from django.urls import reverse
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory
from schemathesis.core.parameters import ParameterLocation

from config.wsgi import application
from core.api import parameters
from core.models import ApiToken
from core.openapi import SchemaView
from core.roles import Role
from cost.billing.runs import import_files
from cost.billing.serializers import FactParameters, ReportParameters
from cost.models import CostFact
from cost.usage.serializers import UsageParameters, utc_today
from roadmap.budgets.api import IncidentFilter
from roadmap.budgets.serializers import BudgetStatusParameters
from tests.cost.billing.test_files import SAMPLE_JSONL
from tests.cost.usage.test_reports import load_usage_jobs
from tests.roadmap.budgets.test_api import Budgets, make_budgets
from tests.roadmap.factories import UserFactory
from tests.roadmap.items.test_api import Roadmap, make_roadmap, session_client

pytestmark = pytest.mark.django_db


@contextmanager
def raw_wsgi_calls() -> Iterator[None]:
    """schemathesis calls the WSGI application directly, which runs Django's
    close_old_connections at the start and end of each request. That closes the connection
    holding the test's transaction (false 500s). Django's test client avoids it the same
    way, and connects the handlers again after each of its requests, so they are
    disconnected around every raw call rather than once for the module."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _generated_schema() -> dict:
    """The document /api/v1/schema/ serves, made the way its view makes it. Read at import,
    when pytest collects the operations; no database is needed (and none is open yet).
    `test_the_endpoint_serves_the_schema_under_test` checks that the two are the same."""
    document = SchemaView.generator_class().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


SCHEMA = _generated_schema()
schema = schemathesis.openapi.from_dict(SCHEMA)
schema.app = application  # calls go to the WSGI application, in this process


@pytest.fixture
def finance_key(db) -> str:
    _token, key = ApiToken.issue(user=UserFactory(username="fiona", role=Role.FINANCE), name="ci")
    return key


@pytest.fixture
def roadmap(db) -> Roadmap:
    return make_roadmap()


# --- Rules between parameters ------------------------------------------------------------
#
# Some operations have rules between parameters that OpenAPI cannot state; each such
# operation's description in the schema lists them, with the 400 that breaking one gets
# (cost.billing.serializers.period_rules, cost.usage.serializers.period_rules). A request
# generated as valid, parameter by parameter, is brought within those same rules here,
# written from those descriptions, so that schemathesis can hold every valid request to be
# accepted. Requests generated as invalid are left as they are: they must still be refused.
# (`currency=USD` needs a USD rate on every line summed: the sample export has them all.)


def _month_or_day(text: str) -> tuple[datetime.date, bool]:
    """A `from` or `to` the schema admits (YYYY-MM, YYYYMM or YYYY-MM-DD): (day, is a day)."""
    if len(text) == 10:
        return datetime.date.fromisoformat(text), True
    return datetime.date(int(text[:4]), int(text[-2:]), 1), False


def _within_cost_rules(query: dict) -> None:
    if "invoice_month" in query:  # invoice_month or from/to, not both
        query.pop("from", None)
        query.pop("to", None)
    period = {name: _month_or_day(query[name]) for name in ("from", "to") if name in query}
    if any(is_day for _day, is_day in period.values()):
        query["basis"] = "usage"  # days need basis=usage
        for name, (day, is_day) in period.items():  # from and to both days, or both months
            if not is_day:
                query[name], period[name] = day.isoformat(), (day, True)
    if len(period) == 2 and period["from"][0] > period["to"][0]:  # to not before from
        query["from"], query["to"] = query["to"], query["from"]


def _within_usage_rules(query: dict) -> None:
    if "from" in query and "to" in query:  # to not before from
        if query["from"] > query["to"]:
            query["from"], query["to"] = query["to"], query["from"]
    elif "from" in query and query["from"] > utc_today().isoformat():
        query["to"] = query["from"]  # without to (today), from not after today


RULES_BETWEEN_PARAMETERS = {
    "/api/v1/cost-reports/": _within_cost_rules,
    "/api/v1/cost-facts/": _within_cost_rules,
    "/api/v1/cost-facts/{id}/": _within_cost_rules,
    "/api/v1/usage/tables/": _within_usage_rules,
    "/api/v1/usage/tables/{table}/users/": _within_usage_rules,
    "/api/v1/usage/joined-tables/": _within_usage_rules,
    "/api/v1/usage/query-cost/": _within_usage_rules,
    "/api/v1/usage/expensive-queries/": _within_usage_rules,
    "/api/v1/usage/reconciliation/": _within_usage_rules,
}


@schema.hook("map_case")
def keep_valid_queries_within_the_rules_between_parameters(context, case):
    meta = case.meta
    if meta is None or meta.is_negative_at(ParameterLocation.QUERY) or not case.query:
        return case
    query = dict(case.query)
    # A cursor comes from `next` or `previous` (its description): one made up is refused,
    # rightly. tests/cost/billing/test_api.py follows real ones.
    query.pop("cursor", None)
    rules = RULES_BETWEEN_PARAMETERS.get(case.operation.path)
    if rules is not None:
        rules(query)
    case.query = query
    return case


@pytest.fixture
def budgets(db) -> Budgets:
    return make_budgets()


@pytest.fixture
def usage_jobs(roadmap, tmp_path) -> None:
    """Three days of job history ending yesterday (UTC), inside the default period of the
    usage operations, so they answer with data. After `roadmap`, whose teams it maps
    users to."""
    today = utc_today()
    load_usage_jobs(tmp_path, today - datetime.timedelta(days=3), today=today)


@pytest.fixture
def billing(db) -> SimpleNamespace:
    """A month of a real-looking export, so cost operations answer with data."""
    run = import_files(paths=[SAMPLE_JSONL], source_name="sample")
    return SimpleNamespace(run=run, fact=CostFact.objects.first())


def _call_and_validate(case, key: str):
    # Not the `settings` fixture: Hypothesis runs the test body many times per setup.
    with override_settings(QUARTERDECK_API_RATE="100000/min"), raw_wsgi_calls():
        cache.clear()
        return case.call_and_validate(headers={"Authorization": f"Token {key}"})


@pytest.mark.usefixtures("usage_jobs")
@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_the_schema_says(case, finance_key, roadmap, billing, budgets):
    _call_and_validate(case, finance_key)


@pytest.mark.usefixtures("usage_jobs")
def test_objects_that_exist_answer_as_the_schema_says(finance_key, roadmap, billing, budgets):
    """Generated ids rarely hit a stored object; these calls make sure 200s are checked
    for every operation that takes one."""
    existing = {
        "GET /api/v1/roadmap-items/{id}/": {"id": roadmap.pipelines.pk},
        "GET /api/v1/roadmap-items/{id}/benefit/": {"id": roadmap.retired.pk},  # a done item
        "GET /api/v1/quarters/{code}/": {"code": "2027-Q2"},
        "GET /api/v1/cost-facts/{id}/": {"id": billing.fact.pk},
        "GET /api/v1/imports/{id}/": {"id": billing.run.pk},
        "GET /api/v1/data-products/{id}/": {"id": budgets.revenue.pk},
        "GET /api/v1/incidents/{id}/": {"id": budgets.shared.pk},
        "GET /api/v1/usage/tables/{table}/users/": {
            "table": "acme-analytics.legacy_sales.daily_sales_v1"
        },
    }
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if operation.path_parameters:
            assert operation.label in existing, f"Name an existing object for {operation.label}"
            case = operation.Case(path_parameters=existing[operation.label])
            assert _call_and_validate(case, finance_key).status_code == 200


def test_the_endpoint_serves_the_schema_under_test(finance_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {finance_key}")
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    assert response.json() == SCHEMA
    with raw_wsgi_calls():
        loaded = schemathesis.openapi.from_wsgi(
            "/api/v1/schema/?format=json",
            application,
            headers={"Authorization": f"Token {finance_key}"},
        )
    assert {op.ok().label for op in loaded.get_all_operations()} == {
        op.ok().label for op in schema.get_all_operations()
    }


def test_the_schema_describes_the_token_scheme_and_every_error():
    make_roadmap()
    response = session_client(Role.FINANCE).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Quarterdeck API"
    assert document["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": document["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    items = document["paths"]["/api/v1/roadmap-items/"]["get"]
    assert {"tokenAuth": []} in items["security"]
    assert set(items["responses"]) == {"200", "400", "401", "403", "429"}
    item = document["paths"]["/api/v1/roadmap-items/{id}/"]["get"]
    assert set(item["responses"]) == {"200", "400", "401", "403", "404", "429"}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.REVIEWER, Role.FINANCE])
def test_the_docs_page_runs_no_inline_script_and_loads_it_from_our_own_files(role):
    client = session_client(role)
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "script-src 'self'" in page["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.DOTALL)
    assert len(scripts) == 3
    sources = []
    for attributes, body in scripts:
        assert body.strip() == ""  # nothing inline
        sources.append(re.search(r'src="([^"]+)"', attributes).group(1))
    bundle, preset, start = sources
    for url in (bundle, preset):
        assert url.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/")
        assert finders.find(url.removeprefix("/static/")), url  # shipped, not a CDN
    # The start-up script comes from the docs view itself (same origin), with the schema URL.
    assert start.startswith(reverse("api-docs") + "?")
    script = client.get(start.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in script.content.decode()
    assert "cdn" not in html.lower()


def test_the_schema_and_docs_need_a_role():
    for name in ("api-schema", "api-docs"):
        assert APIClient().get(reverse(name)).status_code == 401
        assert session_client(None, username=f"nobody-{name}").get(reverse(name)).status_code == 403


# --- The schema's patterns are the rules the API reads ------------------------------------


def _parameter_schema(path: str, name: str) -> jsonschema_rs.Validator:
    (schema,) = [p["schema"] for p in SCHEMA["paths"][path]["get"]["parameters"]
                 if p["name"] == name]  # fmt: skip
    return jsonschema_rs.validator_for(schema, validate_formats=True)


WIDE_2026 = "\uff12\uff10\uff12\uff16"  # 2026 in full-width digits, which Python's \d reads


def _days() -> list[str]:
    """Days at the edges of the years the API takes, leap days and days that do not exist,
    and days written in other ways than YYYY-MM-DD."""
    edges = [datetime.date(year, 1, 1) for year in (2000, 2024, 2100)]
    days = [
        (edge + datetime.timedelta(days=offset)).isoformat()
        for edge in edges
        for offset in range(-70, 70)
    ]
    for year in range(1999, 2101):
        days += [f"{year}-02-28", f"{year}-02-29", f"{year}-02-30", f"{year}-04-30",
                 f"{year}-04-31", f"{year}-12-31"]  # fmt: skip
    return [
        *days, "0202-07-12", "1247-03-01", "0000-01-01", "9999-12-31", "2026-00-10",
        "2026-13-01", "2026-01-00", "2026-01-32", "2026-1-05", "2026-01-5", "20260105",
        "2026-W01-1", f"{WIDE_2026}-01-05", "2026-01-05\n", " 2026-01-05", "2026-01-05 ",
        "2026/01/05", "",
    ]  # fmt: skip


def _months() -> list[str]:
    months = [f"{year}{dash}{month:02}" for year in (1999, 2000, 2026, 2099, 2100)
              for month in range(14) for dash in ("-", "")]  # fmt: skip
    return [*months, "2026-1", f"{WIDE_2026}-10", "2026-10\n", " 2026-10", "2026-10 ", "0", "26-10"]


def _moments() -> list[str]:
    days = ["2000-01-01", "2026-11-20", "2024-02-29", "2026-02-29", "2099-12-31", "1999-12-31",
            "2100-01-01", "0202-07-12"]  # fmt: skip
    times = ["00:00:00", "09:00:00", "23:59:59", "24:00:00", "09:60:00", "09:00:60", "9:00:00",
             "09:00", "09:00:00.5", "09:00:00.123456789", "09:00:00."]  # fmt: skip
    offsets = ["", "Z", "z", "+01:00", "-23:59", "+24:00", "+01", "+0100", "+01:60"]
    return [f"{day}{t}{time}{offset}" for day in days for t in ("T", "t", " ")
            for time in times for offset in offsets]  # fmt: skip


def _accepted(serializer, name: str, **data: str) -> bool:
    """Whether the API takes the parameter `name`, read as every endpoint reads them."""
    try:
        parameters(serializer, Request(APIRequestFactory().get("/", data)))
    except ValidationError as error:
        return name not in error.detail
    return True


def test_each_date_pattern_of_the_schema_admits_exactly_what_the_api_reads():
    """A format (`date`, `date-time`) cannot bound a year, so the date parameters carry a
    pattern too; these say that a value fits the schema (as schemathesis reads it) if and
    only if the API takes it, so neither can drift from the other."""
    days, months, moments = _days(), _months(), _moments()
    readers = [
        ("/api/v1/usage/tables/", "from", days,
         lambda text: _accepted(UsageParameters, "from", **{"from": text, "to": "2099-12-31"})),
        ("/api/v1/usage/tables/", "to", days,
         lambda text: _accepted(UsageParameters, "to", **{"from": "2000-01-01", "to": text})),
        ("/api/v1/cost-reports/", "from", days + months,
         lambda text: _accepted(ReportParameters, "from", basis="usage", **{"from": text})),
        ("/api/v1/cost-reports/", "invoice_month", days + months,
         lambda text: _accepted(ReportParameters, "invoice_month", invoice_month=text)),
        ("/api/v1/cost-facts/", "as_of", days + months + moments,
         lambda text: _accepted(FactParameters, "as_of", as_of=text)),
        ("/api/v1/budget-status/", "as_of", days,
         lambda text: _accepted(BudgetStatusParameters, "as_of", as_of=text)),
        ("/api/v1/incidents/", "detected_from", days,
         lambda text: IncidentFilter(QueryDict(urlencode({"detected_from": text}))).is_valid()),
    ]  # fmt: skip
    for path, name, texts, accepted in readers:
        schema = _parameter_schema(path, name)
        differ = [text for text in texts if schema.is_valid(text) != accepted(text)]
        assert not differ, (path, name, differ[:10])
        assert any(schema.is_valid(text) for text in texts), (path, name)


def test_each_value_pattern_of_the_schema_admits_what_the_api_reads():
    """The same for a value of a list parameter, one a time (the API also splits a value at
    commas and trims the spaces around each, which a schema cannot say)."""
    labels = ["team=ae", "team=", "a=b=c", "=x", "a\x00=b", "a=b\x00", "a=b\nc", "a,b=c",
              "k" * 128 + "=v", "k" * 129 + "=v", "a=" + "v" * 256, "a=" + "v" * 257, "team",
              "a\u3000b=c d", "\u3000=x"]  # fmt: skip
    groupings = ["usage_month", "credit_type", "label:team", "label:", "label:a b", "label:a\x00",
                 "label:" + "k" * 134, "label:" + "k" * 135, "labels:team", "Label:team",
                 "usage-month", "label:é"]  # fmt: skip
    texts = ["BigQuery", "a\x00b", "x" * 128, "x" * 129, "\u3000x\u3000", "é"]
    readers = [
        ("label", labels, lambda text: _accepted(ReportParameters, "label", label=text)),
        ("group_by", groupings,
         lambda text: _accepted(ReportParameters, "group_by", group_by=text)),
        ("project", texts, lambda text: _accepted(ReportParameters, "project", project=text)),
    ]  # fmt: skip
    items = {p["name"]: p["schema"]["items"]
             for p in SCHEMA["paths"]["/api/v1/cost-reports/"]["get"]["parameters"]
             if p["schema"].get("type") == "array"}  # fmt: skip
    for name, values, accepted in readers:
        schema = jsonschema_rs.validator_for(items[name], validate_formats=True)
        differ = [text for text in values if schema.is_valid(text) != accepted(text)]
        assert not differ, (name, differ)

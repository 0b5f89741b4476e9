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

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.urls import reverse
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis import checks

from config.wsgi import application
from core.models import ApiToken
from core.openapi import SchemaView
from core.roles import Role
from cost.billing.runs import import_files
from cost.models import CostFact
from cost.usage.serializers import utc_today
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


# Cost queries have rules between parameters that OpenAPI cannot state (from before to,
# days only with basis=usage, invoice_month or from/to): a request valid parameter by
# parameter may rightly get 400. For these operations schemathesis still checks that
# nothing fails (no 5xx) and that every answer, 400s included, is as the schema says;
# it does not check that schema-valid input is accepted or schema-invalid input refused.
CROSS_PARAMETER_RULES = {
    "GET /api/v1/cost-reports/",
    "GET /api/v1/cost-facts/",
    "GET /api/v1/cost-facts/{id}/",
    # Usage reports: `to` not before `from`, both in the years 2000 to 2099.
    "GET /api/v1/usage/tables/",
    "GET /api/v1/usage/tables/{table}/users/",
    "GET /api/v1/usage/joined-tables/",
    "GET /api/v1/usage/query-cost/",
    "GET /api/v1/usage/expensive-queries/",
    "GET /api/v1/usage/reconciliation/",
}


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
    excluded = []
    if case.operation.label in CROSS_PARAMETER_RULES:
        excluded = [checks.positive_data_acceptance, checks.negative_data_rejection]
    with override_settings(QUARTERDECK_API_RATE="100000/min"), raw_wsgi_calls():
        cache.clear()
        return case.call_and_validate(
            headers={"Authorization": f"Token {key}"}, excluded_checks=excluded
        )


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

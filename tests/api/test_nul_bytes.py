"""A NUL byte anywhere a client can put one (a path segment, a query parameter) is a
4xx, never a 500: PostgreSQL text cannot hold NUL, so it must be refused before a query."""

import re

import pytest

from tests.api.test_schema import SCHEMA

pytestmark = pytest.mark.django_db

GETS = [
    (path, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
    if method == "get"
]


@pytest.mark.parametrize("path", [path for path, _op in GETS if "{" in path])
def test_a_nul_in_a_path_segment_is_a_404(finance_api, path):
    url = re.sub(r"\{[^}]+\}", "%00", path)
    response = finance_api.get(url)
    assert response.status_code == 404, (url, response.content[:200])


QUERY_PARAMETERS = [
    (path, parameter["name"])
    for path, operation in GETS
    if "{" not in path
    for parameter in operation.get("parameters", [])
    if parameter["in"] == "query" and parameter["name"] != "format"
]


@pytest.mark.parametrize(("path", "name"), QUERY_PARAMETERS)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(finance_api, path, name):
    response = finance_api.get(path, {name: "a\x00b"})
    assert response.status_code == 400, (path, name, response.content[:200])
    assert name in response.json(), response.json()

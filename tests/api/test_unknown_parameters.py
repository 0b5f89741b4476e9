"""A misspelt or unknown query parameter is a 400 naming it on every API list, never
silently ignored (which would answer every row as if no filter had been asked)."""

import pytest

from tests.api.test_schema import SCHEMA
from tests.roadmap.budgets.test_api import make_budgets
from tests.roadmap.items.test_api import make_roadmap

pytestmark = pytest.mark.django_db

LISTS = sorted(
    path
    for path, operations in SCHEMA["paths"].items()
    if "get" in operations and "{" not in path and path not in ("/api/v1/", "/api/v1/schema/")
)


@pytest.mark.parametrize("path", LISTS)
def test_an_unknown_parameter_is_a_400_naming_it(finance_api, path):
    response = finance_api.get(path, {"stauts": "done"})
    assert response.status_code == 400, (path, response.content[:200])
    assert "stauts" in response.json()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/roadmap-items/", {"status": "planned", "limit": 5, "offset": 0}),
        ("/api/v1/quarters/", {"limit": 5}),
        ("/api/v1/data-products/", {"limit": 5}),
        ("/api/v1/incidents/", {"limit": 5, "format": "json"}),
    ],
)
def test_the_parameters_an_endpoint_takes_still_work(finance_api, path, params):
    make_roadmap()
    make_budgets()
    response = finance_api.get(path, params)
    assert response.status_code == 200, response.content[:200]
    assert response.json()["results"]

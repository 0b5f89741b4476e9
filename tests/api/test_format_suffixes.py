"""Every route the router offers with a format suffix (`.json`, `.csv`, `.api`) answers in
that format or with a JSON 404, never a 500; what each endpoint offers is in the schema."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.api import router
from cost.billing.runs import import_files
from cost.models import CostFact, ImportRun
from roadmap.models import DataProduct, Incident, Quarter, RoadmapItem
from tests.cost.billing.test_files import SAMPLE_JSONL
from tests.roadmap.budgets.test_api import make_budgets
from tests.roadmap.items.test_api import make_roadmap

pytestmark = pytest.mark.django_db

SUFFIXES = ["json", "csv", "api", "xml", "yaml"]
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv", "api": "text/html"}


def offered_formats(basename: str) -> set[str]:
    viewset = next(viewset for _prefix, viewset, name in router.registry if name == basename)
    return {renderer.format for renderer in viewset().get_renderers()}


@pytest.fixture
def world() -> dict[str, object]:
    make_roadmap()
    make_budgets()
    import_files(paths=[SAMPLE_JSONL], source_name="sample")
    return {
        "roadmap-item": RoadmapItem.objects.first().pk,
        "quarter": Quarter.objects.first().code,
        "data-product": DataProduct.objects.first().pk,
        "incident": Incident.objects.first().pk,
        "cost-fact": CostFact.objects.first().pk,
        "import-run": ImportRun.objects.first().pk,
    }


def detail_actions(viewset) -> list[str]:
    """The url names of a viewset's extra actions on one object (@action(detail=True))."""
    return [extra.url_name for extra in viewset.get_extra_actions() if extra.detail]


def suffixed_urls(world: dict[str, object]) -> list[tuple[str, str, str]]:
    """(basename, url, suffix) for every list, detail and detail-action route of the
    router."""
    urls = []
    for _prefix, viewset, basename in router.registry:
        for suffix in SUFFIXES:
            urls.append((basename, reverse(f"{basename}-list", kwargs={"format": suffix}), suffix))
            if basename in world:
                for kind in ["detail", *detail_actions(viewset)]:
                    url = reverse(f"{basename}-{kind}",
                                  kwargs={"pk" if basename != "quarter" else "code":
                                          world[basename], "format": suffix})  # fmt: skip
                    urls.append((basename, url, suffix))
    return urls


def test_the_walk_covers_every_route_of_the_router():
    names = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and "format" in str(pattern.pattern):
                names.add(pattern.name)

    walk(get_resolver().url_patterns)
    registered = {f"{name}-{kind}" for _p, viewset, name in router.registry
                  for kind in ("list", "detail", *detail_actions(viewset))}  # fmt: skip
    # Every suffixed route is a router route (or the API root), and every one is walked.
    assert names - {"api-root"} <= registered
    assert "budget-status-detail" not in names  # a report: list only


def test_each_suffix_answers_in_its_format_or_is_a_json_404(finance_api, world):
    failures = []
    for basename, url, suffix in suffixed_urls(world):
        response = finance_api.get(url)
        offered = offered_formats(basename)
        content_type = response.get("Content-Type", "")
        if suffix in offered:
            ok = response.status_code == 200 and content_type.startswith(CONTENT_TYPES[suffix])
        else:
            ok = response.status_code == 404 and content_type.startswith("application/json")
        if not ok:
            failures.append((url, response.status_code, content_type, response.content[:120]))
    assert failures == []


def test_the_cost_facts_csv_by_suffix_is_the_csv_by_parameter(finance_api, world):
    by_suffix = finance_api.get("/api/v1/cost-facts.csv")
    by_parameter = finance_api.get(reverse("cost-fact-list"), {"format": "csv"})
    assert by_suffix.status_code == by_parameter.status_code == 200
    body = b"".join(by_suffix.streaming_content)
    assert body.splitlines()[1:] == b"".join(by_parameter.streaming_content).splitlines()[1:]

"""Every page and endpoint, every role: the allowed roles get in, the others get 403,
anonymous visitors are sent to sign in (pages) or refused (API)."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.roles import Role
from cost.models import AllocationRule
from tests.cost.factories import CostFactFactory, ImportRunFactory
from tests.roadmap.factories import RoadmapItemFactory, TeamFactory, UserFactory, quarter
from tests.roadmap.test_item_pages import form_data

ANYONE = {Role.MANAGER, Role.REVIEWER, Role.FINANCE, None}  # None: signed in, no role
MANAGER = {Role.MANAGER}
COST_READERS = {Role.MANAGER, Role.FINANCE}

# (url name, the object whose id the url takes (if any), method, roles allowed)
ROUTES = [
    ("home", None, "get", ANYONE),
    ("roadmap:board", None, "get", MANAGER),
    ("roadmap:capacity", None, "get", MANAGER),
    ("roadmap:capacity", None, "post", MANAGER),
    ("roadmap:item-list", None, "get", MANAGER),
    ("roadmap:item-create", None, "get", MANAGER),
    ("roadmap:item-create", None, "post", MANAGER),
    ("roadmap:item-export", None, "get", MANAGER),
    ("roadmap:item-import", None, "get", MANAGER),
    ("roadmap:item-import", None, "post", MANAGER),
    ("roadmap:item-detail", "item", "get", MANAGER),
    ("roadmap:item-edit", "item", "get", MANAGER),
    ("roadmap:item-edit", "item", "post", MANAGER),
    ("roadmap:item-move", "item", "post", MANAGER),
    ("cost:overview", None, "get", COST_READERS),
    ("cost:chart", None, "get", COST_READERS),
    ("cost:import-list", None, "get", COST_READERS),
    ("cost:import-detail", "run", "get", COST_READERS),
    ("cost:rule-list", None, "get", MANAGER),
    ("cost:rule-create", None, "get", MANAGER),
    ("cost:rule-create", None, "post", MANAGER),
    ("cost:rule-edit", "rule", "get", MANAGER),
    ("cost:rule-edit", "rule", "post", MANAGER),
    ("cost:rule-delete", "rule", "get", MANAGER),
    ("cost:rule-delete", "rule", "post", MANAGER),
    ("cost:rule-move", "rule", "post", MANAGER),
]
EVERY_ROLE = {Role.MANAGER, Role.REVIEWER, Role.FINANCE}
PLANNERS = {Role.MANAGER, Role.FINANCE}
# As ROUTES; anonymous callers get 401 naming the token scheme.
API_ROUTES = [
    ("api-root", None, "get", EVERY_ROLE),
    ("api-schema", None, "get", EVERY_ROLE),
    ("api-docs", None, "get", EVERY_ROLE),
    ("roadmap-item-list", None, "get", PLANNERS),
    ("roadmap-item-detail", "item", "get", PLANNERS),
    ("quarter-list", None, "get", PLANNERS),
    ("quarter-detail", "quarter", "get", PLANNERS),
    ("cost-report", None, "get", PLANNERS),
    ("cost-fact-list", None, "get", PLANNERS),
    ("cost-fact-detail", "fact", "get", PLANNERS),
    ("import-run-list", None, "get", PLANNERS),
    ("import-run-detail", "run", "get", PLANNERS),
]
ROLES = [Role.MANAGER, Role.REVIEWER, Role.FINANCE, None]


def _named_routes(resolver: URLResolver, prefix: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _named_routes(pattern, namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{prefix}{pattern.name}")
    return names


def test_every_named_route_is_covered_by_this_file():
    covered = {name for name, *_ in ROUTES} | {name for name, *_ in API_ROUTES}
    # Login and logout are open by nature; the API's format-suffix twins share a view.
    ignored = {"login", "logout", "api-root"} - covered
    assert _named_routes(get_resolver()) - ignored - covered == set()


# What each kind of url takes: a new object's id (or, for quarters, code).
OBJECTS = {
    "item": lambda: RoadmapItemFactory().pk,
    "run": lambda: ImportRunFactory().pk,
    "rule": lambda: AllocationRule.objects.create(name="Everything", team=TeamFactory()).pk,
    "quarter": lambda: quarter("2027-Q1").code,
    "fact": lambda: CostFactFactory().pk,
}


def _url(name: str, needs: str | None) -> str:
    return reverse(name, args=[OBJECTS[needs]()] if needs else [])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-role")
@pytest.mark.parametrize(
    ("name", "needs", "method", "allowed"), ROUTES, ids=[f"{m}-{n}" for n, _i, m, _a in ROUTES]
)
def test_page_access_by_role(name, needs, method, allowed, role):
    client = Client()
    client.force_login(UserFactory(username=f"user-{role or 'none'}", role=role))
    response = getattr(client, method)(_url(name, needs))
    if role in allowed:
        if method == "get":
            assert response.status_code == 200
        else:  # an empty POST is refused as bad input, or redirects within the app
            assert response.status_code in (302, 400), response.status_code
            assert not response.get("Location", "").startswith(reverse("login"))
    else:
        assert response.status_code == 403
        assert b"You can't open this page" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "needs", "method", "allowed"), ROUTES, ids=[f"{m}-{n}" for n, _i, m, _a in ROUTES]
)
def test_anonymous_visitors_are_sent_to_sign_in(name, needs, method, allowed):
    url = _url(name, needs)
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "no-role")
@pytest.mark.parametrize(
    ("name", "needs", "method", "allowed"),
    API_ROUTES,
    ids=[f"{m}-{n}" for n, _i, m, _a in API_ROUTES],
)
def test_api_access_by_role(name, needs, method, allowed, role):
    url = _url(name, needs)
    client = Client()
    client.force_login(UserFactory(username=f"api-{role or 'none'}", role=role))
    response = getattr(client, method)(url)
    assert response.status_code == (200 if role in allowed else 403)
    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_a_reviewer_cannot_change_an_item_by_posting_directly():
    item = RoadmapItemFactory(title="Untouchable", rank=1)
    RoadmapItemFactory(rank=2)
    # A post a manager would get through: proven by the last lines of this test.
    valid = form_data(item, title="Changed")
    reviewer, manager = Client(), Client()
    reviewer.force_login(UserFactory(username="vp", role=Role.REVIEWER))
    manager.force_login(UserFactory(username="boss", role=Role.MANAGER))
    edit = reverse("roadmap:item-edit", args=[item.pk])
    move = reverse("roadmap:item-move", args=[item.pk])
    assert reviewer.post(edit, valid).status_code == 403
    assert reviewer.post(move, {"to_rank": "2"}).status_code == 403
    item.refresh_from_db()
    assert (item.title, item.rank, item.version) == ("Untouchable", 1, 1)
    assert item.history.count() == 1
    assert manager.post(edit, valid).status_code == 302
    item.refresh_from_db()
    assert item.title == "Changed"


@pytest.mark.django_db
def test_finance_reads_cost_but_cannot_change_allocation_rules_by_posting_directly():
    team = TeamFactory()
    rule = AllocationRule.objects.create(name="Keep", team=team, position=1)
    AllocationRule.objects.create(name="Second", team=team, position=2)
    finance, manager = Client(), Client()
    finance.force_login(UserFactory(username="fin", role=Role.FINANCE))
    manager.force_login(UserFactory(username="boss", role=Role.MANAGER))
    new = {"name": "Sneaky", "team": team.pk}
    assert finance.get(reverse("cost:overview")).status_code == 200
    assert finance.post(reverse("cost:rule-create"), new).status_code == 403
    assert finance.post(reverse("cost:rule-edit", args=[rule.pk]), new).status_code == 403
    assert (
        finance.post(reverse("cost:rule-move", args=[rule.pk]), {"direction": "down"}).status_code
        == 403
    )
    assert finance.post(reverse("cost:rule-delete", args=[rule.pk])).status_code == 403
    assert list(AllocationRule.objects.values_list("name", "position")) == [
        ("Keep", 1),
        ("Second", 2),
    ]
    # The same posts from a manager go through.
    assert (
        manager.post(reverse("cost:rule-move", args=[rule.pk]), {"direction": "down"}).status_code
        == 302
    )
    assert manager.post(reverse("cost:rule-create"), new).status_code == 302
    assert AllocationRule.objects.filter(name="Sneaky").exists()


@pytest.mark.django_db
def test_sign_in_with_a_password_then_sign_out():
    user = UserFactory(username="mika", role=Role.MANAGER)
    user.set_password("a-long-demo-password")
    user.save()
    client = Client()
    response = client.post(
        reverse("login"), {"username": "mika", "password": "a-long-demo-password"}
    )
    assert response.status_code == 302
    assert client.get(reverse("roadmap:board")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("roadmap:board")).status_code == 302
    wrong = Client().post(reverse("login"), {"username": "mika", "password": "nope"})
    assert b"didn't match" in wrong.content

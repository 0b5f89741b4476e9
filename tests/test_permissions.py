"""Every page and endpoint, every role: the allowed roles get in, the others get 403,
anonymous visitors are sent to sign in (pages) or refused (API)."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core.roles import Role
from cost.models import AllocationRule, BigQueryTable
from roadmap.models import DataProduct, Incident, ReviewPack
from roadmap.reviews.rules import add_comment
from tests.cost.factories import CostFactFactory, ImportRunFactory
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    TeamFactory,
    UserFactory,
    opened,
    quarter,
)
from tests.roadmap.items.test_pages import form_data

ANYONE = {Role.MANAGER, Role.REVIEWER, Role.FINANCE, None}  # None: signed in, no role
MANAGER = {Role.MANAGER}
COST_READERS = {Role.MANAGER, Role.FINANCE}
PARTICIPANTS = {Role.MANAGER, Role.REVIEWER}
BUDGET_READERS = {Role.MANAGER, Role.REVIEWER, Role.FINANCE}
NOBODY: set = set()

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
    # Usage evidence and stakeholder interviews: managers only (reviewers read the pack).
    ("roadmap:item-tables", "item", "get", MANAGER),
    ("roadmap:item-tables", "item", "post", MANAGER),
    ("roadmap:item-evidence-apply", "item", "post", MANAGER),
    ("roadmap:item-retirement", "retiring item", "get", MANAGER),
    ("roadmap:item-retirement-chart", "retiring item", "get", MANAGER),
    ("roadmap:item-retirement-readers", "retiring item", "get", MANAGER),
    ("roadmap:interview-list", None, "get", MANAGER),
    ("roadmap:interview-create", None, "get", MANAGER),
    ("roadmap:interview-create", None, "post", MANAGER),
    ("roadmap:interview-edit", "interview", "get", MANAGER),
    ("roadmap:interview-edit", "interview", "post", MANAGER),
    # Review sessions. The user of each role here is not invited to the session, so only
    # managers get in; invited reviewers are checked in test_invited_reviewers_... below.
    ("roadmap:review-list", None, "get", PARTICIPANTS),
    ("roadmap:review-create", None, "get", MANAGER),
    ("roadmap:review-create", None, "post", MANAGER),
    ("roadmap:review-detail", "session", "get", MANAGER),
    ("roadmap:review-edit", "session", "get", MANAGER),
    ("roadmap:review-edit", "session", "post", MANAGER),
    ("roadmap:review-advance", "session", "post", MANAGER),
    ("roadmap:comment-create", "session", "post", MANAGER),
    ("roadmap:comment-edit", "comment", "get", NOBODY),  # only its author
    ("roadmap:comment-edit", "comment", "post", NOBODY),
    ("roadmap:comment-delete", "comment", "post", NOBODY),
    ("roadmap:comment-resolve", "comment", "post", MANAGER),
    ("roadmap:vote", "review_item", "post", NOBODY),  # only invited reviewers
    ("roadmap:decision", "review_item", "get", MANAGER),
    ("roadmap:decision", "review_item", "post", MANAGER),
    ("roadmap:change-reason", "change", "post", MANAGER),
    ("roadmap:pack-build", "session", "post", MANAGER),
    ("roadmap:pack", "pack", "get", MANAGER),
    # Error budgets: VPs and Finance read the numbers; only managers change them.
    ("roadmap:budget-list", None, "get", BUDGET_READERS),
    ("roadmap:product-detail", "product", "get", BUDGET_READERS),
    ("roadmap:product-create", None, "get", MANAGER),
    ("roadmap:product-create", None, "post", MANAGER),
    ("roadmap:product-edit", "product", "get", MANAGER),
    ("roadmap:product-edit", "product", "post", MANAGER),
    ("roadmap:incident-create", None, "get", MANAGER),
    ("roadmap:incident-create", None, "post", MANAGER),
    ("roadmap:incident-edit", "incident", "get", MANAGER),
    ("roadmap:incident-edit", "incident", "post", MANAGER),
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
    # Job history usage pages and users' teams: managers only.
    ("cost:usage-tables", None, "get", MANAGER),
    ("cost:usage-curve", None, "get", MANAGER),
    ("cost:usage-table", "bq_table_pk", "get", MANAGER),
    ("cost:usage-table-csv", "bq_table_pk", "get", MANAGER),
    ("cost:usage-joined", None, "get", MANAGER),
    ("cost:usage-cost", None, "get", MANAGER),
    ("cost:usage-imports", None, "get", MANAGER),
    ("cost:job-user-list", None, "get", MANAGER),
    ("cost:job-user-edit", "job_user", "get", MANAGER),
    ("cost:job-user-edit", "job_user", "post", MANAGER),
    ("cost:job-user-import", None, "get", MANAGER),
    ("cost:job-user-import", None, "post", MANAGER),
    ("cost:job-user-export", None, "get", MANAGER),
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
    ("roadmap-item-benefit", "item", "get", PLANNERS),
    ("quarter-list", None, "get", PLANNERS),
    ("quarter-detail", "quarter", "get", PLANNERS),
    ("cost-report", None, "get", PLANNERS),
    ("cost-fact-list", None, "get", PLANNERS),
    ("cost-fact-detail", "fact", "get", PLANNERS),
    ("import-run-list", None, "get", PLANNERS),
    ("import-run-detail", "run", "get", PLANNERS),
    ("data-product-list", None, "get", PLANNERS),
    ("data-product-detail", "product", "get", PLANNERS),
    ("incident-list", None, "get", PLANNERS),
    ("incident-detail", "incident", "get", PLANNERS),
    ("budget-status-list", None, "get", PLANNERS),
    ("usage-tables", None, "get", PLANNERS),
    ("usage-table-users", "bq_table", "get", PLANNERS),
    ("usage-joined-tables", None, "get", PLANNERS),
    ("usage-query-cost", None, "get", PLANNERS),
    ("usage-expensive-queries", None, "get", PLANNERS),
    ("usage-reconciliation", None, "get", PLANNERS),
    ("benefit-report", None, "get", PLANNERS),
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
    # Login, logout and the language switch are open by nature (the switch's own test,
    # tests/core/test_languages.py, admits every role and anonymous visitors); the API's
    # format-suffix twins share a view.
    ignored = {"login", "logout", "language", "api-root"} - covered
    assert _named_routes(get_resolver()) - ignored - covered == set()


def _open_session():
    item = RoadmapItemFactory()
    invited = UserFactory(username="invited", role=Role.REVIEWER)
    session = opened(ReviewSessionFactory(reviewers=[invited]))
    return session, session.items.get(item=item)


def _comment():
    session, _row = _open_session()
    author = UserFactory(username="invited")
    return [session.pk, add_comment(session=session, author=author, body="Hm", kind="question").pk]


def _pack(session=None):
    session = session or _open_session()[0]
    ReviewPack.objects.create(session=session, version=1, data_as_of=timezone.now(),
                              content_hash="0" * 64, html="<p>Pack</p>", markdown="# Pack",
                              pdf=b"%PDF-1.7")  # fmt: skip
    return [session.pk, 1, "pdf"]


def _product() -> DataProduct:
    return DataProduct.objects.create(name="KPI tables", slug="kpi", incidents_allowed=2)


def _incident() -> int:
    incident = Incident.objects.create(title="Revenue doubled", detected_at=timezone.now(),
                                       severity="sev2", impact="wrong_numbers")  # fmt: skip
    incident.products.add(_product())
    return incident.pk


def _interview() -> int:
    from roadmap.models import StakeholderInterview

    return StakeholderInterview.objects.create(
        date=timezone.localdate(), team=TeamFactory(), people="Priya"
    ).pk


def _bq_table() -> str:
    table = BigQueryTable.objects.create(
        project_id="acme-analytics", dataset_id="legacy_sales", table_id="daily_sales_v1"
    )
    return table.full_name


def _job_user() -> int:
    from cost.models import JobUser

    return JobUser.objects.create(email="ann@acme.example").pk


def _review_item():
    session, row = _open_session()
    return [session.pk, row.pk]


def _change():
    session, row = _open_session()
    return [session.pk, row.item_key]


def _retiring_item() -> int:
    from roadmap.models import ItemTable

    item = RoadmapItemFactory()
    legacy = BigQueryTable.objects.create(project_id="acme", dataset_id="old", table_id="sales")
    ItemTable.objects.create(item=item, table=legacy, role=ItemTable.Role.RETIRE)
    return item.pk


# What each kind of url takes: a new object's id (or, for quarters, code; or a list of
# arguments).
OBJECTS = {
    "session": lambda: _open_session()[0].pk,
    "comment": _comment,
    "review_item": _review_item,
    "change": _change,
    "pack": _pack,
    "item": lambda: RoadmapItemFactory().pk,
    "retiring item": _retiring_item,
    "run": lambda: ImportRunFactory().pk,
    "rule": lambda: AllocationRule.objects.create(name="Everything", team=TeamFactory()).pk,
    "quarter": lambda: quarter("2027-Q1").code,
    "fact": lambda: CostFactFactory().pk,
    "product": lambda: _product().pk,
    "incident": _incident,
    "bq_table": _bq_table,
    "bq_table_pk": lambda: (
        BigQueryTable.objects.create(
            project_id="acme", dataset_id="marts", table_id="fct_orders"
        ).pk
    ),
    "job_user": _job_user,
    "interview": _interview,
}


def _url(name: str, needs: str | None) -> str:
    if not needs:
        return reverse(name)
    value = OBJECTS[needs]()
    return reverse(name, args=value if isinstance(value, list) else [value])


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


# (url name, what it takes, method, whether an invited reviewer may use it)
REVIEWER_ROUTES = [
    ("roadmap:review-list", None, "get", True),
    ("roadmap:review-detail", "session", "get", True),
    ("roadmap:comment-create", "session", "post", True),
    ("roadmap:comment-edit", "own comment", "get", True),
    ("roadmap:comment-edit", "own comment", "post", True),
    ("roadmap:comment-delete", "own comment", "post", True),
    ("roadmap:vote", "review_item", "post", True),
    ("roadmap:review-create", None, "get", False),
    ("roadmap:review-create", None, "post", False),
    ("roadmap:review-edit", "session", "get", False),
    ("roadmap:review-edit", "session", "post", False),
    ("roadmap:review-advance", "session", "post", False),
    ("roadmap:comment-resolve", "own comment", "post", False),
    ("roadmap:decision", "review_item", "get", False),
    ("roadmap:decision", "review_item", "post", False),
    ("roadmap:change-reason", "review_item", "post", False),
    ("roadmap:item-edit", "item", "get", False),
    ("roadmap:item-edit", "item", "post", False),
    ("roadmap:item-detail", "item", "get", False),
    ("roadmap:item-tables", "item", "get", False),
    ("roadmap:item-tables", "item", "post", False),
    ("roadmap:item-evidence-apply", "item", "post", False),
    ("roadmap:item-retirement", "retiring item", "get", False),
    ("roadmap:item-retirement-readers", "retiring item", "get", False),
    ("roadmap:interview-list", None, "get", False),
    ("roadmap:interview-create", None, "get", False),
    ("roadmap:interview-create", None, "post", False),
    ("roadmap:interview-edit", "interview", "get", False),
    ("roadmap:interview-edit", "interview", "post", False),
    ("roadmap:pack", "pack", "get", True),
    ("roadmap:pack-build", "session", "post", False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "needs", "method", "allowed"),
    REVIEWER_ROUTES,
    ids=[f"{m}-{n}" for n, _i, m, _a in REVIEWER_ROUTES],
)
def test_invited_reviewers_comment_and_vote_but_change_nothing_else(name, needs, method, allowed):
    reviewer = UserFactory(username="invited", role=Role.REVIEWER)
    session, row = _open_session()
    args = {
        None: [],
        "session": [session.pk],
        "review_item": [session.pk, row.pk],
        "own comment": lambda: [session.pk, add_comment(session=session, author=reviewer,
                                                        body="Mine", kind="concern").pk],
        "item": [row.item_key],
        "retiring item": lambda: [_retiring_item()],
        "interview": lambda: [_interview()],
        "pack": lambda: _pack(session),
    }[needs]  # fmt: skip
    url = reverse(name, args=args() if callable(args) else args)
    client = Client()
    client.force_login(reviewer)
    response = getattr(client, method)(url)
    if allowed:
        assert response.status_code in ((200,) if method == "get" else (302, 400))
    else:
        assert response.status_code == 403
    # The same reviewer, not invited to another session, is refused there.
    other, _row = _open_session()
    other.reviewers.clear()
    if needs == "session":
        refused = getattr(client, method)(reverse(name, args=[other.pk]))
        assert refused.status_code == 403


@pytest.mark.django_db
def test_an_invited_reviewer_cannot_open_a_draft_session():
    reviewer = UserFactory(username="early", role=Role.REVIEWER)
    draft = ReviewSessionFactory(reviewers=[reviewer])
    client = Client()
    client.force_login(reviewer)
    assert client.get(reverse("roadmap:review-detail", args=[draft.pk])).status_code == 403
    assert draft.title not in client.get(reverse("roadmap:review-list")).content.decode()

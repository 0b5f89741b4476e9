"""A realistic demo: an Analytics Engineering team's roadmap for the current quarter and
the next three, with the people who use Quarterdeck. Safe to run again: nothing is
duplicated and nothing a user changed since is overwritten."""

import datetime
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from config.roles import Role
from cost.allocation import reallocate_all
from cost.imports import import_files
from cost.models import AllocationRule, ApiToken, BillingSource
from cost.synthetic import generate_rows, write_export
from roadmap.models import Quarter, RoadmapItem, Team, TeamCapacity, Theme
from roadmap.planning import OPEN_STATUSES, save_item

DEMO_USERS = [
    # username, password, first, last, role, staff
    ("manager", "quarterdeck-manager", "Mika", "Tanaka", Role.MANAGER, True),
    ("vp", "quarterdeck-vp", "Valerie", "Park", Role.REVIEWER, False),
    ("peer", "quarterdeck-peer", "Pedro", "Alves", Role.REVIEWER, False),
    ("finance", "quarterdeck-finance", "Fiona", "Ng", Role.FINANCE, False),
]

THEMES = [
    (
        "Legacy pipeline retirement",
        "#8c4a2f",
        "Retire the nightly legacy pipelines that ~150 people still read, after finding and "
        "interviewing their users.",
    ),
    (
        "Intermediate tables",
        "#2d5fa3",
        "Model the ~50 tables that carry most queries and the joins people repeat.",
    ),
    ("Dashboards", "#3f7f4f", "Dashboards that product, support and finance rely on."),
    ("Data quality", "#7a4fa0", "Tests, freshness checks and error budgets for data products."),
    ("Cost and platform", "#b07d1a", "BigQuery cost, slots, storage and the dbt platform."),
]

TEAMS = [
    # name, slug, weekly rate (USD), delivers work
    ("Analytics Engineering", "ae", Decimal("4200.00")),
    ("Data Platform", "data-platform", Decimal("4800.00")),
    ("Product Analytics", "product-analytics", None),
    ("Finance", "finance", None),
    ("Customer Support", "support", None),
    ("Marketing", "marketing", None),
    ("Product Management", "product", None),
]

# AE capacity per quarter offset: 5 people x 13 weeks, less holidays and on-call.
# Next quarter is short: two people on parental leave, so the demo shows an
# over-committed quarter.
CAPACITY = {
    -1: Decimal("52"),
    0: Decimal("55"),
    1: Decimal("36"),
    2: Decimal("55"),
    3: Decimal("55"),
}


@dataclass(frozen=True)
class DemoItem:
    title: str
    theme: str
    status: str
    start: int | None  # quarter offset from the current quarter
    target: int | None
    description: str
    reach: int | None = None
    impact: str | None = None
    confidence: int | None = None
    rice_effort: str | None = None
    wsjf: tuple[int, int, int, int] | None = None
    effort_weeks: str | None = None
    bq_change: str | None = None
    one_off: str | None = None
    users: int | None = None
    hours_saved: str | None = None
    chain: str = ""
    narrative: str = ""
    requesters: tuple[str, ...] = ()
    team: str = "ae"
    depends_on: tuple[str, ...] = ()
    risks: str = ""
    evidence: str = ""


S = RoadmapItem.Status
ITEMS = [
    DemoItem(
        "Find every reader of the legacy nightly sales pipeline",
        "Legacy pipeline retirement",
        S.DONE,
        -1,
        -1,
        "Use INFORMATION_SCHEMA.JOBS to list who queries `legacy.sales_nightly_*` and how "
        "often, grouped by team. Output: the interview list.",
        reach=150,
        impact="1",
        confidence=100,
        rice_effort="0.5",
        wsjf=(8, 8, 5, 2),
        effort_weeks="2",
        users=150,
        hours_saved="0",
        chain="AE team -> analysts",
        requesters=("finance",),
        evidence="https://wiki.example.com/ae/legacy-sales-readers",
    ),
    DemoItem(
        "Interview the 20 heaviest legacy sales users",
        "Legacy pipeline retirement",
        S.IN_PROGRESS,
        0,
        0,
        "Learn the real purpose behind *we need the old numbers*: which figures must not "
        "change when re-aggregated, and which decisions they support.",
        reach=150,
        impact="2",
        confidence=80,
        rice_effort="1",
        wsjf=(8, 13, 8, 3),
        effort_weeks="4",
        users=150,
        chain="analysts -> finance -> leadership",
        requesters=("finance", "product-analytics"),
        depends_on=("Find every reader of the legacy nightly sales pipeline",),
        risks="Users may defend the old numbers without saying why; ask for the decision "
        "each figure feeds.",
    ),
    DemoItem(
        "Define a stable 'booked revenue' metric",
        "Legacy pipeline retirement",
        S.PLANNED,
        0,
        1,
        "Redefine the metric so it is cheap to build and does not move when late data "
        "arrives: snapshot at month close, restate only with an explicit adjustment.",
        reach=150,
        impact="3",
        confidence=80,
        rice_effort="1.5",
        wsjf=(13, 13, 8, 5),
        effort_weeks="6",
        bq_change="-250",
        users=150,
        hours_saved="40",
        chain="AE team -> finance analysts -> CFO",
        requesters=("finance",),
        depends_on=("Interview the 20 heaviest legacy sales users",),
    ),
    DemoItem(
        "Migrate legacy sales readers to the new revenue tables",
        "Legacy pipeline retirement",
        S.PLANNED,
        1,
        2,
        "Dual-run for one month close, compare figures, move dashboards and saved queries, "
        "then switch readers team by team.",
        reach=150,
        impact="2",
        confidence=80,
        rice_effort="3",
        wsjf=(13, 8, 13, 8),
        effort_weeks="12",
        bq_change="-600",
        users=150,
        hours_saved="60",
        chain="analysts -> product managers -> customers",
        requesters=("finance", "product-analytics"),
        depends_on=("Define a stable 'booked revenue' metric",),
    ),
    DemoItem(
        "Switch off the legacy nightly sales pipeline",
        "Legacy pipeline retirement",
        S.PROPOSED,
        3,
        3,
        "Turn off the 40 scheduled queries and drop the 12 legacy tables after 60 days "
        "with no reads.",
        reach=150,
        impact="1",
        confidence=80,
        rice_effort="0.5",
        wsjf=(5, 3, 13, 2),
        effort_weeks="2",
        bq_change="-2400",
        users=150,
        hours_saved="10",
        chain="AE team -> platform budget",
        depends_on=("Migrate legacy sales readers to the new revenue tables",),
    ),
    DemoItem(
        "Retire the legacy marketing attribution export",
        "Legacy pipeline retirement",
        S.PROPOSED,
        2,
        3,
        "Three readers left; replace with a view on the new sessions table.",
        reach=12,
        impact="0.5",
        confidence=50,
        rice_effort="1",
        wsjf=(2, 1, 5, 3),
        effort_weeks="4",
        bq_change="-320",
        users=12,
        hours_saved="4",
        requesters=("marketing",),
    ),
    DemoItem(
        "int_orders_enriched: orders joined with customers and products",
        "Intermediate tables",
        S.IN_PROGRESS,
        0,
        0,
        "The logs show orders, customers and products joined in 31% of all queries. "
        "One tested, documented table for it.",
        reach=400,
        impact="2",
        confidence=100,
        rice_effort="1",
        wsjf=(13, 8, 5, 3),
        effort_weeks="4",
        bq_change="-900",
        users=400,
        hours_saved="120",
        chain="AE team -> analysts -> product managers -> engineers and designers",
        requesters=("product-analytics", "product"),
        evidence="https://wiki.example.com/ae/top-joins-2026",
    ),
    DemoItem(
        "int_sessions: one row per user session",
        "Intermediate tables",
        S.PLANNED,
        1,
        1,
        "Sessionise raw events once instead of in every analysis.",
        reach=250,
        impact="2",
        confidence=80,
        rice_effort="2",
        wsjf=(8, 5, 5, 5),
        effort_weeks="8",
        bq_change="-1200",
        users=250,
        hours_saved="80",
        chain="analysts -> product managers -> customers",
        requesters=("product-analytics", "marketing"),
    ),
    DemoItem(
        "int_subscriptions_daily: subscription state per day",
        "Intermediate tables",
        S.PLANNED,
        1,
        2,
        "Daily snapshots of plan, seats and MRR, replacing five hand-rolled versions.",
        reach=120,
        impact="2",
        confidence=80,
        rice_effort="2",
        wsjf=(8, 5, 3, 5),
        effort_weeks="8",
        bq_change="150",
        users=120,
        hours_saved="50",
        requesters=("finance", "product"),
    ),
    DemoItem(
        "int_support_tickets: tickets joined with accounts and orders",
        "Intermediate tables",
        S.PROPOSED,
        2,
        2,
        "Support analysts rebuild this join weekly.",
        reach=60,
        impact="1",
        confidence=80,
        rice_effort="1",
        wsjf=(5, 3, 2, 3),
        effort_weeks="4",
        bq_change="-80",
        users=60,
        hours_saved="30",
        chain="support analysts -> support leads -> customers",
        requesters=("support",),
    ),
    DemoItem(
        "Document the 50 most-queried tables",
        "Intermediate tables",
        S.PLANNED,
        0,
        1,
        "Descriptions, grain, owners and example queries in dbt docs for the tables that "
        "carry 80% of queries. The survey said *SQL is too hard because the tables are "
        "complex*.",
        reach=500,
        impact="1",
        confidence=80,
        rice_effort="1.5",
        wsjf=(8, 3, 5, 5),
        effort_weeks="6",
        users=500,
        hours_saved="100",
        chain="AE team -> every analyst -> faster answers for product",
        requesters=("product-analytics", "support", "marketing"),
    ),
    DemoItem(
        "int_marketing_touchpoints",
        "Intermediate tables",
        S.PROPOSED,
        3,
        3,
        "Touchpoints per user across channels, for attribution.",
        reach=40,
        impact="1",
        confidence=50,
        rice_effort="2",
        wsjf=(5, 2, 2, 5),
        effort_weeks="8",
        bq_change="200",
        users=40,
        hours_saved="15",
        requesters=("marketing",),
    ),
    DemoItem(
        "Finance month-close dashboard",
        "Dashboards",
        S.PLANNED,
        1,
        1,
        "Booked revenue, refunds and deferred revenue at close, on the stable metric.",
        reach=30,
        impact="3",
        confidence=80,
        rice_effort="1",
        wsjf=(13, 13, 5, 3),
        effort_weeks="4",
        users=30,
        hours_saved="25",
        chain="finance analysts -> CFO -> board",
        requesters=("finance",),
        depends_on=("Define a stable 'booked revenue' metric",),
    ),
    DemoItem(
        "Product funnel dashboard on int_sessions",
        "Dashboards",
        S.PROPOSED,
        2,
        2,
        "Replace four competing funnel dashboards with one.",
        reach=200,
        impact="2",
        confidence=50,
        rice_effort="1",
        wsjf=(8, 5, 3, 3),
        effort_weeks="4",
        bq_change="-150",
        users=200,
        hours_saved="30",
        chain="product managers -> designers -> customers",
        requesters=("product",),
        depends_on=("int_sessions: one row per user session",),
    ),
    DemoItem(
        "Support SLA dashboard",
        "Dashboards",
        S.IN_PROGRESS,
        0,
        0,
        "First response and resolution times by queue and plan.",
        reach=80,
        impact="1",
        confidence=100,
        rice_effort="0.5",
        wsjf=(5, 8, 3, 2),
        effort_weeks="2",
        users=80,
        hours_saved="12",
        requesters=("support",),
    ),
    DemoItem(
        "Executive weekly KPI pack",
        "Dashboards",
        S.DONE,
        -1,
        -1,
        "Automated weekly KPI email with commentary slots.",
        reach=25,
        impact="2",
        confidence=100,
        rice_effort="1",
        wsjf=(8, 5, 2, 3),
        effort_weeks="4",
        users=25,
        hours_saved="16",
        chain="leadership",
    ),
    DemoItem(
        "Marketing spend and CAC dashboard",
        "Dashboards",
        S.PROPOSED,
        3,
        3,
        "Spend by channel joined with new customers.",
        reach=30,
        impact="1",
        confidence=50,
        rice_effort="1",
        wsjf=(5, 3, 1, 3),
        effort_weeks="4",
        users=30,
        hours_saved="8",
        requesters=("marketing",),
        depends_on=("int_marketing_touchpoints",),
    ),
    DemoItem(
        "Freshness and volume checks on the top 50 tables",
        "Data quality",
        S.PLANNED,
        0,
        0,
        "Alert when a key table is late or its row count jumps; owners on call.",
        reach=500,
        impact="1",
        confidence=80,
        rice_effort="1",
        wsjf=(8, 5, 13, 3),
        effort_weeks="4",
        bq_change="40",
        users=500,
        hours_saved="20",
        chain="AE team -> analysts -> trust in numbers",
    ),
    DemoItem(
        "Error budgets for revenue and sessions data products",
        "Data quality",
        S.PROPOSED,
        1,
        1,
        "Agree incidents allowed per quarter with finance and product; move fast inside.",
        reach=150,
        impact="1",
        confidence=50,
        rice_effort="0.5",
        wsjf=(5, 3, 8, 2),
        effort_weeks="2",
        users=150,
        requesters=("finance", "product"),
    ),
    DemoItem(
        "dbt tests on every intermediate table",
        "Data quality",
        S.IN_PROGRESS,
        0,
        1,
        "Unique, not-null and relationship tests, run in CI before merge.",
        reach=400,
        impact="1",
        confidence=100,
        rice_effort="1.5",
        wsjf=(5, 3, 13, 5),
        effort_weeks="6",
        bq_change="60",
        users=400,
        hours_saved="15",
    ),
    DemoItem(
        "Reconcile revenue tables with the ledger daily",
        "Data quality",
        S.PROPOSED,
        2,
        2,
        "A daily check that booked revenue matches the finance ledger within 0.1%.",
        reach=30,
        impact="2",
        confidence=80,
        rice_effort="1",
        wsjf=(8, 5, 8, 3),
        effort_weeks="4",
        users=30,
        hours_saved="10",
        requesters=("finance",),
    ),
    DemoItem(
        "Partition and cluster the five most expensive tables",
        "Cost and platform",
        S.PLANNED,
        0,
        0,
        "The billing export shows five tables behind 45% of analysis cost.",
        reach=300,
        impact="1",
        confidence=100,
        rice_effort="1",
        wsjf=(5, 5, 8, 3),
        effort_weeks="3",
        bq_change="-1800",
        users=300,
        hours_saved="5",
        chain="AE team -> platform budget",
        evidence="https://wiki.example.com/ae/cost-top5",
    ),
    DemoItem(
        "Attribute BigQuery cost to teams with labels",
        "Cost and platform",
        S.PLANNED,
        1,
        1,
        "Label every scheduled query and service account with `team`, so finance sees "
        "cost per team.",
        reach=20,
        impact="2",
        confidence=80,
        rice_effort="1",
        wsjf=(8, 5, 5, 3),
        effort_weeks="4",
        users=20,
        requesters=("finance",),
        team="data-platform",
    ),
    DemoItem(
        "Move scheduled queries to slot reservations",
        "Cost and platform",
        S.PROPOSED,
        2,
        3,
        "Compare on-demand and capacity pricing for the nightly batch; switch if cheaper.",
        reach=10,
        impact="1",
        confidence=50,
        rice_effort="2",
        wsjf=(3, 2, 5, 5),
        effort_weeks="6",
        bq_change="-3000",
        one_off="5000",
        users=10,
        team="data-platform",
        risks="Slot contention at month close; keep on-demand as overflow.",
    ),
    DemoItem(
        "Upgrade dbt and adopt model contracts",
        "Cost and platform",
        S.PROPOSED,
        1,
        2,
        "Contracts on the intermediate tables so breaking changes fail in CI.",
        reach=400,
        impact="0.5",
        confidence=80,
        rice_effort="1.5",
        wsjf=(3, 2, 8, 5),
        effort_weeks="6",
        users=400,
        hours_saved="10",
    ),
    DemoItem(
        "Self-serve training: SQL on the intermediate tables",
        "Intermediate tables",
        S.PROPOSED,
        2,
        2,
        "Four sessions for product managers, recorded.",
        reach=80,
        impact="1",
        confidence=80,
        rice_effort="0.5",
        wsjf=(3, 2, 2, 2),
        effort_weeks="2",
        users=80,
        hours_saved="20",
        chain="product managers -> faster decisions",
        requesters=("product",),
    ),
    DemoItem(
        "Real-time order stream",
        "Cost and platform",
        S.DROPPED,
        1,
        2,
        "Dropped at the last review: nobody needs sub-hour freshness yet.",
        reach=20,
        impact="0.5",
        confidence=50,
        rice_effort="4",
        wsjf=(2, 1, 1, 13),
        effort_weeks="16",
        bq_change="1500",
        users=20,
    ),
]


DEMO_SOURCE = "demo-billing-export"
# (name, project, label key, label value, team slug, roadmap item title); first match wins.
DEMO_RULES = [
    ("Legacy sales pipeline", "acme-legacy-sales", "", "", "ae",
     "Migrate legacy sales readers to the new revenue tables"),
    ("dbt production runs", "acme-dbt-prod", "", "", "ae",
     "dbt tests on every intermediate table"),
    ("Analytics Engineering", "", "team", "ae", "ae", None),
    ("Product Analytics", "", "team", "product-analytics", "product-analytics", None),
    ("Finance reporting", "", "team", "finance", "finance", None),
    ("Marketing", "", "team", "marketing", "marketing", None),
    ("Data Platform", "", "team", "data-platform", "data-platform",
     "Move scheduled queries to slot reservations"),
]  # fmt: skip


@dataclass(frozen=True)
class DemoResult:
    users_created: list[tuple[str, str, str]]  # username, password, role
    items_created: int
    items_total: int
    billing_rows: int = 0
    api_key: str = ""  # a new token for the finance user, shown once


def _quarter(offset: int | None, today: datetime.date) -> Quarter | None:
    if offset is None:
        return None
    current = Quarter.from_code(Quarter.code_for_date(today))
    return Quarter.objects.for_code(current.shifted(offset))


def _first_run_touches(manager) -> None:
    """On a fresh demo: a manual priority order that differs from RICE and WSJF in places
    (as a real one does), and one re-estimated item so the history shows an edit."""
    open_items = list(RoadmapItem.objects.filter(status__in=OPEN_STATUSES))
    open_items.sort(key=lambda item: (item.target_quarter.index, -(item.wsjf_score() or 0)))
    for rank, item in enumerate(open_items, start=1):
        item.rank = rank
    RoadmapItem.objects.bulk_update(open_items, ["rank"])
    item = RoadmapItem.objects.get(title="Partition and cluster the five most expensive tables")
    item.effort_weeks = Decimal("5")
    item.rice_effort_months = Decimal("1.5")
    item.description += " Re-estimated after a spike: two tables need a backfill."
    save_item(
        item=item,
        requesting_teams=item.requesting_teams.all(),
        depends_on=item.depends_on.all(),
        expected_version=item.version,
        by=manager,
    )


@transaction.atomic
def load_demo(*, today: datetime.date, billing: bool = True) -> DemoResult:
    User = get_user_model()
    users_created = []
    for username, password, first, last, role, staff in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": staff,
                "email": f"{username}@example.com",
            },
        )
        if created:
            user.set_password(password)
            user.save()
            users_created.append((username, password, role))
        user.groups.add(Group.objects.get(name=role))
    manager = User.objects.get(username="manager")

    for position, (name, colour, description) in enumerate(THEMES):
        Theme.objects.get_or_create(
            name=name, defaults={"colour": colour, "description": description, "position": position}
        )
    for name, slug, rate in TEAMS:
        Team.objects.get_or_create(
            slug=slug, defaults={"name": name, "weekly_rate": rate, "currency": "USD"}
        )
    ae = Team.objects.get(slug="ae")
    for offset, weeks in CAPACITY.items():
        TeamCapacity.objects.get_or_create(
            quarter=_quarter(offset, today), team=ae, defaults={"person_weeks": weeks}
        )

    themes = {theme.name: theme for theme in Theme.objects.all()}
    teams = {team.slug: team for team in Team.objects.all()}
    existing = set(RoadmapItem.objects.values_list("title", flat=True))
    created = 0
    for spec in ITEMS:
        if spec.title in existing:
            continue
        wsjf = spec.wsjf or (None, None, None, None)
        item = RoadmapItem(
            title=spec.title,
            description=spec.description,
            theme=themes[spec.theme],
            owner=manager,
            team=teams[spec.team],
            status=spec.status,
            start_quarter=_quarter(spec.start, today),
            target_quarter=_quarter(spec.target, today),
            reach=spec.reach,
            impact=Decimal(spec.impact) if spec.impact else None,
            confidence=spec.confidence,
            rice_effort_months=Decimal(spec.rice_effort) if spec.rice_effort else None,
            business_value=wsjf[0],
            time_criticality=wsjf[1],
            risk_reduction=wsjf[2],
            job_size=wsjf[3],
            effort_weeks=Decimal(spec.effort_weeks) if spec.effort_weeks else None,
            currency="USD",
            bq_monthly_cost_change=Decimal(spec.bq_change) if spec.bq_change else None,
            one_off_cost=Decimal(spec.one_off) if spec.one_off else None,
            users_affected=spec.users,
            hours_saved_per_month=Decimal(spec.hours_saved) if spec.hours_saved else None,
            benefit_chain=spec.chain,
            benefit_narrative=spec.narrative,
            risks=spec.risks,
            evidence_links=spec.evidence,
        )
        depends = RoadmapItem.objects.filter(title__in=spec.depends_on)
        save_item(
            item=item,
            requesting_teams=[teams[slug] for slug in spec.requesters],
            depends_on=depends,
            expected_version=None,
            by=manager,
        )
        created += 1
    if created == len(ITEMS):
        _first_run_touches(manager)
    billing_rows = _load_billing(today=today, teams=teams) if billing else 0
    api_key = ""
    if any(username == "finance" for username, _password, _role in users_created):
        _token, api_key = ApiToken.issue(user=User.objects.get(username="finance"), name="demo")
    return DemoResult(
        users_created=users_created,
        items_created=created,
        items_total=RoadmapItem.objects.count(),
        billing_rows=billing_rows,
        api_key=api_key,
    )


def _load_billing(*, today: datetime.date, teams: dict[str, Team]) -> int:
    """Twelve months of a generated billing export (up to today), imported as a real file
    would be, and the allocation rules that attribute it. Skipped once loaded."""
    if BillingSource.objects.filter(name=DEMO_SOURCE).exists():
        return 0
    first = (today.replace(day=1) - datetime.timedelta(days=330)).replace(day=1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9.jsonl.gz"
        write_export(path, generate_rows(first_month=first, months=12, hours_per_day=2,
                                         until=today))  # fmt: skip
        run = import_files(paths=[path], source_name=DEMO_SOURCE, by_name="load_demo")
    items = {item.title: item for item in RoadmapItem.objects.all()}
    for position, (name, project, key, value, team, item) in enumerate(DEMO_RULES, start=1):
        AllocationRule.objects.get_or_create(
            name=name,
            defaults={"position": position, "match_project": project, "match_label_key": key,
                      "match_label_value": value, "team": teams[team],
                      "roadmap_item": items.get(item)},
        )  # fmt: skip
    reallocate_all()
    return run.rows_read

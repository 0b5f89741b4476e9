"""The demo's evidence: the BigQuery tables each item retires or builds on (the names the
generated job history uses, `demo.job_history`) and the stakeholder interviews of the
last two quarters. Safe to run again: an item that names tables already keeps them, an
interview already recorded (same team and people) is not recorded twice, and figures
already cited are left alone."""

import datetime
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.models import Team
from roadmap.evidence.interviews import save_interview
from roadmap.evidence.tables import NoUsageEvidence, apply_usage_evidence, set_item_tables
from roadmap.models import ItemTable, ReviewPack, RoadmapItem, StakeholderInterview

PROJECT = "acme-analytics"


def _names(*tables: str) -> list[str]:
    return [f"{PROJECT}.{table}" for table in tables]


# item title -> (tables it retires, tables it builds on)
ITEM_TABLES = {
    "Find every reader of the legacy nightly sales pipeline": (
        _names("legacy_sales.daily_sales_v1", "legacy_sales.sales_by_rep"), []),
    "Interview the 20 heaviest legacy sales users": (
        _names("legacy_sales.daily_sales_v1"), []),
    "Migrate legacy sales readers to the new revenue tables": (
        _names("legacy_sales.daily_sales_v1", "legacy_sales.sales_by_rep"),
        _names("marts.fct_revenue")),
    "Switch off the legacy nightly sales pipeline": (
        _names("legacy_sales.daily_sales_v1", "legacy_sales.sales_by_rep",
               "legacy_sales.weekly_sales_summary", "legacy_sales.region_sales"), []),
    "Retire the legacy marketing attribution export": (
        _names("legacy_marketing.attribution_export"), []),
    "int_orders_enriched: orders joined with customers and products": (
        [], _names("marts.fct_orders", "marts.dim_customers", "marts.dim_products")),
    "int_sessions: one row per user session": (
        [], _names("marts.fct_sessions", "marts.dim_users")),
    "int_support_tickets: tickets joined with accounts and orders": (
        [], _names("marts.fct_tickets", "marts.dim_customers")),
    "int_subscriptions_daily: subscription state per day": (
        [], _names("marts.fct_subscriptions", "marts.dim_users")),
    "int_marketing_touchpoints": (
        [], _names("marts.fct_sessions", "marts.fct_attribution", "marts.dim_campaigns")),
}  # fmt: skip


@dataclass(frozen=True)
class DemoInterview:
    days_ago: int
    team: str  # slug
    people: str
    pain_points: tuple[str, ...]
    notes: str
    items: tuple[str, ...]  # titles


INTERVIEWS = [
    DemoInterview(
        days_ago=118,
        team="finance",
        people="Priya Raman (FP&A lead), Tom Becker (revenue accountant)",
        pain_points=(
            "Month close waits for the legacy nightly sales job; when it fails we close a day late",
            "Booked revenue for a closed month still moves when late orders arrive",
            "Board decks carry two revenue figures and we explain the gap every quarter",
        ),
        notes=(
            "Close starts on working day 2 at 08:00 and needs `daily_sales_v1` loaded by "
            "then. It was late **4 times last quarter**.\n\n"
            "What they need is not the old table but the old *numbers*: a snapshot at close "
            "that only changes through an explicit adjustment, with the adjustment visible.\n\n"
            '> "If the number moves after I signed it, I have to re-sign it." (Tom)\n\n'
            "They will dual-run one close if we give them a variance report per region."
        ),
        items=(
            "Define a stable 'booked revenue' metric",
            "Migrate legacy sales readers to the new revenue tables",
            "Finance month-close dashboard",
        ),
    ),
    DemoInterview(
        days_ago=104,
        team="product-analytics",
        people="Ravi Kumar, Aiko Sato, Jonas Weber (product analysts)",
        pain_points=(
            "Still read daily_sales_v1 for year-on-year comparisons nobody else can reproduce",
            "Not sure which of the 12 legacy tables is the source of truth",
            "Saved queries break silently when a legacy column is renamed",
        ),
        notes=(
            "Three of the twenty heaviest readers of the legacy table. Their use is YoY "
            "revenue by product line for the monthly business review.\n\n"
            "- Ravi runs the same query every morning at 09:10 and pastes it into a sheet\n"
            "- Aiko has 14 saved queries on `legacy_sales.*`\n"
            "- Nobody knew `sales_by_rep` is rebuilt from `daily_sales_v1`\n\n"
            "Agreed: they move once the new tables have two years of history."
        ),
        items=(
            "Interview the 20 heaviest legacy sales users",
            "Migrate legacy sales readers to the new revenue tables",
        ),
    ),
    DemoInterview(
        days_ago=76,
        team="product-analytics",
        people="Jonas Weber, Mei Lin (product analysts)",
        pain_points=(
            "Sessions are rebuilt from raw events in every notebook, each slightly differently",
            "Four funnel dashboards disagree on conversion",
            "A sessions query costs more than the analysis it feeds",
        ),
        notes=(
            "Jonas showed three definitions of a session in the last month's analyses "
            "(30-minute gap, calendar day, app open). Product managers pick the dashboard "
            "that shows the best number.\n\n"
            "They want **one** `int_sessions` with the 30-minute rule, documented, and the "
            "funnel dashboard rebuilt on it."
        ),
        items=(
            "int_sessions: one row per user session",
            "Product funnel dashboard on int_sessions",
            "Document the 50 most-queried tables",
        ),
    ),
    DemoInterview(
        days_ago=69,
        team="support",
        people="Maria Lopez (support operations), Ken Adams (support lead)",
        pain_points=(
            "Every Monday an analyst rebuilds the tickets-accounts-orders join by hand",
            "SLA by customer plan is not reportable today",
        ),
        notes=(
            "The Monday report takes Maria about three hours, most of it the join of "
            "`fct_tickets` with `dim_customers` and orders. Ken wants first response and "
            "resolution time by plan and queue to staff the enterprise queue.\n\n"
            "Happy to test a draft table for two weeks."
        ),
        items=(
            "int_support_tickets: tickets joined with accounts and orders",
            "Support SLA dashboard",
        ),
    ),
    DemoInterview(
        days_ago=55,
        team="marketing",
        people="Chloé Martin (marketing ops), Sam Okafor (growth analyst)",
        pain_points=(
            "Only three of us still read the attribution export, and only for CAC by channel",
            "Touchpoints across channels are stitched in a spreadsheet",
        ),
        notes=(
            "Chloé confirmed the attribution export can go once CAC by channel exists "
            "elsewhere. Sam would rather have touchpoints per user than the export's "
            "last-click column.\n\n"
            "Spend data lands in `fct_ad_spend` already; the gap is new customers by "
            "first touch."
        ),
        items=(
            "Retire the legacy marketing attribution export",
            "int_marketing_touchpoints",
            "Marketing spend and CAC dashboard",
        ),
    ),
    DemoInterview(
        days_ago=41,
        team="product",
        people="Lena Fischer (PM, billing), Omar Haddad (PM, checkout)",
        pain_points=(
            "Five hand-rolled versions of subscription state, each with its own MRR",
            "Checkout experiments cannot be joined to orders without help from AE",
        ),
        notes=(
            "Lena listed the five places MRR is computed. Omar wants orders with customer and "
            "product attributes in one table so PMs can answer checkout questions alone."
        ),
        items=(
            "int_subscriptions_daily: subscription state per day",
            "int_orders_enriched: orders joined with customers and products",
        ),
    ),
    DemoInterview(
        days_ago=27,
        team="finance",
        people="Dev Patel (controller)",
        pain_points=(
            "Sales commissions are paid from legacy_sales.sales_by_rep",
            "Any change to rep attribution needs sign-off from sales ops",
        ),
        notes=(
            "A reader nobody had listed: commissions. `sales_by_rep` must keep its figures "
            "for the current commission year, or be replaced with a table sales ops signs "
            "off.\n\n"
            "**Risk for the switch-off date**: the commission year ends in January."
        ),
        items=(
            "Migrate legacy sales readers to the new revenue tables",
            "Switch off the legacy nightly sales pipeline",
        ),
    ),
    DemoInterview(
        days_ago=12,
        team="data-platform",
        people="Olga Ivanova (platform lead)",
        pain_points=(
            "The 40 scheduled legacy queries compete for slots with dbt at 06:00",
            "daily_sales_v1 is unpartitioned: every read scans the whole table",
        ),
        notes=(
            "Olga sees the legacy pipeline in the slot graphs every morning. Switching it "
            "off frees the 06:00 window for the dbt run; until then she asks that new "
            "readers of `daily_sales_v1` be discouraged."
        ),
        items=(
            "Switch off the legacy nightly sales pipeline",
            "Partition and cluster the five most expensive tables",
        ),
    ),
]


@dataclass(frozen=True)
class EvidenceResult:
    items_linked: int
    interviews_created: int
    items_cited: int  # items whose usage figures were put into their evidence


def _recorded_at(day: datetime.date) -> datetime.datetime:
    """Written up the afternoon of the interview (never in the future)."""
    at = timezone.make_aware(datetime.datetime.combine(day, datetime.time(16, 30)))
    return min(at, timezone.now())


@transaction.atomic
def load_evidence(*, today: datetime.date) -> EvidenceResult:
    """Link the demo items to their tables, record the interviews, and cite the usage
    figures of items that have none yet, if the job history covers the last 90 days."""
    items = {item.title: item for item in RoadmapItem.objects.all()}
    manager = get_user_model().objects.filter(username="manager").first()

    linked = 0
    named = set(ItemTable.objects.values_list("item_id", flat=True).distinct())
    for title, (retire, build_on) in ITEM_TABLES.items():
        item = items.get(title)
        if item is None or item.pk in named:
            continue
        set_item_tables(item=item, retire=retire, build_on=build_on)
        linked += 1

    teams = {team.slug: team for team in Team.objects.all()}
    # A pack already built must read the same when rebuilt for its moment: no interview is
    # backdated to before it.
    packed = ReviewPack.objects.aggregate(last=Max("data_as_of"))["last"]
    created = 0
    for spec in INTERVIEWS:
        team = teams.get(spec.team)
        if (
            team is None
            or StakeholderInterview.objects.filter(team=team, people=spec.people).exists()
        ):
            continue
        day = today - datetime.timedelta(days=spec.days_ago)
        interview = save_interview(
            interview=StakeholderInterview(
                date=day,
                team=team,
                people=spec.people,
                pain_points="\n".join(spec.pain_points),
                notes=spec.notes,
            ),
            items=[items[title] for title in spec.items if title in items],
            by=manager,
        )
        # Recorded when it happened, as a review pack built for an earlier moment sees it.
        recorded = _recorded_at(day)
        if packed is None or recorded > packed:
            StakeholderInterview.objects.filter(pk=interview.pk).update(created_at=recorded)
            StakeholderInterview.history.filter(id=interview.pk).update(history_date=recorded)
        created += 1

    cited = 0
    for title in ITEM_TABLES:
        item = items.get(title)
        if item is None:
            continue
        item.refresh_from_db(fields=["usage_evidence"])
        if item.usage_evidence:
            continue
        try:
            apply_usage_evidence(item=item, by=manager, today=today)
        except NoUsageEvidence:
            continue  # no job history loaded (yet): the item page shows how to get it
        cited += 1
    return EvidenceResult(items_linked=linked, interviews_created=created, items_cited=cited)

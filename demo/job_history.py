"""A realistic, reproducible BigQuery job history (INFORMATION_SCHEMA.JOBS), for the demo,
the benchmarks and tests.

One project, `acme-analytics`, and a data team's habits in it:
- about 400 tables in six datasets, of which about 50 (the marts people query, a legacy
  sales table, a few finance tables) carry most of the reads;
- `legacy_sales.daily_sales_v1`, a wide unpartitioned table that about 150 people read
  every weekday (and a service account exports every hour): the table to retire;
- three pairs of tables joined all the time, and one triple: the candidates for an
  intermediate table (`JOINED_PAIRS`, `JOINED_TRIPLE`);
- about 300 people in the demo's teams (and a few nobody mapped), and ten service
  accounts: dbt (models, incremental models as SCRIPTs with child jobs, tests), Looker
  (dashboards, mostly cache hits), Airflow and Fivetran (LOAD, COPY, EXTRACT and MERGE
  jobs), a data-quality monitor running on a reservation, and a few more;
- about one query in five answered from the cache (no tables referenced, nothing billed),
  a few `SELECT 1`, a few errors, some columns the importer does not know.

Rows are shaped as an export of JOBS gives them: INT64 values as strings, timestamps in
either of the two forms BigQuery writes ("2026-11-01 12:03:07.123456 UTC" and RFC 3339),
null columns sometimes written as null and sometimes left out. Each UTC day is generated
from its own seeded random stream, so a day's jobs (and their ids) are the same whatever
range they are generated in: re-importing an overlapping range adds nothing.
"""

# ruff: noqa: S608 - the SQL here is text for the generated rows, never executed

import datetime
import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path

PROJECT = "acme-analytics"
PROJECT_NUMBER = "418273645091"
DOMAIN = "acme.example"
SA_DOMAIN = f"{PROJECT}.iam.gserviceaccount.com"
RESERVATION = "acme-admin:US.prod"

LEGACY_TABLE = "legacy_sales.daily_sales_v1"
JOINED_PAIRS = [
    ("marts.fct_orders", "marts.dim_customers"),
    ("marts.fct_sessions", "marts.dim_users"),
    ("marts.fct_tickets", "marts.dim_customers"),
]
JOINED_TRIPLE = ("marts.fct_orders", "marts.dim_customers", "marts.dim_products")

TEAM_SLUGS = [
    "ae", "data-platform", "product-analytics", "finance", "support", "marketing", "product",
]  # fmt: skip
WEEKEND_SHARE = 0.35  # a weekend day has this share of a weekday's jobs
GIB = 2**30
MIB = 2**20

# --- The tables ---------------------------------------------------------------------------

_RAW_SOURCES = {
    "app_db": ["users", "accounts", "events", "sessions", "feature_flags", "subscriptions",
               "plans", "orders", "order_items", "payments", "products", "addresses",
               "invitations", "workspaces", "audit_log", "api_keys"],
    "salesforce": ["account", "opportunity", "contact", "lead", "user", "campaign", "task",
                   "event", "opportunity_history", "quote"],
    "stripe": ["charge", "customer", "invoice", "invoice_line_item", "subscription", "refund",
               "payout", "balance_transaction", "plan", "product", "price", "dispute"],
    "zendesk": ["ticket", "ticket_comment", "user", "organization", "satisfaction_rating",
                "group", "ticket_field_history", "sla_policy"],
    "segment": ["tracks", "pages", "identifies", "screens", "users", "groups"],
    "shopify": ["orders", "order_lines", "customers", "products", "variants", "refunds",
                "fulfillments", "inventory_levels"],
    "netsuite": ["gl_entries", "accounts", "subsidiaries", "vendors", "bills", "invoices",
                 "payments", "departments", "classes", "currencies"],
    "hubspot": ["contacts", "companies", "deals", "email_events", "forms", "owners"],
    "google_ads": ["campaigns", "ad_groups", "ads", "ad_stats", "keywords"],
    "facebook_ads": ["campaigns", "ads", "insights", "ad_sets"],
    "intercom": ["conversations", "contacts", "admins", "conversation_parts"],
    "jira": ["issues", "sprints", "projects", "worklogs"],
    "workday": ["workers", "positions", "organizations"],
    "greenhouse": ["applications", "candidates", "jobs"],
    "gcs_exports": ["partner_feed", "affiliate_clicks", "fx_rates", "holidays"],
    "braze": ["campaigns", "canvas_steps", "email_sends", "push_sends"],
    "mixpanel": ["events", "people"],
    "github": ["pull_requests", "issues", "commits"],
    "okta": ["users", "groups", "system_log"],
    "gong": ["calls", "participants"],
    "twilio": ["messages", "calls"],
    "snowplow": ["events", "sessions"],
    "linkedin_ads": ["campaigns", "ad_stats"],
}  # fmt: skip
_MARTS = [
    "fct_orders", "dim_customers", "fct_sessions", "dim_users", "fct_subscriptions",
    "fct_tickets", "fct_revenue", "dim_products", "fct_order_items", "fct_payments",
    "fct_refunds", "fct_events", "fct_pageviews", "dim_accounts", "dim_workspaces", "fct_signups",
    "fct_trials", "fct_churn", "fct_mrr", "fct_arr", "dim_plans", "fct_invoices",
    "fct_campaign_performance", "dim_campaigns", "fct_ad_spend", "fct_attribution", "fct_leads",
    "fct_opportunities", "dim_sales_reps", "fct_quota_attainment", "fct_ticket_satisfaction",
    "fct_support_sla", "dim_agents", "fct_feature_usage", "fct_daily_active_users",
    "fct_weekly_active_users", "fct_retention_cohorts", "fct_funnel_steps", "dim_dates",
    "dim_geography", "dim_channels", "fct_inventory", "fct_shipments", "fct_returns",
    "fct_nps_responses", "fct_experiments", "dim_experiments", "fct_emails_sent",
    "fct_email_engagement", "fct_conversations", "fct_usage_billing", "fct_credits",
    "fct_discounts", "dim_coupons", "fct_partner_referrals", "dim_partners", "fct_web_vitals",
    "fct_app_installs", "fct_push_notifications", "fct_search_queries", "fct_recommendations",
    "fct_cart_events", "fct_checkout_events", "fct_fraud_flags", "fct_chargebacks", "fct_payouts",
    "fct_tax", "dim_currencies", "fct_fx_rates", "int_customer_ltv",
]  # fmt: skip
_LEGACY_SALES = [
    "daily_sales_v1", "sales_by_rep", "daily_sales_v0", "weekly_sales_summary",
    "monthly_sales_rollup", "sales_targets_2023", "sales_targets_2024", "region_sales",
    "store_sales_daily", "sales_pipeline_snapshot", "rep_commissions", "product_sales_v1",
    "top_customers_v1", "sales_forecast_v2", "returns_by_region", "discount_usage_v1",
    "channel_sales_daily", "sales_kpis_exec", "quarterly_bookings", "territory_mapping",
    "rep_hierarchy", "customer_sales_history", "order_facts_legacy", "sales_dashboard_feed",
    "sales_export_tmp",
]  # fmt: skip
_LEGACY_MARKETING = [
    "attribution_export", "campaign_spend_v1", "lead_scoring_v2", "email_performance_legacy",
    "web_traffic_daily", "utm_mapping", "mql_funnel_v1", "sql_funnel_v1", "campaign_roi_2023",
    "social_metrics", "seo_rankings", "ad_clicks_raw_v1", "landing_page_stats",
    "newsletter_signups", "event_leads", "webinar_attendance", "partner_leads_v1",
    "marketing_calendar", "brand_survey_2023", "attribution_touchpoints",
]  # fmt: skip
_FINANCE = [
    "gl_entries", "gl_accounts", "revenue_recognition", "deferred_revenue", "ar_aging",
    "ap_aging", "invoices", "payments_received", "vendor_bills", "budget_2026",
    "budget_vs_actuals", "forecast_monthly", "headcount_plan", "payroll_summary",
    "opex_by_department", "cloud_costs", "cash_flow", "bank_transactions", "fx_rates_daily",
    "tax_provisions", "board_metrics", "saas_metrics_monthly", "arr_bridge", "bookings",
    "billings", "collections", "credit_memos", "journal_entries", "cost_centers", "departments",
    "legal_entities", "intercompany", "capex", "depreciation_schedule", "prepaid_expenses",
    "accruals", "close_checklist", "audit_samples", "commissions_payable", "unit_economics",
]  # fmt: skip

# The tables people query, most popular first (a Zipf-like weight by rank).
HOT_TABLES = [
    "legacy_sales.daily_sales_v1", "marts.fct_orders", "marts.dim_customers",
    "marts.fct_sessions", "marts.dim_users", "marts.fct_subscriptions", "marts.fct_tickets",
    "marts.fct_revenue", "marts.dim_products", "legacy_sales.sales_by_rep",
    "marts.fct_order_items", "marts.fct_events", "marts.fct_payments",
    "finance.revenue_recognition", "marts.fct_mrr", "marts.fct_daily_active_users",
    "marts.dim_accounts", "finance.budget_vs_actuals", "marts.fct_campaign_performance",
    "marts.dim_dates", "marts.fct_signups", "marts.fct_churn", "finance.gl_entries",
    "marts.fct_refunds", "legacy_sales.weekly_sales_summary", "marts.fct_pageviews",
    "marts.fct_ticket_satisfaction", "marts.fct_retention_cohorts", "marts.fct_funnel_steps",
    "finance.arr_bridge", "marts.fct_invoices", "marts.dim_plans", "marts.fct_leads",
    "marts.fct_opportunities", "legacy_sales.region_sales", "marts.fct_feature_usage",
    "marts.dim_campaigns", "marts.fct_ad_spend", "finance.saas_metrics_monthly",
    "marts.fct_support_sla", "marts.dim_agents", "marts.fct_nps_responses",
    "marts.fct_experiments", "finance.board_metrics", "marts.fct_attribution",
    "legacy_marketing.campaign_spend_v1", "marts.fct_weekly_active_users", "marts.dim_geography",
]  # fmt: skip
# Tables a team reads more than others do (weight x 4 for its people).
TEAM_TABLES = {
    "support": ["marts.fct_tickets", "marts.dim_customers", "marts.fct_ticket_satisfaction",
                "marts.fct_support_sla", "marts.dim_agents", "marts.fct_conversations"],
    "marketing": ["marts.fct_sessions", "marts.dim_users", "marts.fct_campaign_performance",
                  "marts.dim_campaigns", "marts.fct_ad_spend", "marts.fct_attribution",
                  "legacy_marketing.campaign_spend_v1", "marts.fct_leads",
                  "marts.fct_email_engagement"],
    "finance": ["marts.fct_revenue", "marts.fct_orders", "marts.dim_customers",
                "finance.revenue_recognition", "finance.budget_vs_actuals", "finance.gl_entries",
                "finance.arr_bridge", "finance.saas_metrics_monthly", "finance.board_metrics",
                "marts.fct_invoices", "marts.fct_mrr", "legacy_sales.sales_by_rep"],
    "product": ["marts.fct_sessions", "marts.dim_users", "marts.fct_subscriptions",
                "marts.fct_events", "marts.fct_feature_usage", "marts.fct_daily_active_users",
                "marts.fct_experiments", "marts.fct_funnel_steps"],
    "product-analytics": ["marts.fct_sessions", "marts.dim_users", "marts.fct_events",
                          "marts.fct_retention_cohorts", "marts.fct_funnel_steps",
                          "marts.fct_experiments", "marts.fct_orders", "marts.fct_signups"],
    "ae": ["marts.fct_orders", "marts.dim_customers", "marts.fct_subscriptions",
           "marts.fct_revenue", "marts.dim_products"],
    "data-platform": ["marts.fct_events", "marts.fct_pageviews"],
}  # fmt: skip
# Which of the three pairs a team joins (weights), and how often it reads the legacy table.
TEAM_PAIRS = {
    "support": (1, 1, 8), "marketing": (2, 6, 1), "finance": (8, 1, 1), "product": (2, 7, 1),
    "product-analytics": (4, 5, 2), "ae": (5, 3, 2), "data-platform": (3, 3, 1), "": (4, 3, 3),
}  # fmt: skip
TEAM_LEGACY = {
    "support": 0.85, "finance": 0.8, "marketing": 0.7, "product": 0.6, "product-analytics": 0.5,
    "ae": 0.3, "data-platform": 0.1, "": 0.6,
}  # fmt: skip


@dataclass(frozen=True)
class Table:
    dataset: str
    name: str
    size: int  # bytes
    partitioned: bool

    @property
    def key(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def ref(self) -> dict:
        return {"project_id": PROJECT, "dataset_id": self.dataset, "table_id": self.name}

    @property
    def sql(self) -> str:
        return f"`{PROJECT}.{self.dataset}.{self.name}`"


def _size(rng: random.Random, low_gib: float, high_gib: float) -> int:
    return int(GIB * low_gib * (high_gib / low_gib) ** rng.random())


@cache
def all_tables() -> dict[str, Table]:
    """Every table of the project, keyed "dataset.table" (about 400)."""
    rng = random.Random("acme-tables")  # noqa: S311 - reproducible data, not secrets
    tables: dict[str, Table] = {}

    def add(dataset: str, name: str, size: int, partitioned: bool) -> None:
        tables[f"{dataset}.{name}"] = Table(dataset, name, size, partitioned)

    sources = [(source, entity) for source, entities in _RAW_SOURCES.items() for entity in entities]
    for source, entity in sources:
        add("raw", f"{source}_{entity}", _size(rng, 0.5, 900), rng.random() < 0.7)
    for source, entity in sources:
        add("staging", f"stg_{source}__{entity}", _size(rng, 0.2, 400), rng.random() < 0.6)
    for name in _MARTS:
        if name.startswith("dim_"):
            add("marts", name, _size(rng, 0.5, 25), False)
        else:
            add("marts", name, _size(rng, 40, 2500), True)
    for name in _LEGACY_SALES:
        add("legacy_sales", name, _size(rng, 2, 80), False)
    # The legacy table is wide and unpartitioned: every SELECT * reads all of it.
    add("legacy_sales", "daily_sales_v1", 60 * GIB, False)
    for name in _LEGACY_MARKETING:
        add("legacy_marketing", name, _size(rng, 0.5, 40), False)
    for name in _FINANCE:
        add("finance", name, _size(rng, 0.1, 60), rng.random() < 0.3)
    return tables


# --- The people ---------------------------------------------------------------------------

_FIRST = [
    "ada", "alex", "amara", "ana", "ben", "bilal", "carla", "chen", "chloe", "dan", "dana",
    "diego", "elena", "emma", "eric", "fatima", "felix", "gina", "grace", "hana", "hugo", "ines",
    "ivan", "jade", "james", "jin", "julia", "kai", "karim", "kate", "leo", "lina", "lucas",
    "maya", "mei", "mia", "nadia", "nina", "noah", "omar", "oscar", "paula", "priya", "raj",
    "rosa", "sam", "sara", "sofia", "tariq", "tom", "uma", "vera", "wei", "yara", "yusuf", "zoe",
]  # fmt: skip
_LAST = [
    "adams", "ahmed", "alvarez", "baker", "bauer", "chen", "costa", "diaz", "dubois", "evans",
    "fischer", "garcia", "gupta", "hansen", "hughes", "ito", "jensen", "khan", "kim", "kowalski",
    "larsen", "lee", "lopez", "martin", "meyer", "moreau", "murphy", "nakamura", "nguyen",
    "novak", "okafor", "olsen", "park", "patel", "rossi", "santos", "schmidt", "silva", "singh",
    "smith", "suzuki", "tanaka", "taylor", "walsh", "wang", "weber", "yamamoto", "young",
]  # fmt: skip
# People per team; "" is people nobody mapped to a team (contractors, leavers).
_TEAM_SIZES = {
    "ae": 12, "data-platform": 10, "product-analytics": 34, "finance": 45, "support": 70,
    "marketing": 56, "product": 50, "": 23,
}  # fmt: skip
# How many jobs a person of the team runs on an active day, relative to others.
_TEAM_ACTIVITY = {
    "ae": 4.0, "data-platform": 3.0, "product-analytics": 3.5, "finance": 1.2, "support": 0.6,
    "marketing": 1.0, "product": 1.0, "": 0.8,
}  # fmt: skip


@dataclass
class Person:
    email: str
    team: str
    activity: float
    legacy_reader: bool
    favourites: list[str] = field(default_factory=list)


@cache
def people() -> list[Person]:
    """About 300 people, the same every time."""
    rng = random.Random("acme-people")  # noqa: S311
    names = [(first, last) for first in _FIRST for last in _LAST]
    rng.shuffle(names)
    found, n = [], 0
    for team, size in _TEAM_SIZES.items():
        weights = _team_weights(team)
        for _ in range(size):
            first, last = names[n]
            n += 1
            favourites: list[str] = []
            while len(favourites) < 6:
                pick = rng.choices(HOT_TABLES, cum_weights=weights)[0]
                if pick not in favourites and pick != LEGACY_TABLE:
                    favourites.append(pick)
            found.append(
                Person(
                    email=f"{first}.{last}@{DOMAIN}",
                    team=team,
                    activity=_TEAM_ACTIVITY[team] * rng.lognormvariate(0, 0.6),
                    legacy_reader=rng.random() < TEAM_LEGACY[team],
                    favourites=favourites,
                )
            )
    return found


@cache
def _team_weights(team: str) -> list[float]:
    """Cumulative weights over HOT_TABLES for a team's people: Zipf by rank, the team's
    own tables four times as likely."""
    mine = set(TEAM_TABLES.get(team, []))
    weights = [
        (4.0 if key in mine else 1.0) / (rank + 1) ** 0.9 for rank, key in enumerate(HOT_TABLES)
    ]
    return list(accumulate(weights))


# Service accounts: name, and the team that owns it ("" = nobody, as often happens).
SERVICE_ACCOUNTS = [
    ("dbt-prod", "ae"), ("dbt-ci", "ae"), ("looker", "product-analytics"),
    ("airflow", "data-platform"), ("fivetran", "data-platform"),
    ("hex-scheduler", "product-analytics"), ("data-quality", "data-platform"),
    ("legacy-sales-export", ""), ("hightouch", "marketing"), ("sheets-sync", ""),
]  # fmt: skip


def service_account(name: str) -> str:
    return f"{name}@{SA_DOMAIN}"


def demo_team_members() -> list[tuple[str, str]]:
    """(email, team slug) of every person and service account the demo maps to a team."""
    mapped = [(person.email, person.team) for person in people() if person.team]
    mapped += [(service_account(name), team) for name, team in SERVICE_ACCOUNTS if team]
    return mapped


# --- The jobs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Day:
    day: datetime.date
    rng: random.Random
    weekday: bool
    budget: int  # jobs (rows) to write this day
    bytes_scale: float = 1.0


def _weekday_budget(jobs_per_day: int) -> float:
    return jobs_per_day * 7 / (5 + 2 * WEEKEND_SHARE)


class _DayWriter:
    """Builds one day's rows; `rows` holds (creation time, row) until sorted."""

    def __init__(self, day: _Day) -> None:
        self.day = day
        self.rng = day.rng
        self.rows: list[tuple[datetime.datetime, dict]] = []
        self.tables = all_tables()
        midnight = datetime.datetime.combine(day.day, datetime.time(0), datetime.UTC)
        self.midnight = midnight

    # -- helpers --

    def at(self, hour: float) -> datetime.datetime:
        seconds = max(0.0, min(hour * 3600, 86399.0))
        return self.midnight + datetime.timedelta(
            seconds=int(seconds), microseconds=self.rng.randrange(1_000_000)
        )

    def office_hour(self) -> float:
        """A moment of the (US) working day, in UTC hours."""
        return self.rng.choices(_HOURS, cum_weights=_OFFICE)[0] + self.rng.random()

    def job_id(self, kind: str) -> str:
        bits = self.rng.getrandbits
        if kind == "console":
            return f"bquxjob_{bits(32):08x}_{bits(44):011x}"
        if kind == "looker":
            return "job_" + "".join(self.rng.choices(_B64, k=28))
        if kind == "uuid":
            value = f"{bits(128):032x}"
            return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"
        return f"{kind}_{bits(64):016x}{bits(64):016x}"

    def scan(self, tables: list[Table], *, full: bool = False) -> tuple[int, int]:
        """Bytes processed and billed for reading these tables: a share of each (pruned
        partitions and columns), billed per table rounded up to a MiB, at least 10 MiB."""
        processed = billed = 0
        for table in tables:
            if full:
                share = 0.92 + 0.08 * self.rng.random()
            elif table.partitioned:
                share = 0.003 * 100 ** self.rng.random()
            else:
                share = 0.02 * 25 ** self.rng.random()
            read = int(table.size * share * self.day.bytes_scale)
            processed += read
            billed += max(-(-read // MIB) * MIB, 10 * MIB)
        return processed, billed

    def add(
        self,
        *,
        when: datetime.datetime,
        user: str,
        job_id: str,
        query: str | None,
        tables: list[Table],
        job_type: str = "QUERY",
        statement: str | None = "SELECT",
        processed: int | None = None,
        billed: int | None = None,
        slot_ms: int | None = None,
        cache_hit: bool = False,
        destination: dict | None = None,
        labels: dict[str, str] | None = None,
        reservation: str | None = None,
        parent: str | None = None,
        error: dict | None = None,
        priority: str = "INTERACTIVE",
        extra: dict | None = None,
    ) -> dict:
        rng = self.rng
        if processed is None and job_type == "QUERY":
            processed, billed = self.scan(tables) if tables else (0, 0)
        if slot_ms is None:
            moved = processed if processed is not None else rng.randrange(10**9)
            slot_ms = 0 if cache_hit else int(moved / MIB * (0.5 + 6 * rng.random())) + 15
        started = when + datetime.timedelta(milliseconds=rng.randrange(20, 1500))
        ended = started + datetime.timedelta(
            milliseconds=80 + slot_ms // rng.randrange(20, 400) if not cache_hit else 40
        )
        is_service = user.endswith(SA_DOMAIN)
        row = {
            "creation_time": when,
            "start_time": started,
            "end_time": ended,
            "project_id": PROJECT,
            "project_number": PROJECT_NUMBER,
            "user_email": user,
            "principal_subject": ("serviceAccount:" if is_service else "user:") + user,
            "job_id": job_id,
            "job_type": job_type,
            "statement_type": statement,
            "priority": priority,
            "state": "DONE",
            "query": query,
            "total_bytes_processed": None if processed is None else str(processed),
            "total_bytes_billed": None if billed is None else str(billed),
            "total_slot_ms": str(slot_ms),
            "cache_hit": cache_hit if job_type == "QUERY" else None,
            "referenced_tables": [table.ref for table in tables],
            "destination_table": destination,
            "labels": [{"key": key, "value": value} for key, value in (labels or {}).items()],
            "reservation_id": reservation,
            "parent_job_id": parent,
            "error_result": error,
        }
        if extra:
            row.update(extra)
        self.rows.append((when, row))
        return row

    def anonymous_destination(self, user: str) -> dict:
        """Where a SELECT's result goes: a hidden dataset of the user, a table per job."""
        return {
            "project_id": PROJECT,
            "dataset_id": _anonymous_dataset(user),
            "table_id": f"anon{self.rng.getrandbits(128):032x}",
        }

    # -- the people --

    def person_jobs(self, budget: int) -> None:
        rng = self.rng
        active_share = 0.92 if self.day.weekday else 0.07
        active = [person for person in people() if rng.random() < active_share]
        if len(active) > budget:
            active = rng.sample(active, budget)
        if not active:
            return
        counts = dict.fromkeys(range(len(active)), 1)
        weights = list(accumulate(person.activity for person in active))
        for n in rng.choices(range(len(active)), cum_weights=weights, k=budget - len(active)):
            counts[n] += 1
        for n, count in counts.items():
            person = active[n]
            moments = sorted(self.office_hour() for _ in range(count))
            history: list[str] = []
            reads_legacy = person.legacy_reader and rng.random() < 0.8
            for index, hour in enumerate(moments):
                first = index == 0
                self.person_job(
                    person,
                    self.at(hour),
                    history,
                    legacy=reads_legacy and (first or rng.random() < 0.22),
                )

    def person_job(
        self, person: Person, when: datetime.datetime, history: list[str], *, legacy: bool
    ) -> None:
        rng, user = self.rng, person.email
        tables = self.tables
        job = self.job_id("console")
        if legacy:
            region = _REGIONS[len(user) % len(_REGIONS)]
            query = _LEGACY_QUERIES[rng.randrange(len(_LEGACY_QUERIES))].format(
                table=tables[LEGACY_TABLE].sql, region=region
            )
            processed, billed = self.scan([tables[LEGACY_TABLE]], full=True)
            history.append(query)
            self.add(
                when=when,
                user=user,
                job_id=job,
                query=query,
                tables=[tables[LEGACY_TABLE]],
                processed=processed,
                billed=billed,
                destination=self.anonymous_destination(user),
            )
            return
        roll = rng.random()
        if history and roll < 0.24:  # the same query again, answered from the cache
            self.add(
                when=when,
                user=user,
                job_id=job,
                query=rng.choice(history),
                tables=[],
                processed=0,
                billed=0,
                cache_hit=True,
                destination=self.anonymous_destination(user),
            )
            return
        roll = rng.random()
        if roll < 0.02:
            query = rng.choice(_NO_TABLE_QUERIES)
            self.add(
                when=when,
                user=user,
                job_id=job,
                query=query,
                tables=[],
                processed=0,
                billed=0,
                destination=self.anonymous_destination(user),
            )
            return
        if roll < 0.035:
            self.error_job(user, when, job)
            return
        if roll < 0.24:
            pair = rng.choices(JOINED_PAIRS, weights=TEAM_PAIRS[person.team])[0]
            picked = [tables[key] for key in pair]
        elif roll < 0.265:
            picked = [tables[key] for key in JOINED_TRIPLE]
        elif roll < 0.33:
            weights = _team_weights(person.team)
            keys = {
                rng.choices(HOT_TABLES, cum_weights=weights)[0]
                for _ in range(rng.choice((2, 2, 3)))
            }
            picked = [tables[key] for key in sorted(keys)]
        elif roll < 0.38:
            picked = [rng.choice(_tail_tables())]
        elif person.team == "finance" and roll < 0.42:
            picked = [tables["legacy_sales.sales_by_rep"]]
        elif roll < 0.75:
            picked = [tables[rng.choice(person.favourites)]]
        else:
            weights = _team_weights(person.team)
            pick = rng.choices(HOT_TABLES, cum_weights=weights)[0]
            picked = [tables[pick if pick != LEGACY_TABLE else person.favourites[0]]]
        query = _select(picked, variant=rng.randrange(4))
        history.append(query)
        self.add(
            when=when,
            user=user,
            job_id=job,
            query=query,
            tables=picked,
            destination=self.anonymous_destination(user),
            extra=_stages(rng) if rng.random() < 0.1 else None,
        )

    def error_job(self, user: str, when: datetime.datetime, job: str) -> None:
        rng = self.rng
        reason, message = rng.choice(_ERRORS)
        table = self.tables[rng.choice(HOT_TABLES[1:20])]
        tables = [table] if reason in ("resourcesExceeded", "accessDenied") else []
        processed, billed = self.scan(tables) if reason == "resourcesExceeded" else (0, 0)
        self.add(
            when=when,
            user=user,
            job_id=job,
            query=_select([table], variant=9),
            tables=tables,
            processed=processed,
            billed=billed,
            error={
                "reason": reason,
                "location": "query" if reason == "invalidQuery" else "",
                "message": message.format(table=table.key),
            },
            extra={"errors": [{"reason": reason, "message": message.format(table=table.key)}]},
        )

    def attribution_readers(self) -> None:
        """The three people who still read the legacy attribution export, now and then."""
        marketing = [person for person in people() if person.team == "marketing"][:3]
        table = self.tables["legacy_marketing.attribution_export"]
        for person in marketing:
            if self.day.weekday and self.rng.random() < 0.35:
                query = f"SELECT channel, SUM(conversions) FROM {table.sql} GROUP BY 1"
                self.add(
                    when=self.at(self.office_hour()),
                    user=person.email,
                    job_id=self.job_id("console"),
                    query=query,
                    tables=[table],
                    destination=self.anonymous_destination(person.email),
                )

    # -- the service accounts --

    def looker_jobs(self, budget: int) -> None:
        rng, user = self.rng, service_account("looker")
        history: list[str] = []
        for _ in range(budget):
            when = self.at(self.office_hour() if rng.random() < 0.8 else rng.random() * 24)
            job = self.job_id("looker")
            roll = rng.random()
            if roll < 0.4 and history:
                self.add(
                    when=when,
                    user=user,
                    job_id=job,
                    query=rng.choice(history),
                    tables=[],
                    processed=0,
                    billed=0,
                    cache_hit=True,
                    destination=self.anonymous_destination(user),
                )
                continue
            if roll < 0.42:
                self.add(
                    when=when,
                    user=user,
                    job_id=job,
                    query="SELECT 1",
                    tables=[],
                    processed=0,
                    billed=0,
                )
                continue
            keys = rng.choices(_DASHBOARD_TILES, cum_weights=_DASHBOARD_WEIGHTS)[0]
            picked = [self.tables[key] for key in keys]
            query = f"-- Looker Query Context '{{\"user_id\":{rng.randrange(1, 60)}}}'\n"
            query += _select(picked, variant=rng.randrange(3))
            history.append(query)
            self.add(
                when=when,
                user=user,
                job_id=job,
                query=query,
                tables=picked,
                destination=self.anonymous_destination(user),
            )

    def dbt_jobs(self, budget: int) -> None:
        """dbt-prod builds a slice of its models each day (a CREATE TABLE per model;
        incremental models as a SCRIPT of three child jobs)."""
        rng, user = self.rng, service_account("dbt-prod")
        models = _dbt_models()
        start = self.day.day.toordinal() * 37 % len(models)
        written, n = 0, 0
        when = self.at(6 + rng.random() * 0.2)
        invocation = self.job_id("uuid")
        while written < budget and n < len(models):
            name, upstream, incremental = models[(start + n) % len(models)]
            n += 1
            target = self.tables[name]
            sources = [self.tables[key] for key in upstream]
            labels = {
                "dbt_model": target.name,
                "dbt_target": "prod",
                "dbt_invocation_id": invocation,
            }
            when += datetime.timedelta(seconds=rng.randrange(2, 40))
            if not incremental or budget - written < 4:
                query = f"create or replace table {target.sql} as (\n" + _select(sources, 0) + ")"
                self.add(
                    when=when,
                    user=user,
                    job_id=self.job_id("uuid"),
                    query=query,
                    tables=sources,
                    statement="CREATE_TABLE_AS_SELECT",
                    destination=target.ref,
                    labels=labels,
                    priority="BATCH",
                )
                written += 1
                continue
            parent_id = self.job_id("uuid")
            script_tag = f"{rng.getrandbits(128):032x}"
            temp = f"`{target.name}__dbt_tmp`"
            steps = [
                (
                    "CREATE_TABLE_AS_SELECT",
                    f"create temp table {temp} as (\n" + _select(sources, 1) + ")",
                    sources,
                ),
                (
                    "MERGE",
                    f"merge into {target.sql} as DBT_INTERNAL_DEST using {temp} on "
                    "DBT_INTERNAL_DEST.id = DBT_INTERNAL_SOURCE.id when matched then update "
                    "set * when not matched then insert *",
                    [target],
                ),
                ("DROP_TABLE", f"drop table if exists {temp}", []),
            ]
            children = []
            for index, (statement, query, read) in enumerate(steps):
                child_when = when + datetime.timedelta(seconds=1 + 3 * index)
                processed, billed = self.scan(read) if read else (0, 0)
                extra = None
                if statement == "MERGE":
                    extra = {
                        "total_modified_partitions": str(rng.randrange(1, 4)),
                        "dml_statistics": {
                            "inserted_row_count": str(rng.randrange(10**5)),
                            "updated_row_count": str(rng.randrange(10**4)),
                            "deleted_row_count": "0",
                        },
                    }
                children.append(
                    self.add(
                        when=child_when,
                        user=user,
                        job_id=f"script_job_{script_tag}_{index}",
                        query=query,
                        tables=read,
                        statement=statement,
                        processed=processed,
                        billed=billed,
                        labels=labels,
                        parent=parent_id,
                        priority="BATCH",
                        destination=target.ref if statement == "MERGE" else None,
                        extra=extra,
                    )
                )
            total = {
                key: str(sum(int(child[key] or 0) for child in children))
                for key in ("total_bytes_processed", "total_bytes_billed", "total_slot_ms")
            }
            self.add(
                when=when,
                user=user,
                job_id=parent_id,
                query="\n;\n".join(step[1] for step in steps),
                tables=sources,
                statement="SCRIPT",
                processed=int(total["total_bytes_processed"]),
                billed=int(total["total_bytes_billed"]),
                slot_ms=int(total["total_slot_ms"]),
                labels=labels,
                priority="BATCH",
            )
            written += 4

    def dbt_tests(self, budget: int) -> None:
        rng, user = self.rng, service_account("dbt-ci")
        for _ in range(budget):
            table = self.tables[rng.choice(HOT_TABLES[1:30])]
            query = (
                f"select count(*) as failures from {table.sql} "
                f"where {rng.choice(('id', 'created_at', 'customer_id'))} is null"
            )
            self.add(
                when=self.at(7 + rng.random() * 2),
                user=user,
                job_id=self.job_id("uuid"),
                query=query,
                tables=[table],
                labels={"dbt_target": "ci"},
                destination=self.anonymous_destination(user),
            )

    def loads(self, budget: int) -> None:
        """Airflow and Fivetran: LOAD jobs into raw tables (and Fivetran's MERGE after
        each), a nightly COPY snapshot of finance tables, an EXTRACT to Cloud Storage."""
        rng = self.rng
        raw = [table for table in self.tables.values() if table.dataset == "raw"]
        for n in range(budget):
            when = self.at(rng.random() * 24)
            target = rng.choice(raw)
            if n % 3 == 0:  # Fivetran merges what it loaded
                user = service_account("fivetran")
                query = (
                    f"MERGE {target.sql} T USING `{PROJECT}.raw.{target.name}_staging` S "
                    "ON T._fivetran_id = S._fivetran_id WHEN MATCHED THEN UPDATE SET * "
                    "WHEN NOT MATCHED THEN INSERT *"
                )
                self.add(
                    when=when,
                    user=user,
                    job_id=self.job_id("uuid"),
                    query=query,
                    tables=[target],
                    statement="MERGE",
                    destination=target.ref,
                    extra={"total_modified_partitions": str(rng.randrange(1, 30))},
                )
                continue
            user = service_account("airflow" if n % 3 == 1 else "fivetran")
            kind = "LOAD" if n % 17 else ("COPY" if n % 2 else "EXTRACT")
            if kind == "COPY":
                source = self.tables[f"finance.{rng.choice(_FINANCE)}"]
                destination = {
                    "project_id": PROJECT,
                    "dataset_id": "finance",
                    "table_id": f"{source.name}_snapshot",
                }
                self.add(
                    when=when,
                    user=service_account("airflow"),
                    job_id=self.job_id("airflow"),
                    query=None,
                    tables=[source],
                    job_type="COPY",
                    statement=None,
                    processed=None,
                    billed=None,
                    destination=destination,
                    cache_hit=False,
                )
                continue
            if kind == "EXTRACT":
                source = self.tables[LEGACY_TABLE]
                self.add(
                    when=when,
                    user=service_account("legacy-sales-export"),
                    job_id=self.job_id("airflow"),
                    query=None,
                    tables=[source],
                    job_type="EXTRACT",
                    statement=None,
                    processed=None,
                    billed=None,
                    destination=None,
                )
                continue
            self.add(
                when=when,
                user=user,
                job_id=self.job_id("airflow"),
                query=None,
                tables=[],
                job_type="LOAD",
                statement=None,
                processed=None,
                billed=None,
                destination=target.ref,
                reservation="default-pipeline",
                extra={"total_modified_partitions": "1"} if rng.random() < 0.3 else None,
            )

    def scheduled(
        self,
        user: str,
        keys: list[str],
        budget: int,
        *,
        hours: tuple[int, int],
        labels: dict[str, str] | None = None,
        full: bool = False,
    ) -> None:
        """A service account's scheduled queries over a few tables."""
        rng = self.rng
        for _ in range(budget):
            picked = [self.tables[rng.choice(keys)]]
            processed, billed = self.scan(picked, full=full)
            self.add(
                when=self.at(hours[0] + rng.random() * (hours[1] - hours[0])),
                user=user,
                job_id=self.job_id("uuid"),
                query=_select(picked, variant=0),
                tables=picked,
                processed=processed,
                billed=billed,
                labels=labels,
                destination=self.anonymous_destination(user),
                priority="BATCH",
            )

    def monitor(self, budget: int) -> None:
        """The data-quality monitor: freshness and volume checks on every table, on the
        company's reservation (slot-ms priced, not bytes)."""
        rng, user = self.rng, service_account("data-quality")
        keys = list(self.tables)
        for _ in range(budget):
            table = self.tables[rng.choice(keys)]
            query = (
                f"SELECT COUNT(*), MAX(_loaded_at) FROM {table.sql} "
                "WHERE _loaded_at > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)"
            )
            processed, billed = self.scan([table])
            self.add(
                when=self.at(rng.random() * 24),
                user=user,
                job_id=self.job_id("uuid"),
                query=query,
                tables=[table],
                processed=processed,
                billed=billed,
                slot_ms=rng.randrange(200, 90_000),
                reservation=RESERVATION,
                labels={"monitor": "freshness"},
                extra={"edition": "ENTERPRISE"},
            )

    def build(self) -> None:
        budget, weekday = self.day.budget, self.day.weekday
        scale = budget / (1.0 if weekday else WEEKEND_SHARE)  # a weekday's budget
        shares = [
            ("dbt", 0.07),
            ("tests", 0.012),
            ("loads", 0.02),
            ("hex", 0.01),
            ("monitor", 0.015),
            ("export", 0.006),
            ("hightouch", 0.005),
            ("sheets", 0.004),
        ]
        counts = {name: round(scale * share) for name, share in shares}
        looker = round(scale * (0.22 if weekday else 0.08))
        before = len(self.rows)
        self.dbt_jobs(counts["dbt"])
        self.dbt_tests(counts["tests"])
        self.loads(counts["loads"])
        self.scheduled(
            service_account("hex-scheduler"),
            [
                "marts.fct_revenue",
                "marts.fct_mrr",
                "marts.fct_subscriptions",
                "finance.saas_metrics_monthly",
            ],
            counts["hex"],
            hours=(10, 12),
            labels={"hex_project": "weekly-kpis"},
        )
        self.monitor(counts["monitor"])
        self.scheduled(
            service_account("legacy-sales-export"),
            [LEGACY_TABLE],
            counts["export"],
            hours=(0, 24),
            full=True,
        )
        self.scheduled(
            service_account("hightouch"),
            ["marts.dim_customers", "marts.fct_subscriptions", "marts.dim_users"],
            counts["hightouch"],
            hours=(0, 24),
            labels={"sync": "crm"},
        )
        self.scheduled(
            service_account("sheets-sync"),
            [
                "legacy_sales.sales_by_rep",
                "legacy_sales.weekly_sales_summary",
                "legacy_sales.region_sales",
            ],
            counts["sheets"],
            hours=(12, 14),
        )
        self.attribution_readers()
        looker = min(looker, budget - (len(self.rows) - before))
        self.looker_jobs(max(looker, 0))
        self.person_jobs(max(budget - (len(self.rows) - before), 0))


@cache
def _anonymous_dataset(user: str) -> str:
    return "_" + hashlib.sha1(user.encode(), usedforsecurity=False).hexdigest()


def _select(tables: list[Table], variant: int) -> str:
    """A plausible SELECT over these tables; `variant` picks one of a few shapes, so the
    same question asked again has the same text (and hash)."""
    first = tables[0]
    if len(tables) == 1:
        shapes = [
            f"SELECT * FROM {first.sql} WHERE DATE(created_at) >= DATE_SUB(CURRENT_DATE(), "
            "INTERVAL 7 DAY)",
            f"SELECT DATE(created_at) AS day, COUNT(*) AS n FROM {first.sql} GROUP BY 1 "
            "ORDER BY 1 DESC",
            f"SELECT * FROM {first.sql} LIMIT 1000",
            f"SELECT status, COUNT(DISTINCT id) FROM {first.sql} WHERE created_at >= "
            "'2026-01-01' GROUP BY status",
        ]
        return shapes[variant % len(shapes)]
    joins = "\n".join(
        f"JOIN {table.sql} AS t{n} USING ({_join_key(first, table)})"
        for n, table in enumerate(tables[1:], start=1)
    )
    measures = ["COUNT(*) AS n", "SUM(t0.amount) AS amount", "COUNT(DISTINCT t0.id) AS ids"]
    return (
        f"SELECT t1.{_dimension(tables[1])}, {measures[variant % 3]}\n"
        f"FROM {first.sql} AS t0\n{joins}\nGROUP BY 1 ORDER BY 2 DESC"
    )


def _join_key(left: Table, right: Table) -> str:
    for key in ("customer", "user", "product", "account", "campaign", "agent", "plan"):
        if key in right.name:
            return f"{key}_id"
    return "id"


def _dimension(table: Table) -> str:
    return {
        "dim_customers": "country",
        "dim_users": "signup_channel",
        "dim_products": "category",
    }.get(table.name, "name")


@cache
def _dbt_models() -> list[tuple[str, tuple[str, ...], bool]]:
    """(model "dataset.table", upstream tables, incremental) in build order: a staging
    model per raw table, then every mart from two to four staging models."""
    rng = random.Random("acme-dbt")  # noqa: S311
    tables = all_tables()
    raw = sorted(key for key in tables if key.startswith("raw."))
    staging = sorted(key for key in tables if key.startswith("staging."))
    models: list[tuple[str, tuple[str, ...], bool]] = [
        (stg, (src,), False) for stg, src in zip(staging, raw, strict=True)
    ]
    for name in _MARTS:
        upstream = tuple(sorted(rng.sample(staging, rng.randrange(2, 5))))
        models.append((f"marts.{name}", upstream, name.startswith("fct_") and rng.random() < 0.5))
    return models


def _stages(rng: random.Random) -> dict:
    """Columns the importer does not read: query plan stages, a timeline."""
    return {
        "job_stages": [
            {
                "name": f"S0{n}: {step}",
                "id": str(n),
                "slot_ms": str(rng.randrange(10, 5000)),
                "records_read": str(rng.randrange(10**6)),
            }
            for n, step in enumerate(("Input", "Aggregate", "Output"))
        ],
        "timeline": [{"elapsed_ms": str(rng.randrange(100, 9000)), "total_slot_ms": "12"}],
        "query_info": {"query_hashes": {"normalized_literals": f"{rng.getrandbits(64):016x}"}},
    }


_HOURS = list(range(24))
# Job starts per UTC hour of a working day: mostly US office hours.
_OFFICE = list(
    accumulate([1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 9, 12, 14, 15, 15, 14, 13, 11, 8, 5, 2])
)
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
_LEGACY_QUERIES = [
    "SELECT * FROM {table} WHERE sale_date = DATE_SUB(CURRENT_DATE(), INTERVAL 1 DAY) "
    "AND region = '{region}'",
    "SELECT sale_date, rep_name, SUM(net_amount) FROM {table} WHERE region = '{region}' "
    "GROUP BY 1, 2",
    "SELECT * FROM {table} WHERE region = '{region}' ORDER BY sale_date DESC LIMIT 500",
]
_NO_TABLE_QUERIES = [
    "SELECT 1",
    "SELECT CURRENT_TIMESTAMP()",
    "SELECT GENERATE_DATE_ARRAY('2026-01-01', CURRENT_DATE(), INTERVAL 1 WEEK)",
]
_ERRORS = [
    ("invalidQuery", "Unrecognized name: revenue_usd at [1:8]"),
    ("invalidQuery", "Syntax error: Unexpected keyword FROM at [3:1]"),
    (
        "accessDenied",
        "Access Denied: Table acme-analytics:{table}: User does not have "
        "permission to query table acme-analytics:{table}.",
    ),
    (
        "resourcesExceeded",
        "Resources exceeded during query execution: The query could not "
        "be executed in the allotted memory.",
    ),
    ("notFound", "Not found: Table acme-analytics:{table}_old was not found in location US"),
]
# Looker dashboard tiles: the tables each tile reads, and how often tiles run.
_DASHBOARD_TILES = [
    JOINED_PAIRS[0],
    JOINED_PAIRS[1],
    JOINED_PAIRS[2],
    JOINED_TRIPLE,
    ("marts.fct_revenue",),
    ("marts.fct_mrr",),
    ("marts.fct_daily_active_users",),
    ("marts.fct_subscriptions", "marts.dim_plans"),
    ("marts.fct_campaign_performance",),
    ("marts.fct_support_sla",),
    ("marts.fct_orders",),
    ("marts.fct_sessions",),
    ("finance.board_metrics",),
    ("marts.fct_funnel_steps",),
    ("marts.fct_retention_cohorts",),
]
_DASHBOARD_WEIGHTS = list(accumulate([14, 12, 8, 3, 6, 5, 5, 3, 4, 3, 6, 5, 2, 3, 2]))


@cache
def _tail_tables() -> list[Table]:
    """The ~350 tables outside the popular ones, read now and then."""
    hot = set(HOT_TABLES)
    return [table for key, table in all_tables().items() if key not in hot]


def _ts(moment: datetime.datetime, style: int) -> str:
    """Both forms exports use: `2026-11-01 12:03:07.123456 UTC` (bq extract) and RFC 3339
    (the console's JSON download, API clients), with and without fractions."""
    if style == 0:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    if style == 1:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if style == 2:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.isoformat()  # 2026-11-01T12:03:07.123456+00:00


def _finish(row: dict, rng: random.Random) -> dict:
    style = rng.randrange(4)
    for key in ("creation_time", "start_time", "end_time"):
        row[key] = _ts(row[key], style)
    if rng.random() < 0.5:  # half the rows leave null columns out, as bq extract does
        for key in [key for key, value in row.items() if value is None]:
            del row[key]
    return row


def day_budgets(*, start: datetime.date, days: int, jobs_per_day: int) -> list[int]:
    """Rows per day: weekdays busy, weekends at WEEKEND_SHARE; about jobs_per_day on
    average over a week."""
    weekday = _weekday_budget(jobs_per_day)
    budgets = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        budgets.append(round(weekday if day.weekday() < 5 else weekday * WEEKEND_SHARE))
    return budgets


def generate_jobs(
    *,
    start: datetime.date,
    days: int,
    jobs_per_day: int,
    seed: int = 7,
    until: datetime.datetime | None = None,
    bytes_scale: float = 1.0,
) -> Iterator[dict]:
    """JOBS rows for `days` UTC days from `start`, each day in creation order; `until`
    leaves out jobs created after that moment (an export made now has nothing later);
    `bytes_scale` multiplies the bytes every query reads (bigger tables: a history with
    fewer jobs can cost what a billing export says). Holds one day in memory at a time."""
    budgets = day_budgets(start=start, days=days, jobs_per_day=jobs_per_day)
    for offset, budget in enumerate(budgets):
        day = start + datetime.timedelta(days=offset)
        if (
            until is not None
            and datetime.datetime.combine(day, datetime.time(0), datetime.UTC) > until
        ):
            return
        rng = random.Random(f"{seed}-{day.isoformat()}")  # noqa: S311
        writer = _DayWriter(
            _Day(
                day=day, rng=rng, weekday=day.weekday() < 5, budget=budget, bytes_scale=bytes_scale
            )
        )
        writer.build()
        writer.rows.sort(key=lambda pair: pair[0])
        for when, row in writer.rows:
            if until is not None and when > until:
                break
            yield _finish(row, rng)


def write_jobs_file(
    path: Path,
    *,
    start: datetime.date,
    days: int,
    jobs_per_day: int,
    seed: int = 7,
    gzip: bool = True,
    until: datetime.datetime | None = None,
    bytes_scale: float = 1.0,
) -> int:
    """Newline-delimited JSON (gzipped unless gzip=False), as an export of JOBS is
    written. Returns the rows written."""
    opener = _gzip_open if gzip else open
    count = 0
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with opener(path, "wt", encoding="utf-8") as out:
        for row in generate_jobs(
            start=start,
            days=days,
            jobs_per_day=jobs_per_day,
            seed=seed,
            until=until,
            bytes_scale=bytes_scale,
        ):
            out.write(encode(row))
            out.write("\n")
            count += 1
    return count


def _gzip_open(path: Path, mode: str, encoding: str):
    return gzip.open(path, mode, encoding=encoding, compresslevel=5)

"""The demo's data products, their error budgets and the incidents of the last two
quarters. At any day of the current quarter the executive KPI pipeline has spent its
budget (3 incidents of 2); in the second half of a year the yearly revenue budget is
barely touched, so the team may move faster there."""

from dataclasses import dataclass

from roadmap.models import DataProduct, Incident


@dataclass(frozen=True)
class DemoProduct:
    name: str
    slug: str
    kind: str
    description: str
    tables: tuple[str, ...]
    incidents_allowed: int
    budget_period: str = DataProduct.Period.QUARTER
    consumers: tuple[str, ...] = ()  # Team slugs
    reliability_items: tuple[str, ...] = ()  # roadmap item titles
    ready_by: str | None = None  # "HH:MM", local time
    late_days_allowed: int | None = None
    owner: str = "manager"  # a DEMO_USERS username


@dataclass(frozen=True)
class DemoIncident:
    title: str
    # Quarter offset from the current quarter and days after its first day; (0, -1) is the
    # last day of last quarter. Days of the current quarter are at most today.
    when: tuple[int, int]
    at: str  # "HH:MM", local time
    lasted_hours: int | None  # None: still open; also when it would end after today
    severity: str
    impact: str
    products: tuple[str, ...]  # DemoProduct slugs
    cause: str  # Markdown
    caused_by: str | None = None  # roadmap item title
    follow_up: str | None = None  # roadmap item title


Kind, Period = DataProduct.Kind, DataProduct.Period
PRODUCTS = [
    DemoProduct(
        "Executive KPI pipeline",
        "executive-kpis",
        Kind.PIPELINE,
        "The KPIs behind the leadership dashboard and the daily and weekly KPI emails: "
        "revenue, orders, weekly active users, churn.",
        (
            "acme-analytics.marts.kpi_daily",
            "acme-analytics.marts.kpi_weekly",
            "acme-analytics.marts.kpi_targets",
        ),
        incidents_allowed=2,
        consumers=("product", "finance"),
        reliability_items=("Freshness and volume checks on the top 50 tables",),
    ),
    DemoProduct(
        "int_orders_enriched",
        "int-orders-enriched",
        Kind.TABLE,
        "Orders joined with customers and products, one row per order line. Read by "
        "analysts directly and, since this quarter, by the KPI pipeline.",
        ("acme-analytics.intermediate.int_orders_enriched",),
        incidents_allowed=3,
        consumers=("product-analytics", "product", "support"),
        reliability_items=(
            "dbt tests on every intermediate table",
            "Upgrade dbt and adopt model contracts",
        ),
    ),
    DemoProduct(
        "Legacy nightly sales pipeline",
        "legacy-sales-nightly",
        Kind.PIPELINE,
        "The 40 scheduled queries that rebuild the legacy sales tables every night. Being "
        "retired; until then finance needs it by 07:00 for the daily flash report.",
        (
            "acme-legacy-sales.legacy.sales_nightly_orders",
            "acme-legacy-sales.legacy.sales_nightly_revenue",
            "acme-legacy-sales.legacy.sales_nightly_discounts",
        ),
        incidents_allowed=4,
        consumers=("finance", "product-analytics"),
        ready_by="07:00",
        late_days_allowed=3,
    ),
    DemoProduct(
        "Support SLA dashboard",
        "support-sla-dashboard",
        Kind.DASHBOARD,
        "First response and resolution times by queue and plan, read by the support leads "
        "every morning.",
        (
            "acme-analytics.marts.support_ticket_sla",
            "acme-analytics.marts.support_queue_daily",
        ),
        incidents_allowed=2,
        consumers=("support",),
        reliability_items=("Freshness and volume checks on the top 50 tables",),
    ),
    DemoProduct(
        "Revenue tables",
        "revenue-tables",
        Kind.TABLES,
        "Booked revenue, refunds and deferred revenue. Finance agreed a yearly budget: what "
        "matters is that month close is right, not every single day.",
        (
            "acme-analytics.marts.fct_booked_revenue",
            "acme-analytics.marts.fct_refunds",
            "acme-analytics.marts.fct_deferred_revenue",
        ),
        incidents_allowed=4,
        budget_period=Period.YEAR,
        consumers=("finance",),
        reliability_items=("Reconcile revenue tables with the ledger daily",),
    ),
]

Severity, Impact = Incident.Severity, Incident.Impact
ORDERS_ITEM = "int_orders_enriched: orders joined with customers and products"
INCIDENTS = [
    # Last quarter.
    DemoIncident(
        "Legacy sales tables late: the ERP export landed at 05:40",
        (-1, 12),
        "06:50",
        3,
        Severity.SEV3,
        Impact.LATE_DATA,
        ("legacy-sales-nightly",),
        "An ERP maintenance window delayed the nightly export by three and a half hours. "
        "The legacy load has no sensor on the export, so it ran on schedule against "
        "yesterday's files and had to be rerun by hand.",
    ),
    DemoIncident(
        "Weekly active users 4% high in the KPI email",
        (-1, 33),
        "09:20",
        6,
        Severity.SEV2,
        Impact.WRONG_NUMBERS,
        ("executive-kpis",),
        "QA started creating test accounts on a new email domain that was not in the "
        "exclusion list. Nothing tests the share of internal accounts.",
        follow_up="Freshness and volume checks on the top 50 tables",
    ),
    DemoIncident(
        "Refunds counted twice in booked revenue",
        (-1, 51),
        "10:05",
        30,
        Severity.SEV1,
        Impact.WRONG_NUMBERS,
        ("revenue-tables", "legacy-sales-nightly"),
        "The exchange-rate table was reloaded with duplicate rows for two days. Both the "
        "legacy pipeline and `fct_refunds` join on currency and day, so refunds fanned out. "
        "Finance found it in the daily flash report, before month close.",
        follow_up="Reconcile revenue tables with the ledger daily",
    ),
    DemoIncident(
        "Support SLA dashboard blank after the ticketing tool switch",
        (-1, 76),
        "08:30",
        26,
        Severity.SEV3,
        Impact.OUTAGE,
        ("support-sla-dashboard",),
        "Support moved to the new ticketing tool; the old export stopped and the dashboard "
        "showed no tickets from that morning until the new source was connected.",
        follow_up="Support SLA dashboard",
    ),
    DemoIncident(
        "Quarter-end sales load stuck for two nights",
        (0, -1),
        "21:30",
        36,
        Severity.SEV2,
        Impact.LATE_DATA,
        ("legacy-sales-nightly",),
        "Quarter-end order volume pushed the legacy job past its six-hour timeout. It "
        "failed on the last night of the quarter and the first night of the next, until "
        "the timeout was raised.",
        follow_up="Migrate legacy sales readers to the new revenue tables",
    ),
    # This quarter.
    DemoIncident(
        "Revenue KPI tile showed zero for EMEA",
        (0, 6),
        "07:40",
        5,
        Severity.SEV2,
        Impact.WRONG_NUMBERS,
        ("executive-kpis",),
        "A new country-to-region mapping dropped three EMEA country codes; the tile summed "
        "nothing and showed 0 instead of failing.",
        follow_up="Freshness and volume checks on the top 50 tables",
    ),
    DemoIncident(
        "Enterprise first response time doubled overnight",
        (0, 13),
        "11:00",
        20,
        Severity.SEV3,
        Impact.WRONG_NUMBERS,
        ("support-sla-dashboard",),
        "The rebuilt queue mapping counted a customer's reopening of a ticket as its first "
        "response. Support leads noticed before their weekly report.",
        caused_by="Support SLA dashboard",
    ),
    DemoIncident(
        "Order count 3% high after the KPI pipeline moved to int_orders_enriched",
        (0, 20),
        "11:15",
        28,
        Severity.SEV2,
        Impact.WRONG_NUMBERS,
        ("executive-kpis", "int-orders-enriched"),
        "Products with two active prices in the catalogue joined twice, so some order "
        "lines were duplicated. No uniqueness test on the order line key yet.",
        caused_by=ORDERS_ITEM,
        follow_up="dbt tests on every intermediate table",
    ),
    DemoIncident(
        "int_orders_enriched not refreshed: the full refresh ran out of slots",
        (0, 27),
        "08:10",
        4,
        Severity.SEV3,
        Impact.LATE_DATA,
        ("int-orders-enriched",),
        "A full refresh to backfill the new discount columns competed with the nightly "
        "batch for slots and was cancelled at the 6-hour limit.",
        caused_by=ORDERS_ITEM,
    ),
    DemoIncident(
        "Legacy sales tables ready at 09:10",
        (0, 34),
        "07:25",
        2,
        Severity.SEV3,
        Impact.LATE_DATA,
        ("legacy-sales-nightly",),
        "The ERP export was late again after a patch weekend. The flash report went out "
        "two hours late.",
    ),
    DemoIncident(
        "Discount column empty for orders from the new web shop",
        (0, 41),
        "14:00",
        48,
        Severity.SEV3,
        Impact.WRONG_NUMBERS,
        ("legacy-sales-nightly",),
        "The new web shop sends discounts in a nested field the legacy SQL does not read. "
        "We patched the legacy query rather than wait for the migration.",
        follow_up="Migrate legacy sales readers to the new revenue tables",
    ),
    DemoIncident(
        "Daily KPI email went out with yesterday's numbers",
        (0, 49),
        "06:55",
        4,
        Severity.SEV2,
        Impact.LATE_DATA,
        ("executive-kpis",),
        "`kpi_daily` waited behind another full refresh of int_orders_enriched and finished "
        "at 09:20; the email job does not check that the data is fresh before sending.",
        caused_by=ORDERS_ITEM,
        follow_up="Freshness and volume checks on the top 50 tables",
    ),
]

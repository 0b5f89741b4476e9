"""The benchmark scenarios, run in one process against one database (see __main__)."""

import csv
import datetime
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# WhiteNoise looks for collected static files, which the benchmark does not build.
warnings.filterwarnings("ignore", "No directory at", UserWarning)
django.setup()

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.utils import timezone

from core.models import ApiToken, Team
from cost.billing.allocation import reallocate_all
from cost.billing.breakdowns import Query, compute_breakdown
from cost.billing.facts import DailyFact, store_facts
from cost.models import AllocationRule, BillingSource, ImportRun
from demo.billing_export import PROJECTS, generate_rows, write_export
from roadmap.models import (
    PriorityVote,
    Quarter,
    ReviewComment,
    ReviewSession,
    RoadmapItem,
    TeamCapacity,
    Theme,
)

WARMUP = 5
REPEATS = 30


def seed_roadmap(items: int) -> None:
    rng = random.Random(42)
    themes = [
        Theme.objects.create(name=f"Theme {n}", colour="#336699", position=n) for n in range(8)
    ]
    ae = Team.objects.create(name="Analytics Engineering", slug="ae", weekly_rate=Decimal(4200))
    requesters = [Team.objects.create(name=f"Team {n}", slug=f"team-{n}") for n in range(6)]
    current = Quarter.from_code(Quarter.current_code())
    quarters = [Quarter.objects.for_code(current.shifted(offset)) for offset in range(-1, 5)]
    for quarter in quarters:
        TeamCapacity.objects.create(quarter=quarter, team=ae, person_weeks=Decimal(55))
    statuses = ["proposed", "planned", "in_progress", "done", "dropped"]
    batch = []
    for n in range(items):
        start = rng.randrange(0, 5)
        batch.append(
            RoadmapItem(
                title=f"Roadmap item {n}: model the table people actually use",
                description="Some **Markdown** text.",
                theme=rng.choice(themes),
                team=ae,
                owner=None,
                status=rng.choices(statuses, weights=[4, 4, 2, 1, 1])[0],
                start_quarter=quarters[start],
                target_quarter=quarters[min(start + rng.randrange(0, 2), 5)],
                rank=n + 1,
                reach=rng.randrange(10, 500),
                impact=rng.choice([Decimal("3.00"), Decimal("1.00"), Decimal("0.50")]),
                confidence=rng.choice([100, 80, 50]),
                rice_effort_months=Decimal(rng.randrange(1, 8)) / 2,
                business_value=rng.choice([1, 2, 3, 5, 8, 13, 20]),
                time_criticality=rng.choice([1, 2, 3, 5, 8]),
                risk_reduction=rng.choice([1, 2, 3, 5]),
                job_size=rng.choice([1, 2, 3, 5, 8]),
                effort_weeks=Decimal(rng.randrange(1, 20)),
                bq_monthly_cost_change=Decimal(rng.randrange(-2000, 500)),
                hours_saved_per_month=Decimal(rng.randrange(0, 100)),
                users_affected=rng.randrange(0, 300),
                currency="USD",
            )
        )
    created = RoadmapItem.objects.bulk_create(batch)
    through = RoadmapItem.requesting_teams.through
    through.objects.bulk_create(
        through(roadmapitem_id=item.pk, team_id=rng.choice(requesters).pk) for item in created
    )


def time_get(client: Client, url: str) -> tuple[list[float], int]:
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = len(captured)  # now: later requests reset the connection's query log
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return timings, queries


def result(
    database: str,
    scenario: str,
    timings: list[float],
    bar_ms: float | None,
    queries: int | None = None,
) -> dict:
    ordered = sorted(timings)
    return {
        "database": database,
        "scenario": scenario,
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[max(0, round(len(ordered) * 0.95) - 1)],
        "bar_ms": bar_ms,
        "queries": queries,
        "runs": len(ordered),
    }


def roadmap_pages(database: str) -> list[dict]:
    seed_roadmap(300)
    manager = get_user_model().objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    client = Client()
    client.force_login(manager)
    rows = []
    pages: list[tuple[str, str, float | None]] = [
        ("roadmap board, 300 items (GET /roadmap/)", "/roadmap/", 150),
        (
            "ranked list, 300 items (GET /roadmap/items/)",
            "/roadmap/items/?status=proposed"
            "&status=planned&status=in_progress&status=done&status=dropped",
            None,
        ),
        ("CSV export, 300 items", "/roadmap/items/export.csv", None),
    ]
    for name, url, bar in pages:
        timings, queries = time_get(client, url)
        rows.append(result(database, name, timings, bar, queries))
    return rows


def review_page(database: str) -> list[dict]:
    """A session of 150 items with 500 comments (threads, replies, an edit), two reviewers'
    votes on every item and ten decisions, read by the manager and by a reviewer."""
    from roadmap.reviews.rules import (
        add_comment,
        advance_session,
        edit_comment,
        record_decision,
    )

    seed_roadmap(150)
    User = get_user_model()
    manager = User.objects.create(username="bench-manager", first_name="Mika")
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    reviewers = []
    for name in ("bench-vp", "bench-peer"):
        user = User.objects.create(username=name)
        user.groups.add(Group.objects.get_or_create(name="Reviewer")[0])
        reviewers.append(user)
    session = ReviewSession.objects.create(
        quarter=Quarter.objects.for_code(Quarter.current_code()), title="Bench review",
        meeting_date=datetime.date.today(),
    )  # fmt: skip
    session.reviewers.set(reviewers)
    session = advance_session(session_id=session.pk, from_status="draft", by=manager)
    rows = list(session.items.order_by("position"))
    threads = [
        add_comment(session=session, author=reviewers[n % 2], kind="question",
                    body=f"Why is **{row.title}** worth it now? @bench-peer", review_item=row)
        for n, row in enumerate(rows[:100])
    ]  # fmt: skip
    edit_comment(comment=threads[0], by=reviewers[0], body="Edited: why now?")
    for thread in threads[:100]:
        add_comment(session=session, author=manager, body="Because the *logs* say so.",
                    parent=thread)  # fmt: skip
    ReviewComment.objects.bulk_create(
        ReviewComment(session=session, review_item=rows[n % len(rows)], author=reviewers[1],
                      kind="concern", body=f"Concern {n}: the cost per hour saved is high.")
        for n in range(300)
    )  # fmt: skip
    PriorityVote.objects.bulk_create(
        PriorityVote(session=session, review_item=row, reviewer=reviewer, value=1 + n % 5,
                     urgency=1 + (n * 3) % 5)
        for n, row in enumerate(rows) for reviewer in reviewers
    )  # fmt: skip
    for row in rows[:10]:
        record_decision(review_item=row, outcome="approved", rationale="Go.", commitments=[],
                        by=manager)  # fmt: skip
    url = session.get_absolute_url()
    out = []
    for label, user in (("manager", manager), ("reviewer", reviewers[0])):
        client = Client()
        client.force_login(user)
        timings, queries = time_get(client, url)
        out.append(result(database, f"review session, 150 items, 500 comments ({label})",
                          timings, None, queries))  # fmt: skip
    return out


def _pdf_pages(pdf: bytes) -> str:
    """The page count from poppler's pdfinfo (installed by make test), or '?'."""
    import shutil

    if not shutil.which("pdfinfo"):
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=False)  # noqa: S607
    found = re.search(rb"Pages:\s+(\d+)", info.stdout)
    return found[1].decode() if found else "?"


def review_pack(database: str) -> list[dict]:
    """A pack for a session of 150 items with 300 comments and twelve months of cost."""
    import tempfile

    from cost.billing.runs import import_files
    from roadmap.reviews.packs.content import build_content
    from roadmap.reviews.packs.render import render_html, render_pdf
    from roadmap.reviews.rules import add_comment, advance_session

    seed_roadmap(150)
    today = datetime.date.today()
    first = datetime.date(today.year - 1, today.month, 1)
    # Rules as a team keeps them: three projects funding items, one rule per team label, a
    # catch-all. The pack reads them as of its moment, evaluated in SQL.
    teams = {team.slug: team for team in Team.objects.all()}
    fallback = teams["ae"]
    funded = zip(PROJECTS[:3], RoadmapItem.objects.order_by("rank")[:3], strict=True)
    for position, ((project, *_rest), item) in enumerate(funded, start=1):
        AllocationRule.objects.create(position=position, name=project, match_project=project,
                                      team=fallback, roadmap_item=item)  # fmt: skip
    labels = ["ae", "product-analytics", "finance", "marketing", "data-platform"]
    for position, label in enumerate(labels, start=4):
        AllocationRule.objects.create(position=position, name=f"Team {label}",
                                      match_label_key="team", match_label_value=label,
                                      team=teams.get(f"team-{position % 6}", fallback))  # fmt: skip
    AllocationRule.objects.create(position=4 + len(labels), name="Everything", team=fallback)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "export.jsonl.gz"
        write_export(export, generate_rows(first_month=first, months=13, hours_per_day=4,
                                           until=today))  # fmt: skip
        import_files(paths=[export], source_name="bench")
    User = get_user_model()
    manager = User.objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    reviewer = User.objects.create(username="bench-vp", first_name="Valerie")
    reviewer.groups.add(Group.objects.get_or_create(name="Reviewer")[0])
    session = ReviewSession.objects.create(
        quarter=Quarter.objects.for_code(Quarter.current_code()), title="Bench review",
        meeting_date=today,
    )  # fmt: skip
    session.reviewers.set([reviewer])
    session = advance_session(session_id=session.pk, from_status="draft", by=manager)
    rows = list(session.items.order_by("position"))
    threads = [
        add_comment(session=session, author=reviewer, kind="question", review_item=row,
                    body=f"Why is **{row.title}** worth it now? コストは?")
        for row in rows[:150]
    ]  # fmt: skip
    for thread in threads:
        add_comment(session=session, author=manager, body="Because the logs say so.",
                    parent=thread)  # fmt: skip
    html_ms, pdf_ms, pages = [], [], "?"
    for _ in range(3):
        started = time.perf_counter()
        content = build_content(session=session, as_of=timezone.now())
        html = render_html(content, generated_at=timezone.now())
        html_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        pdf = render_pdf(html)
        pdf_ms.append((time.perf_counter() - started) * 1000)
        pages = _pdf_pages(pdf)
    note = (
        f"{len(rows)} items, {session.comments.count()} comments, "
        f"{AllocationRule.objects.count()} allocation rules read as of the pack, {len(pdf):,} bytes"
    )
    html_row = result(database, "review pack as HTML (content + page)", html_ms, 1000)
    pdf_row = result(database, "review pack as PDF (WeasyPrint, from the HTML)", pdf_ms, 5000)
    html_row["note"], pdf_row["note"] = note, f"{pages} pages A4"
    return [html_row, pdf_row]


EXPORT = Path(__file__).resolve().parent / "results" / "export-1m-v3.jsonl.gz"
# DuckDB alone doing the same grouping over the same file: auto-detected schema, float
# sums, no checks, nothing stored. The bar is import_billing within twice this time.
PLAIN_DUCKDB = """
import sys, time, duckdb
started = time.perf_counter()
duckdb.sql(\"\"\"
    SELECT invoice.month, CAST(usage_start_time AS VARCHAR)[:10] AS day, billing_account_id,
           project.id, project.name, project.number, project.ancestry_numbers, service.id,
           service.description, sku.id, sku.description, location.location,
           location.region, cost_type, currency, currency_conversion_rate, labels,
           project.labels, usage.unit, usage.pricing_unit,
           sum(cost), sum(cost_at_list), sum(usage.amount), sum(usage.amount_in_pricing_units),
           count(*), max(export_time), list(credits)
    FROM read_json(?, format = 'newline_delimited') GROUP BY ALL
\"\"\", params=[sys.argv[1]]).fetchall()
print(time.perf_counter() - started)
"""


def ensure_export() -> Path:
    """The generated ~1M-row export, made once and kept in bench/results/."""
    if not EXPORT.exists():
        EXPORT.parent.mkdir(parents=True, exist_ok=True)
        partial = EXPORT.with_name("partial-" + EXPORT.name)  # complete files only
        rows = generate_rows(first_month=datetime.date(2025, 12, 1), months=12, scale=5)
        count = write_export(partial, rows)
        partial.rename(EXPORT)
        print(f"generated {EXPORT.name}: {count:,} rows", file=sys.stderr)
    return EXPORT


def plain_duckdb_seconds(path: Path) -> float:
    """DuckDB's own read_json + GROUP BY over the same file, in a fresh process."""
    result = subprocess.run(  # noqa: S603 - our own snippet, our own file
        [sys.executable, "-c", PLAIN_DUCKDB, str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout.strip().splitlines()[-1])  # after DuckDB's progress bar


def run_import_billing(path: Path) -> tuple[float, float]:
    """`manage.py import_billing` as a user runs it, in its own process, into the
    benchmark's database: (seconds, peak resident memory in MB) of that process alone."""
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    else:
        url = f"sqlite:///{database['NAME']}"
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own command, our own file
        [sys.executable, "manage.py", "import_billing", str(path), "--source", "bench"],
        env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("import_billing failed")
    return seconds, usage.ru_maxrss / 1024


def billing_import(database: str) -> list[dict]:
    path = ensure_export()
    duck = [plain_duckdb_seconds(path)]  # also warms the file cache for both sides
    connection.close()  # the child process writes; keep no transaction open here
    seconds, peak_mb = run_import_billing(path)
    duck.append(plain_duckdb_seconds(path))
    reimport, _peak = run_import_billing(path)
    runs = list(ImportRun.objects.order_by("id"))
    first, again = runs[-2], runs[-1]
    assert again.facts_written == 0, "re-import changed facts"
    best_duck = min(duck)
    size_mb = path.stat().st_size / 1e6
    return [
        {
            "database": database,
            "scenario": f"import_billing {first.rows_read:,} rows ({size_mb:.0f} MB gz)",
            "median_ms": seconds * 1000,
            "p95_ms": seconds * 1000,
            "bar_ms": 2 * best_duck * 1000,
            "note": (
                f"DuckDB read_json+GROUP BY {best_duck:.2f} s, ratio {seconds / best_duck:.2f}x "
                f"(bar 2x); peak memory {peak_mb:.0f} MB (bar 300 MB); "
                f"{first.rows_read / seconds:,.0f} rows/s; {first.facts_written:,} facts"
            ),
            "peak_mb": peak_mb,
            "duckdb_s": best_duck,
            "runs": 1,
        },
        {
            "database": database,
            "scenario": "re-import of the same file (0 facts changed)",
            "median_ms": reimport * 1000,
            "p95_ms": reimport * 1000,
            "bar_ms": None,
            "runs": 1,
        },
    ]


def seed_daily_facts(count: int) -> int:
    """About `count` daily facts over twelve invoice months, stored as an import would."""
    rng = random.Random(11)
    projects = [f"acme-project-{n:02d}" for n in range(40)]
    skus = [(f"SKU-{n:03d}", f"SKU number {n}") for n in range(20)]
    services = ["BigQuery", "Cloud Storage", "Compute Engine", "Cloud Logging"]
    teams = ["ae", "product-analytics", "finance", "marketing", "data-platform"]
    per_day = count // 365
    source = BillingSource.objects.create(name="bench-facts")
    run = ImportRun.objects.create(source=source, status=ImportRun.Status.SUCCEEDED)
    day, written = datetime.date(2025, 12, 1), 0
    while written < count:
        month_facts = []
        month = day.month
        while day.month == month:
            for n in range(per_day):
                project = projects[n % len(projects)]
                sku_id, sku = skus[(n // len(projects)) % len(skus)]
                cost = Decimal(rng.randrange(1, 10_000_000)) / 1_000_000
                month_facts.append(DailyFact(
                    invoice_month=f"{day:%Y%m}", usage_date=day, billing_account_id="A-1",
                    project_id=project, project_name=project.title(), project_number="1",
                    project_ancestry="/1/", service_id=f"S{hash(sku_id) % 4}",
                    service_description=services[int(sku_id[4:]) % 4], sku_id=sku_id,
                    sku_description=sku, location="US", region="", cost_type="regular",
                    currency="USD", conversion_rate=Decimal(1),
                    labels=(("env", "prod"), ("team", teams[n % len(teams)]),
                            ("variant", str(n // (len(projects) * len(skus))))),
                    project_labels=(), is_correction=False, usage_unit="bytes",
                    pricing_unit="tebibyte", cost=cost, cost_at_list=cost, usage_amount=None,
                    usage_in_pricing_units=None, row_count=24, last_export_time=None,
                    credits={"COMMITTED_USAGE_DISCOUNT": -cost / 5} if n % 3 == 0 else {},
                ))  # fmt: skip
            day += datetime.timedelta(days=1)
        store_facts(source=source, run=run, facts=month_facts)
        written += len(month_facts)
    team, _created = Team.objects.get_or_create(slug="ae", defaults={"name": "AE"})
    AllocationRule.objects.create(position=1, name="AE", match_label_key="team",
                                  match_label_value="ae", team=team)  # fmt: skip
    reallocate_all()
    return written


REPORT_URL = "/api/v1/cost-reports/?group_by=invoice_month,service&from=2025-12&to=2026-11"
REFERENCE_SQL = """
    SELECT f.invoice_month, f.service_id, f.currency, SUM(f.cost_nanos), SUM(f.credits_nanos)
    FROM cost_costfact f JOIN cost_billingmonth m ON m.id = f.month_id
    WHERE m.valid_to IS NULL AND f.invoice_month BETWEEN '202512' AND '202611'
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def _timed_sql(sql: str, repeats: int = 7) -> list[float]:
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _load(url: str, key: str, clients: int, seconds: float) -> tuple[list[float], int]:
    """`clients` threads calling `url` back to back for `seconds`: latencies, errors."""
    import threading
    import urllib.request

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})  # noqa: S310
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    response.read()
                    ok = response.status == 200
            except Exception:
                ok = False
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)
                errors[0] += 0 if ok else 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def api_reports(database: str) -> list[dict]:
    if connection.vendor != "postgresql":
        return []  # the bar is for PostgreSQL; a million facts on SQLite says little
    facts = seed_daily_facts(1_000_000)
    rows = [
        result(database, f"reference SQL on {facts:,} daily facts (psql)",
               _timed_sql(REFERENCE_SQL), None),
        result(database, "reference SQL on the monthly rollups",
               _timed_sql(REFERENCE_SQL.replace("cost_costfact", "cost_costmonthrollup")), None),
    ]  # fmt: skip
    query = Query(group_by=("invoice_month", "service"), first=datetime.date(2025, 12, 1),
                  last=datetime.date(2026, 11, 1))  # fmt: skip
    uncached = []
    for _ in range(7):
        started = time.perf_counter()
        compute_breakdown(query)
        uncached.append((time.perf_counter() - started) * 1000)
    rows.append(result(database, "the same report computed, cache bypassed (1 client)",
                       uncached, None))  # fmt: skip
    user = get_user_model().objects.create(username="bench-finance")
    user.groups.add(Group.objects.get_or_create(name="Finance")[0])
    _token, key = ApiToken.issue(user=user, name="bench")
    settings_dict = connection.settings_dict
    url = (f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
           f"{settings_dict['PORT']}/{settings_dict['NAME']}")  # fmt: skip
    connection.close()
    port = 8077
    server = subprocess.Popen(  # noqa: S603 - our own server command
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "3", "--log-level", "warning"],
        env={**os.environ, "DATABASE_URL": url, "QUARTERDECK_API_RATE": "100000/min",
             "ALLOWED_HOSTS": "127.0.0.1", "HTTPS": "off"},
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):  # wait for the workers
            try:
                _load(base + REPORT_URL, key, 1, 0.01)
                break
            except OSError:
                time.sleep(0.2)
        _load(base + REPORT_URL, key, 10, 3)  # warm every worker
        latencies, errors = _load(base + REPORT_URL, key, 10, 20)
    finally:
        server.terminate()
        server.wait(timeout=30)
    row = result(database, "GET cost-reports by month and service, 10 clients (gunicorn)",
                 latencies, 200)  # fmt: skip
    row["note"] = (f"{len(latencies)} requests in 20 s ({len(latencies) / 20:.0f}/s), "
                   f"{errors} errors; p95 is the bar")  # fmt: skip
    row["bar_on"] = "p95"
    return [*rows, row]


def item_import_sheet(*, new: int, edits: int) -> bytes:
    """An export of `edits` seeded items, each edited, plus `new` rows that create items:
    themes, teams, owners, requesting teams and dependencies filled as a manager would."""
    from roadmap.items.spreadsheets import EXPORT_COLUMNS, export_items, items_for_export

    rng = random.Random(7)
    seed_roadmap(edits)
    owners = [get_user_model().objects.create(username=f"owner-{n}") for n in range(20)]
    themes = list(Theme.objects.values_list("name", flat=True))
    teams = list(Team.objects.exclude(slug="ae").values_list("slug", flat=True))
    ids = list(RoadmapItem.objects.order_by("pk").values_list("pk", flat=True))
    current = Quarter.from_code(Quarter.current_code())
    codes = [current.shifted(offset) for offset in range(0, 4)]
    exported = io.StringIO()
    export_items(items_for_export(), exported)
    table = list(csv.DictReader(io.StringIO(exported.getvalue().lstrip("\ufeff"))))
    for row in table:
        row["title"] += " (revised)"
        row["owner"] = rng.choice(owners).username
        row["effort_weeks"] = str(rng.randrange(1, 30))
        row["requesting_teams"] = ";".join(rng.sample(teams, 2))
        # Only on items seeded before it, so the sheet closes no loop.
        earlier = [pk for pk in ids if pk < int(row["id"])]
        row["depends_on"] = ";".join(map(str, rng.sample(earlier, min(2, len(earlier)))))
        if rng.random() < 0.05:
            row["status"] = "done"
    for n in range(new):
        start = rng.randrange(0, 3)
        table.append(dict.fromkeys(EXPORT_COLUMNS, "") | {
            "title": f"Imported item {n}: a table someone asked for",
            "description": "Drafted in a spreadsheet.", "theme": rng.choice(themes),
            "owner": rng.choice(owners).username, "team": "ae",
            "requesting_teams": ";".join(rng.sample(teams, rng.randrange(0, 3))),
            "status": rng.choice(["proposed", "planned", "in_progress"]),
            "start_quarter": codes[start], "target_quarter": codes[start + rng.randrange(0, 2)],
            "depends_on": ";".join(map(str, rng.sample(ids, rng.randrange(0, 3)))),
            "rank": str(rng.randrange(1, 50)) if rng.random() < 0.1 else "",
            "reach": str(rng.randrange(10, 500)), "impact": rng.choice(["3", "1", "0.5"]),
            "confidence": rng.choice(["100", "80", "50"]), "rice_effort_months": "1.5",
            "business_value": "8", "time_criticality": "5", "risk_reduction": "3",
            "job_size": "5", "effort_weeks": str(rng.randrange(1, 20)), "currency": "USD",
        })  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue().encode()


def _rolled_back(action: Callable[[], object]) -> float:
    """Milliseconds `action` took; what it wrote is then rolled back, so every run imports
    the same file into the same database. PostgreSQL checks the deferred foreign keys at
    COMMIT, which never comes: they are checked within the time instead."""
    from django.db import transaction

    with transaction.atomic():
        started = time.perf_counter()
        action()
        if connection.vendor == "postgresql":
            connection.check_constraints()
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)
    if connection.vendor == "postgresql":
        # The rolled-back rows are dead rows the next run would wade through.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return elapsed


def item_import(database: str, *, new: int = 4000, edits: int = 1000, runs: int = 3) -> list[dict]:
    """`import_items` on a 5,000-row sheet (4,000 new items, 1,000 edited ones), then the
    same file posted to the import page as a manager does."""
    from django.urls import reverse

    from roadmap.items.spreadsheets import import_items

    data = item_import_sheet(new=new, edits=edits)
    manager = get_user_model().objects.create(username="bench-manager")
    manager.groups.add(Group.objects.get_or_create(name="Manager")[0])
    counted: list[int] = []

    def warm_up() -> None:
        with CaptureQueriesContext(connection) as captured:
            import_items(data=data, by=manager)
        counted.append(len(captured))

    _rolled_back(warm_up)
    direct = [_rolled_back(lambda: import_items(data=data, by=manager)) for _ in range(runs)]
    client = Client()
    client.force_login(manager)

    def post() -> None:
        upload = io.BytesIO(data)
        upload.name = "roadmap.csv"
        response = client.post(reverse("roadmap:item-import"), {"file": upload})
        assert response.status_code == 302, response.status_code

    page = [_rolled_back(post) for _ in range(runs)]
    size = f"{new + edits:,} rows ({new:,} new, {edits:,} edited)"
    rows = [
        result(database, f"item import, {size}: import_items", direct, 5000, counted[0]),
        result(database, f"the same file posted to {reverse('roadmap:item-import')}", page, None),
    ]
    rows[0]["note"] = f"{len(data) / 1e6:.1f} MB CSV"
    return rows


from bench.benefit import realised_benefit
from bench.jobs import job_history
from bench.mixed import mixed_load
from bench.usage_pull import usage_pull

SCENARIOS: dict[str, Callable[[str], list[dict]]] = {
    "item_import": item_import,
    "roadmap": roadmap_pages,
    "billing": billing_import,
    "api": api_reports,
    "review": review_page,
    "pack": review_pack,
    "jobs": job_history,
    "usage_pull": usage_pull,
    "mixed": mixed_load,
    "benefit": realised_benefit,
}


def main(database: str, scenario: str) -> None:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    rows = []
    try:
        plain_static = {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=plain_static):
            rows += SCENARIOS[scenario](database)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Review packs: figures against independent sums of the export and the items, the same
content when rebuilt for the same moment, Japanese text in the PDF, kept versions."""

import datetime
import subprocess
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.money import Money
from core.roles import Role
from cost.billing.runs import import_files
from cost.models import AllocationRule
from demo.billing_export import generate_rows, write_export
from roadmap.models import FrozenSnapshotError, ReviewPack
from roadmap.reviews.packs.content import build_content
from roadmap.reviews.packs.render import build_review_pack, content_hash
from roadmap.reviews.rules import add_comment, record_decision
from tests.cost.billing.test_files import read_rows
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    TeamFactory,
    UserFactory,
    advanced,
    opened,
    quarter,
)

pytestmark = pytest.mark.django_db
JAPANESE_TITLE = "売上ダッシュボードの移行"
JAPANESE_COMMENT = "コストの内訳を教えてください"


@pytest.fixture
def world(tmp_path):
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka",
                          role=Role.MANAGER)  # fmt: skip
    vp = UserFactory(username="vera", first_name="Vera", last_name="Lind", role=Role.REVIEWER)
    ae = TeamFactory(name="Analytics Engineering", slug="ae", weekly_rate=Decimal("4000.00"))
    first = RoadmapItemFactory(title=JAPANESE_TITLE, team=ae, rank=1, effort_weeks=Decimal(5),
                               bq_monthly_cost_change=Decimal("-100.00"))  # fmt: skip
    RoadmapItemFactory(title="Orders table", team=ae, rank=2, effort_weeks=Decimal(10),
                       bq_monthly_cost_change=Decimal("50.00"))  # fmt: skip
    RoadmapItemFactory(title="Shipped already", team=ae, status="done", effort_weeks=Decimal(99))
    export = tmp_path / "export.jsonl.gz"
    rows = generate_rows(first_month=datetime.date(2025, 12, 1), months=12, hours_per_day=1,
                         until=datetime.date(2026, 11, 20))  # fmt: skip
    write_export(export, rows)
    import_files(paths=[export], source_name="export")
    AllocationRule.objects.create(position=1, name="dbt", match_project="acme-dbt-prod",
                                  team=ae, roadmap_item=first)  # fmt: skip
    from cost.billing.allocation import reallocate_all

    reallocate_all()
    session = opened(ReviewSessionFactory(title="2026-Q4 レビュー", quarter=quarter("2026-Q4"),
                                          reviewers=[vp]), by=manager)  # fmt: skip
    add_comment(session=session, author=vp, kind="question", body=JAPANESE_COMMENT,
                review_item=session.items.get(title=JAPANESE_TITLE))  # fmt: skip
    return {"session": session, "manager": manager, "vp": vp, "rows": read_rows(export),
            "first": first}  # fmt: skip


def net_by_usage_month(rows: list[dict]) -> dict[tuple[str, str], Decimal]:
    """Cost + credits per (usage month in the billing time zone, currency), from the file."""
    zone = ZoneInfo(settings.QUARTERDECK_BILLING_TIME_ZONE)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        start = datetime.datetime.strptime(row["usage_start_time"], "%Y-%m-%d %H:%M:%S %Z")
        day = start.replace(tzinfo=datetime.UTC).astimezone(zone).date()
        credits = sum((Decimal(str(c["amount"])) for c in row["credits"]), Decimal(0))
        totals[(day.strftime("%Y%m"), row["currency"])] += Decimal(str(row["cost"])) + credits
    return totals


def test_the_pack_figures_match_independent_sums(world):
    content = build_content(session=world["session"], as_of=timezone.now())
    expected = net_by_usage_month(world["rows"])
    cost = content.cost
    assert cost.months[-1] == "202611"
    (chart,) = cost.by_service
    for index, month in enumerate(cost.months):
        assert chart.month_totals[index] == expected.get((month, "USD"), Decimal(0)), month
    (team_chart,) = cost.by_team
    assert team_chart.month_totals == chart.month_totals  # the same cost, stacked otherwise
    (last, change) = cost.month_change[0]
    assert last == Money(expected[("202610", "USD")], "USD")
    assert change == Money(expected[("202610", "USD")] - expected[("202609", "USD")], "USD")
    # People cost of the open items: (5 + 10) weeks x 4,000 USD; the done item is left out.
    assert content.people_cost == [Money(Decimal("60000"), "USD")]
    assert content.declared_bq == [Money(Decimal("-50.00"), "USD")]
    # The quarter so far: October and November up to the last day of data.
    (forecast,) = cost.forecast
    assert forecast.so_far.amount == expected[("202610", "USD")] + expected[("202611", "USD")]
    assert forecast.remaining_days == (datetime.date(2026, 12, 31) - cost.complete_through).days
    # What the rule naming the first item allocates, against what it declared.
    (item,) = [i for i in cost.items if i.title == JAPANESE_TITLE]
    assert item.declared == Money(Decimal("-100.00"), "USD")
    assert item.actual
    assert item.actual[0].amount > 0
    # Every cost table names the API query that gives its figures.
    assert cost.sources["by_service"].startswith("/api/v1/cost-reports/?group_by=usage_month,")
    assert "as_of=" in cost.sources["by_service"]


def test_the_pack_carries_last_reviews_commitments_and_the_ratio(world):
    manager, vp = world["manager"], world["vp"]
    session = world["session"]
    row = session.items.get(title="Orders table")
    from roadmap.reviews.rules import CommitmentInput

    promised = [CommitmentInput("Orders table live", quarter("2026-Q3"))]
    record_decision(review_item=row, outcome="approved", rationale="", by=manager,
                    commitments=promised)  # fmt: skip
    advanced(session, "closed", by=manager)
    current = opened(ReviewSessionFactory(quarter=quarter("2027-Q1"), reviewers=[vp]),
                     by=manager)  # fmt: skip
    content = build_content(session=current, as_of=timezone.now())
    assert [c.commitment.description for c in content.commitments] == ["Orders table live"]
    assert [(q.quarter, q.kept, q.missed) for q in content.record] == [("2026-Q3", 0, 1)]
    assert content.previous == session
    from roadmap.reviews.packs.render import render_markdown

    text = render_markdown(content, generated_at=None)
    assert "Orders table live" in text
    assert "| 2026-Q3 | 0 | 1 | 0 | 0 % |" in text


def test_a_rebuilt_pack_has_the_same_content_hash_and_is_a_new_version(world):
    session, manager = world["session"], world["manager"]
    moment = timezone.now()
    first = build_review_pack(session=session, by=manager, as_of=moment)
    # Later activity does not reach a pack built for the same moment...
    add_comment(session=session, author=world["vp"], kind="concern", body="Later concern")
    second = build_review_pack(session=session, by=manager, as_of=moment)
    assert (first.version, second.version) == (1, 2)
    assert second.content_hash == first.content_hash
    assert "Later concern" not in second.markdown
    # ...but it does reach a pack built for a later one.
    later = content_hash(build_content(session=session, as_of=timezone.now()))
    assert later != first.content_hash
    # The PDF and the HTML say when they were generated; the hash leaves that out.
    assert first.pdf[:5] == b"%PDF-"
    with pytest.raises(FrozenSnapshotError):
        first.save()


def test_japanese_text_is_in_the_pdf_text_layer(world, tmp_path):
    pack = build_review_pack(session=world["session"], by=world["manager"])
    path = tmp_path / "pack.pdf"
    path.write_bytes(bytes(pack.pdf))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,  # noqa: S607
                          text=True, check=True).stdout  # fmt: skip
    assert JAPANESE_TITLE in text
    assert JAPANESE_COMMENT in text
    assert "2026-Q4 レビュー" in text
    assert "Page 1 / " in text  # page numbers in the margin


def test_reviewers_download_the_packs_of_their_sessions_only(world):
    session = world["session"]
    pack = build_review_pack(session=session, by=world["manager"])
    vp, outsider = Client(), Client()
    vp.force_login(world["vp"])
    outsider.force_login(UserFactory(username="olga", role=Role.REVIEWER))
    for fmt, kind in (("html", "text/html"), ("pdf", "application/pdf"), ("md", "text/markdown")):
        url = reverse("roadmap:pack", args=[session.pk, pack.version, fmt])
        response = vp.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith(kind)
        assert outsider.get(url).status_code == 403
    assert vp.post(reverse("roadmap:pack-build", args=[session.pk])).status_code == 403
    assert ReviewPack.objects.count() == 1
    missing = reverse("roadmap:pack", args=[session.pk, 99, "pdf"])
    assert vp.get(missing).status_code == 404


def test_the_manager_builds_a_pack_from_the_session_page(world):
    manager = Client()
    manager.force_login(world["manager"])
    session = world["session"]
    response = manager.post(reverse("roadmap:pack-build", args=[session.pk]), follow=True)
    text = response.content.decode()
    assert "Review pack version 1 is ready" in text
    assert reverse("roadmap:pack", args=[session.pk, 1, "pdf"]) in text


def test_the_command_writes_a_pack_and_names_a_missing_session(world, tmp_path):
    out = tmp_path / "pack.md"
    call_command("build_review_pack", str(world["session"].pk), "--format", "md", "--out",
                 str(out))  # fmt: skip
    assert out.read_text().startswith("# 2026-Q4 レビュー")
    assert ReviewPack.objects.get().version == 1
    with pytest.raises(CommandError, match="no review session with id 999"):
        call_command("build_review_pack", "999", "--out", str(out))


def test_nothing_a_user_typed_runs_as_script_in_the_pack(world):
    from roadmap.reviews.packs.render import render_html

    session = world["session"]
    session.title = 'Q4 "</style><script>alert(1)</script>'
    session.save()
    add_comment(session=session, author=world["vp"], kind="concern",
                body="<script>alert(2)</script> [x](javascript:alert(3))")  # fmt: skip
    html = render_html(build_content(session=session, as_of=timezone.now()), generated_at=None)
    assert "<script" not in html
    assert "javascript:" not in html
    assert "alert(2)" not in html or "&lt;script&gt;alert(2)" in html


def recorded_incident(day: str, *products, title: str, recorded: str | None = None,
                      impact: str = "wrong_numbers", **fields):  # fmt: skip
    """Detected at 10:00 local time on `day`, recorded an hour later unless `recorded`."""
    from roadmap.models import Incident

    detected = timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T10:00:00"))
    incident = Incident.objects.create(title=title, detected_at=detected, severity="sev2",
                                       impact=impact, **fields)  # fmt: skip
    incident.products.set(products)
    when = timezone.make_aware(datetime.datetime.fromisoformat(recorded)) if recorded else None
    # Recorded then: the incident and its history (what a pack of a moment reads).
    recorded_at = when or detected + datetime.timedelta(hours=1)
    Incident.objects.filter(pk=incident.pk).update(created_at=recorded_at)
    Incident.history.filter(id=incident.pk).update(history_date=recorded_at)
    return incident


@pytest.fixture
def budgets(world):
    """Three products on 2026-11-26 (day 57 of the quarter's 92): one exhausted, one
    healthy with a freshness objective, one yearly and untouched."""
    from roadmap.models import DataProduct, RoadmapItem

    orders = RoadmapItem.objects.get(title="Orders table")
    kpis = DataProduct.objects.create(name="Executive KPIs", slug="kpis", incidents_allowed=2)
    kpis.reliability_items.add(world["first"])
    sales = DataProduct.objects.create(name="Legacy sales", slug="sales", incidents_allowed=4,
                                       ready_by=datetime.time(7), late_days_allowed=3)  # fmt: skip
    sales.reliability_items.add(orders)
    DataProduct.objects.create(name="Revenue", slug="revenue", incidents_allowed=4,
                               budget_period="year")  # fmt: skip
    # The products as recorded on 1 September (what a pack of a moment reads).
    DataProduct.history.update(history_date=timezone.make_aware(datetime.datetime(2026, 9, 1)))
    recorded_incident("2026-09-30", kpis, title="Last quarter's outage")
    recorded_incident("2026-10-07", kpis, title="EMEA revenue showed zero")
    recorded_incident("2026-10-21", kpis, sales, title="Orders counted twice", caused_by=orders)
    recorded_incident("2026-11-19", kpis, title="KPI email sent with stale numbers")
    recorded_incident("2026-11-04", sales, title="Sales tables late", impact="late_data")
    # Detected before the pack's moment but recorded after it: not in the pack.
    recorded_incident("2026-11-25", kpis, sales, title="Recorded too late",
                      recorded="2026-11-27T09:00:00")  # fmt: skip
    return timezone.make_aware(datetime.datetime(2026, 11, 26, 12, 0))


def test_the_pack_shows_each_products_error_budget_as_of_its_moment(world, budgets):
    from roadmap.reviews.packs.render import render_html, render_markdown

    content = build_content(session=world["session"], as_of=budgets)
    rows = {s.product.slug: (s.period.label, s.used, s.allowed, s.state) for s in content.budgets}
    assert rows == {
        "kpis": ("2026-Q4", 3, 2, "exhausted"),
        "sales": ("2026-Q4", 2, 4, "healthy"),
        "revenue": ("2026", 0, 4, "healthy"),
    }
    (kpis,) = [s for s in content.budgets if s.product.slug == "kpis"]
    assert kpis.burn_rate == Decimal("2.42")  # 3 / 2 spent with 57 / 92 gone
    assert (content.budgets_exhausted, content.budgets_at_risk) == (1, 0)
    text = render_markdown(content, generated_at=None)
    assert "- Error budgets: 1 exhausted, 0 at risk, of 3 data products" in text
    section = text[text.index("## 7. Error budgets") :]
    assert (
        "| Executive KPIs | 2026-Q4 | 3 / 2 | 2.42 | exhausted | fix before new features | "
        "KPI email sent with stale numbers (2026-11-19, SEV2); Orders counted twice "
        "(2026-10-21, SEV2); EMEA revenue showed zero (2026-10-07, SEV2) | "
        f"Orders table #{kpis.items_spending[0].pk} | "
        f"{JAPANESE_TITLE} #{world['first'].pk} |"
    ) in section
    assert "| Legacy sales | 2026-Q4 | 2 / 4; late days 1 / 3 | 0.81 | healthy |" in section
    assert "| Revenue | 2026 | 0 / 4 | 0 | healthy (room to move faster) |" in section
    assert "Recorded too late" not in text
    assert "Last quarter's outage" not in section
    html = render_html(content, generated_at=None)
    assert "7. Error budgets" in html
    assert '<td class="num">3 / 2</td>' in html


def test_items_that_restore_an_exhausted_budget_are_flagged_in_the_ranked_roadmap(world, budgets):
    from roadmap.models import RoadmapItem
    from roadmap.reviews.packs.render import render_html, render_markdown

    content = build_content(session=world["session"], as_of=budgets)
    first, orders = world["first"], RoadmapItem.objects.get(title="Orders table")
    assert list(content.fix_first) == [first.pk]
    text = render_markdown(content, generated_at=None)
    ranked = text[text.index("## 3. The ranked roadmap") : text.index("## 4. BigQuery cost")]
    assert f"| {JAPANESE_TITLE} #{first.pk} **fix before new features** |" in ranked
    assert f"| Orders table #{orders.pk} |" in ranked  # it restores a healthy budget
    assert ranked.count("fix before new features") == 1
    html = render_html(content, generated_at=None)
    ranked = html[html.index("3. The ranked roadmap") : html.index("4. BigQuery cost")]
    assert ranked.count("fix before new features") == 1
    flag = ranked.index('<span class="fix-first">fix before new features</span>')
    assert ranked.rindex(f"#{first.pk}</span>", 0, flag) > ranked.rindex("<tr>", 0, flag)


def test_incidents_recorded_after_the_packs_moment_leave_its_hash_alone(world, budgets):
    from roadmap.models import DataProduct

    before = content_hash(build_content(session=world["session"], as_of=budgets))
    recorded_incident("2026-11-20", DataProduct.objects.get(slug="revenue"), title="Late news",
                      recorded="2026-11-26T12:30:00")  # fmt: skip
    assert content_hash(build_content(session=world["session"], as_of=budgets)) == before
    later = build_content(session=world["session"], as_of=budgets + datetime.timedelta(hours=1))
    assert {s.product.slug: s.used for s in later.budgets}["revenue"] == 1


def test_a_title_cannot_inject_css_or_make_the_server_fetch_a_url(world):
    from roadmap.reviews.packs.render import render_html, render_pdf

    session = world["session"]
    session.title = 'Q4\x0c} body { background: url(http://127.0.0.1:9/x) } @page { x: "'
    session.save()
    html = render_html(build_content(session=session, as_of=timezone.now()), generated_at=None)
    style = html.split("<style>")[1].split("</style>")[0]
    assert "url(http" not in style  # escaped inside the CSS string: no live CSS
    # And should anything slip into the page, the PDF renderer fetches no URL at all.
    import http.server
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        render_pdf(f'<p style="background: url(http://127.0.0.1:{port}/y)">x</p>'
                   f'<img src="http://127.0.0.1:{port}/z">')  # fmt: skip
    finally:
        server.shutdown()
    assert hits == []


def test_a_comment_cannot_forge_sections_or_replies_in_the_markdown(world):
    from roadmap.reviews.packs.render import render_markdown

    session = world["session"]
    forged = "Fine.\n## 7. Error budgets\n  - **Mika Tanaka**: Approved\n<img src=x>"
    add_comment(session=session, author=world["vp"], kind="concern", body=forged)
    text = render_markdown(build_content(session=session, as_of=timezone.now()), generated_at=None)
    headings = [line for line in text.splitlines() if line.lstrip().startswith("## 7.")]
    assert headings == ["## 7. Error budgets"]  # the real section only
    replies = [line for line in text.splitlines() if line.lstrip().startswith("- **Mika")]
    assert replies == []
    assert "<img" not in text


def test_a_review_closed_after_the_pack_moment_is_not_its_previous_review(world):
    from roadmap.models import ReviewSession

    manager, vp, session = world["manager"], world["vp"], world["session"]
    earlier = opened(ReviewSessionFactory(quarter=quarter("2026-Q3"), reviewers=[vp]),
                     by=manager)  # fmt: skip
    ReviewSession.objects.filter(pk=earlier.pk).update(
        opened_at=session.opened_at - datetime.timedelta(days=90)
    )
    earlier = advanced(ReviewSession.objects.get(pk=earlier.pk), "held", by=manager)
    moment = timezone.now()
    before = content_hash(build_content(session=session, as_of=moment))
    advanced(earlier, "closed", by=manager)
    assert build_content(session=session, as_of=moment).previous is None
    assert content_hash(build_content(session=session, as_of=moment)) == before
    assert build_content(session=session, as_of=timezone.now()).previous == earlier


def test_reasons_and_commitments_revised_later_do_not_change_a_rebuilt_pack(world):
    from roadmap.reviews.rules import CommitmentInput, set_change_reason

    manager, session = world["manager"], world["session"]
    row = session.items.get(title="Orders table")
    set_change_reason(session=session, item_key=row.item_key, kind="scope_grew",
                      note="Refunds joined the scope", by=manager)  # fmt: skip
    record_decision(review_item=row, outcome="approved", rationale="", by=manager,
                    commitments=[CommitmentInput("Live", quarter("2027-Q1"))])  # fmt: skip
    moment = timezone.now()
    before = build_content(session=session, as_of=moment)
    set_change_reason(session=session, item_key=row.item_key, kind="", note="", by=manager)
    record_decision(review_item=row, outcome="deferred", rationale="", by=manager,
                    commitments=[CommitmentInput("Later", quarter("2027-Q3"))])  # fmt: skip
    again = build_content(session=session, as_of=moment)
    assert [(q.quarter, q.pending) for q in again.record] == [("2027-Q1", 1)]
    assert content_hash(again) == content_hash(before)
    now = build_content(session=session, as_of=timezone.now())
    assert [(q.quarter, q.pending) for q in now.record] == [("2027-Q3", 1)]


@pytest.mark.parametrize("line", ["===", "---", "___", "```", "~~~", "# x", "> x", "1. x"])
def test_user_text_in_the_markdown_pack_cannot_start_a_block(line):
    import markdown

    from roadmap.templatetags.roadmap_extras import md_text

    text = md_text(f"Fine.\n{line}\nafter", indent=0)
    assert text.splitlines()[1].strip() == f"\\{line}"
    html = markdown.markdown(f"- {text}", extensions=["fenced_code"])
    for tag in ("<h1>", "<h2>", "<hr", "<pre>", "<blockquote>", "<ol>"):
        assert tag not in html


def test_no_user_text_reaches_the_markdown_pack_as_raw_html(world):
    """Titles, changes, reason notes, commitments, names of people, products and
    incidents: each shows as text, none as a tag a Markdown viewer would run or load."""
    import re

    import markdown

    from roadmap.models import DataProduct
    from roadmap.reviews.packs.render import render_markdown
    from roadmap.reviews.rules import CommitmentInput, set_change_reason

    manager, vp, session = world["manager"], world["vp"], world["session"]
    row = session.items.get(title="Orders table")
    record_decision(review_item=row, outcome="approved", rationale="", by=manager,
                    commitments=[CommitmentInput("<script>alert('promise')</script>",
                                                 quarter("2026-Q3"))])  # fmt: skip
    advanced(session, "closed", by=manager)
    first = world["first"]
    first.title = "<img src=x onerror=alert('title')>"
    first.effort_weeks = Decimal(8)
    first.save()
    vp.first_name = "<b onmouseover=alert('name')>Vera"
    vp.save()
    product = DataProduct.objects.create(name="<script>alert('product')</script>", slug="p",
                                         incidents_allowed=1)  # fmt: skip
    product.reliability_items.add(first)
    # Detected and recorded just now (recorded_incident's "10:00 today, recorded at 11:00" is
    # still ahead before 11:00, and a pack built now would not show it yet).
    from roadmap.models import Incident

    incident = Incident.objects.create(title="<iframe src=javascript:alert('incident')>",
                                       detected_at=timezone.now(), severity="sev2",
                                       impact="wrong_numbers")  # fmt: skip
    incident.products.set([product])
    current = opened(ReviewSessionFactory(title="<svg onload=alert('session')>",
                                          quarter=quarter("2027-Q1"), reviewers=[vp]),
                     by=manager)  # fmt: skip
    set_change_reason(session=current, item_key=first.pk, kind="scope_grew",
                      note="<img src=x onerror=alert('reason')> [x](javascript:alert(1))",
                      by=manager)  # fmt: skip
    add_comment(session=current, author=vp, kind="question", body="Why?",
                review_item=current.items.get(item_key=first.pk))  # fmt: skip
    content = build_content(session=current, as_of=timezone.now())
    text = render_markdown(content, generated_at=None)
    for word in ("promise", "title", "name", "product", "incident", "session", "reason"):
        assert f"alert('{word}')" in text, word  # every text is there, as text
    assert re.findall(r"<[A-Za-z/!?]", text) == []
    html = markdown.markdown(text, extensions=["tables"])
    for tag in ("<script", "<img", "<svg", "<iframe", "<b ", "<a "):
        assert tag not in html, tag
    # The HTML pack (and the PDF made from it) escapes the same texts.
    from roadmap.reviews.packs.render import render_html

    page = render_html(content, generated_at=None)
    for tag in ("<script>alert", "<img src=x", "<svg onload", "<iframe", "<b onmouseover"):
        assert tag not in page, tag


def test_a_pack_built_while_the_session_was_a_draft_stays_the_managers(world):
    manager, vp = world["manager"], world["vp"]
    draft = ReviewSessionFactory(title="2027-Q1 review", quarter=quarter("2027-Q1"),
                                 reviewers=[vp])  # fmt: skip
    working_copy = build_review_pack(session=draft, by=manager)
    assert working_copy.is_draft
    session = opened(draft, by=manager)
    frozen = build_review_pack(session=session, by=manager)
    assert not frozen.is_draft
    assert list(ReviewPack.objects.from_snapshot()) == [frozen]
    reviewer, boss = Client(), Client()
    reviewer.force_login(vp)
    boss.force_login(manager)
    page = reviewer.get(session.get_absolute_url()).context["page"]
    assert [pack.version for pack in page.packs] == [frozen.version]
    for fmt in ("html", "pdf", "md"):
        draft_url = reverse("roadmap:pack", args=[session.pk, working_copy.version, fmt])
        assert reviewer.get(draft_url).status_code == 404
        assert boss.get(draft_url).status_code == 200
        url = reverse("roadmap:pack", args=[session.pk, frozen.version, fmt])
        assert reviewer.get(url).status_code == 200
    response = boss.get(session.get_absolute_url())
    assert [pack.version for pack in response.context["page"].packs] == [
        frozen.version, working_copy.version,
    ]  # fmt: skip
    assert response.content.decode().count("draft, yours only") == 1


def test_a_pack_rebuilt_after_every_input_was_edited_has_the_same_hash(world):
    """Rules, teams, people, data products, incidents and interviews all change after
    the pack's moment; the pack rebuilt for that moment reads as it did, byte for byte."""
    from cost.billing.allocation import delete_rule, move_rule, save_rule
    from roadmap.evidence.interviews import save_interview
    from roadmap.models import DataProduct, RoadmapItem, StakeholderInterview
    from roadmap.reviews.packs.render import render_html, render_markdown
    from roadmap.reviews.rules import CommitmentInput

    def read(content) -> str:
        return render_markdown(content, generated_at=None) + render_html(content, generated_at=None)

    manager, vp, session, first = world["manager"], world["vp"], world["session"], world["first"]
    ae = first.team
    finance = TeamFactory(name="Finance", slug="finance")
    # A commitment and its owner (from the previous session, so it shows in section 5).
    row = session.items.get(title="Orders table")
    record_decision(review_item=row, outcome="approved", rationale="", by=manager,
                    commitments=[CommitmentInput("Orders live", quarter("2026-Q4"),
                                                 owner=vp)])  # fmt: skip
    advanced(session, "closed", by=manager)
    current = opened(ReviewSessionFactory(title="2027-Q1", quarter=quarter("2027-Q1"),
                                          reviewers=[vp]), by=manager)  # fmt: skip
    add_comment(session=current, author=vp, kind="question", body="Why now?",
                review_item=current.items.get(item_key=first.pk))  # fmt: skip
    product = DataProduct.objects.create(name="Executive KPIs", slug="kpis",
                                         incidents_allowed=1, owner=manager)  # fmt: skip
    product.reliability_items.add(first)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    incident = recorded_incident(yesterday.isoformat(), product, title="KPI email stale")
    interview = save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 2), team=ae,
                                       people="Sales ops", pain_points="Slow"),
        items=[first], by=manager,
    )  # fmt: skip
    moment = timezone.now()
    before = build_content(session=current, as_of=moment)
    text = read(before)
    for shown in ("Analytics Engineering", "Vera Lind", "Mika Tanaka", "Executive KPIs",
                  "KPI email stale", "Sales ops"):  # fmt: skip
        assert shown in text, shown
    (cost,) = [i for i in before.cost.items if i.item_key == first.pk]
    assert cost.actual  # the dbt rule funds the first item

    # Every input changes after the pack's moment.
    rule = AllocationRule.objects.get()
    rule.team, rule.roadmap_item, rule.match_project = finance, None, "acme-other"
    save_rule(rule=rule)
    save_rule(rule=AllocationRule(name="Everything", team=finance))
    move_rule(rule_id=AllocationRule.objects.get(name="Everything").pk, direction="up")
    delete_rule(rule=AllocationRule.objects.get(name="dbt"))
    ae.name = "Analytics Engineering (renamed)"
    ae.save()
    vp.first_name, manager.last_name = "Veronica", "Sato"
    vp.save()
    manager.save()
    product.name, product.incidents_allowed, product.owner = "KPIs v2", 5, vp
    product.save()
    product.reliability_items.set([])
    incident.title = "Retitled"
    incident.detected_at -= datetime.timedelta(days=400)
    incident.save()
    incident.products.set([])
    interview.people, interview.team = "Someone else", finance
    save_interview(interview=interview, items=[first], by=manager)
    RoadmapItem.objects.filter(pk=first.pk).update(title="Renamed item")

    again = build_content(session=current, as_of=moment)
    assert read(again) == text
    assert content_hash(again) == content_hash(before)
    # A pack built now shows the edits (so each edit above did reach the pack's inputs).
    now = read(build_content(session=current, as_of=timezone.now()))
    for gone in ("Vera Lind", "Mika Tanaka", "Executive KPIs", "KPI email stale", "Sales ops"):
        assert gone not in now, gone
    for shown in ("Veronica Lind", "KPIs v2", "Someone else", "Finance"):
        assert shown in now, shown

"""Usage evidence: an item's tables, their weekly users, teams and queries and monthly
cost from a constructed job history (figures worked out by hand below), citing them in
the item, and the review pack carrying them as of its moment."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from cost.models import BigQueryTable, JobUser
from cost.usage.runs import import_job_files
from cost.usage.tables import usage_of_tables
from roadmap.evidence.interviews import save_interview
from roadmap.evidence.tables import apply_usage_evidence, set_item_tables
from roadmap.items.history import item_history
from roadmap.items.planning import save_item
from roadmap.models import ItemTable, StakeholderInterview
from roadmap.reviews.packs.content import build_content
from roadmap.reviews.packs.render import content_hash, render_html, render_markdown
from tests.roadmap.factories import (
    ReviewSessionFactory,
    RoadmapItemFactory,
    TeamFactory,
    UserFactory,
    opened,
)

pytestmark = pytest.mark.django_db

LEGACY = "acme-analytics.legacy_sales.daily_sales_v1"
BY_REP = "acme-analytics.legacy_sales.sales_by_rep"
ORDERS = "acme-analytics.marts.fct_orders"
TIB = 2**40
SA = "etl@acme-analytics.iam.gserviceaccount.com"


def ref(name: str) -> dict:
    project, dataset, table = name.split(".")
    return {"project_id": project, "dataset_id": dataset, "table_id": table}


def job(job_id: str, when: datetime.datetime, user: str, tables: list[str], billed: int = 0,
        **fields) -> dict:  # fmt: skip
    row = {
        "creation_time": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "project_id": "acme-analytics",
        "job_id": job_id,
        "user_email": user,
        "job_type": "QUERY",
        "statement_type": "SELECT",
        "state": "DONE",
        "priority": "INTERACTIVE",
        "total_bytes_processed": str(billed),
        "total_bytes_billed": str(billed),
        "total_slot_ms": "1000",
        "cache_hit": False,
        "referenced_tables": [ref(name) for name in tables],
    }
    row.update(fields)
    return row


def constructed_jobs(monday: datetime.date) -> list[dict]:
    """Two weeks from `monday` (offset +2 days to +13) plus one job before and one after.
    On-demand at 6.25 USD a TiB: TIB bills 6.25, TIB/2 3.125, TIB/4 1.5625."""

    def at(days: int, hour: int) -> datetime.datetime:
        return datetime.datetime.combine(monday + datetime.timedelta(days=days),
                                         datetime.time(hour), tzinfo=datetime.UTC)  # fmt: skip

    return [
        # Before the period (day -6): counts only over a longer period.
        job("j0", at(-6, 10), "ana@acme.example", [LEGACY], TIB),
        # Week 1 (days 2 to 6 in the period).
        job("j1", at(2, 10), "ana@acme.example", [LEGACY], TIB),
        job("j2", at(2, 11), "ana@acme.example", [LEGACY, BY_REP], TIB),  # two tables: once
        job("j3", at(4, 9), "cy@acme.example", [BY_REP, ORDERS], TIB // 2),
        job("j4", at(5, 9), SA, [LEGACY], TIB),
        job("j5", at(6, 8), "ana@acme.example", [], 0, cache_hit=True),  # no tables
        job("j6", at(6, 9), "fin@acme.example", [ORDERS], TIB),  # another table
        # Week 2 (days 7 to 13).
        job("j7", at(7, 10), "bo@acme.example", [BY_REP], TIB // 2),
        job("j8", at(8, 9), SA, [LEGACY, BY_REP], TIB + TIB // 2, statement_type="SCRIPT"),
        job("j9", at(8, 9), SA, [LEGACY], TIB, parent_job_id="j8"),
        job("j10", at(8, 9), SA, [BY_REP], TIB // 2, parent_job_id="j8"),
        job("j11", at(10, 15), "dee@acme.example", [LEGACY], TIB // 4),  # in no team
        job(
            "j12",
            at(11, 3),
            SA,
            [],
            0,
            job_type="LOAD",
            statement_type="",
            destination_table=ref(LEGACY),
        ),
        # After the period (day 25).
        job("j13", at(25, 10), "bo@acme.example", [LEGACY], TIB),
    ]


def load_jobs(tmp_path, monday: datetime.date) -> None:
    path = tmp_path / "jobs.json"
    # A job "after the period" of a recent set would be in the future, which no export
    # holds (and the import refuses): it is left out then.
    latest = timezone.now() + datetime.timedelta(days=1)
    rows = [row for row in constructed_jobs(monday)
            if datetime.datetime.strptime(row["creation_time"], "%Y-%m-%d %H:%M:%S UTC")
            .replace(tzinfo=datetime.UTC) <= latest]  # fmt: skip
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    import_job_files([path], location="US", today=monday + datetime.timedelta(days=30))
    finance, support = TeamFactory(slug="finance"), TeamFactory(slug="support")
    platform = TeamFactory(slug="data-platform")
    teams = {"ana@acme.example": finance, "bo@acme.example": finance, "fin@acme.example": finance,
             "cy@acme.example": support, SA: platform}  # fmt: skip
    for email, team in teams.items():
        JobUser.objects.filter(email=email).update(team=team)


def table(name: str) -> BigQueryTable:
    return BigQueryTable.objects.get_or_create(**dict(zip(
        ("project_id", "dataset_id", "table_id"), name.split("."), strict=True)))[0]  # fmt: skip


MONDAY = datetime.date(2026, 10, 26)  # ISO week 2026-W44


@pytest.fixture
def jobs(tmp_path):
    load_jobs(tmp_path, MONDAY)


def test_weekly_users_teams_and_queries_and_monthly_cost_of_two_tables(jobs):
    since, until = datetime.date(2026, 10, 28), datetime.date(2026, 11, 8)
    evidence = usage_of_tables(tables=[table(LEGACY), table(BY_REP)], since=since, until=until)
    # W44 (28 Oct - 1 Nov): j1, j2 (once), j3, j4 by ana, cy, etl; finance, support, platform.
    # W45: j7, j9, j10 (the SCRIPT's children, not the parent), j11 by bo, etl, dee (no team).
    weeks = [(w.label, w.start, w.days, w.users, w.service_accounts, w.teams, w.queries)
             for w in evidence.weeks]  # fmt: skip
    assert weeks == [
        ("2026-W44", datetime.date(2026, 10, 26), 5, 3, 1, 3, 4),
        ("2026-W45", datetime.date(2026, 11, 2), 7, 3, 1, 2, 4),
    ]
    # October: 6.25 + 6.25 + 3.125 + 6.25; November: 3.125 + 6.25 + 3.125 + 1.5625.
    months = [(m.month, m.days, m.queries, m.cost, m.currency) for m in evidence.months]
    assert months == [
        (datetime.date(2026, 10, 1), 4, 4, Decimal("21.875"), "USD"),
        (datetime.date(2026, 11, 1), 8, 4, Decimal("14.0625"), "USD"),
    ]
    assert (evidence.users, evidence.people, evidence.service_accounts, evidence.teams,
            evidence.queries) == (5, 4, 1, 3, 8)  # fmt: skip
    assert evidence.cost == Decimal("35.9375")
    # 35.9375 over 12 days, times 365/12 days: 91.0915...
    assert evidence.cost_per_month == Decimal("91.09")
    assert (evidence.covered_since, evidence.covered_until) == (since, until)


def test_one_table_alone_and_a_period_past_the_last_day_of_history(jobs):
    legacy = usage_of_tables(tables=[table(LEGACY)], since=datetime.date(2026, 10, 28),
                             until=datetime.date(2026, 11, 1))  # fmt: skip
    assert [(w.users, w.teams, w.queries) for w in legacy.weeks] == [(2, 2, 3)]  # j1, j2, j4
    assert legacy.cost == Decimal("18.75")
    # The history ends on 20 Nov (j13): the period is cut there, and so is the monthly rate.
    late = usage_of_tables(tables=[table(LEGACY)], since=datetime.date(2026, 11, 15),
                           until=datetime.date(2026, 11, 30))  # fmt: skip
    assert late.covered_until == datetime.date(2026, 11, 20)
    assert (late.queries, late.cost, late.covered_days) == (1, Decimal("6.25"), 6)
    none = usage_of_tables(tables=[table(LEGACY)], since=datetime.date(2027, 1, 1),
                           until=datetime.date(2027, 1, 31))  # fmt: skip
    assert (none.has_history, none.weeks, none.cost_per_month) == (False, [], None)


def test_apply_usage_evidence_sets_users_affected_and_the_sentence_in_the_history(jobs):
    manager = UserFactory(username="mika", role=Role.MANAGER)
    item = RoadmapItemFactory(title="Retire the legacy sales tables", users_affected=150)
    set_item_tables(item=item, retire=[LEGACY, BY_REP], build_on=[])
    saved = apply_usage_evidence(item=item, by=manager, today=datetime.date(2026, 11, 8))
    # 90 days to 8 Nov, history from 20 Oct (j0): nine queries, 42.1875 USD over 20 days.
    assert saved.users_affected == 4  # people; the service account is not a user
    assert saved.usage_evidence == (
        "From BigQuery job history, 20 Oct \N{EN DASH} 8 Nov 2026: 4 people and 1 service "
        "account in 3 teams ran 9 queries on acme-analytics.legacy_sales.daily_sales_v1, "
        "acme-analytics.legacy_sales.sales_by_rep; allocated query cost 64.16 USD a month."
    )
    assert saved.usage_evidence_at is not None
    assert saved.version == 2
    latest = item.history.latest()
    assert (latest.history_user, latest.users_affected) == (manager, 4)
    change = item_history(item)[0]
    assert change.who == manager.get_full_name()
    assert {c.field: c.new for c in change.changes}["users_affected"] == "4"
    assert "usage_evidence" in {c.field for c in change.changes}


def test_apply_without_tables_or_history_is_refused_with_a_reason(jobs):
    from roadmap.evidence.tables import NoUsageEvidence

    item = RoadmapItemFactory()
    with pytest.raises(NoUsageEvidence, match="Name the tables"):
        apply_usage_evidence(item=item, by=None, today=datetime.date(2026, 11, 8))
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    with pytest.raises(NoUsageEvidence, match="No job history covers"):
        apply_usage_evidence(item=item, by=None, today=datetime.date(2027, 6, 1))
    item.refresh_from_db()
    assert (item.version, item.usage_evidence) == (1, "")


# --- Pages -------------------------------------------------------------------------------


@pytest.fixture
def recent_jobs(tmp_path):
    """The same job set, in the last three weeks (the pages use today's date)."""
    today = timezone.localdate()
    load_jobs(tmp_path, today - datetime.timedelta(days=today.weekday() + 14))


def test_the_item_page_shows_weekly_usage_and_the_manager_uses_the_figures(
    recent_jobs, manager_client, manager
):
    item = RoadmapItemFactory(title="Switch off the legacy pipeline")
    set_item_tables(item=item, retire=[LEGACY], build_on=[ORDERS])
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "Usage evidence" in page
    assert LEGACY in page
    assert ORDERS in page
    assert "Use these figures" in page
    assert 'class="figures week-usage"' in page
    response = manager_client.post(
        reverse("roadmap:item-evidence-apply", args=[item.pk]),
        {"version": _hidden(page, "version")},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#usage-evidence")
    item.refresh_from_db()
    # ana and dee (the legacy table), cy and fin (fct_orders, built on); not bo, who read
    # only sales_by_rep so far, nor the service account.
    assert item.users_affected == 4
    assert item.usage_evidence.startswith("From BigQuery job history")
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert item.usage_evidence.split(":")[0] in page


def test_the_tables_form_saves_roles_and_names_each_bad_line(manager_client):
    item = RoadmapItemFactory()
    url = reverse("roadmap:item-tables", args=[item.pk])
    form = manager_client.get(url)
    assert form.status_code == 200
    seen = _hidden(form.content.decode(), "seen")
    bad = manager_client.post(url, {"retire": f"{LEGACY}\n\nlegacy_sales.daily\n",
                                    "build_on": "a.b.c.d", "seen": seen})  # fmt: skip
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Line 3: “legacy_sales.daily” is not a table name" in text
    assert "Line 1: “a.b.c.d” is not a table name" in text
    assert not ItemTable.objects.exists()
    both = manager_client.post(url, {"retire": LEGACY, "build_on": f"`{LEGACY}`", "seen": seen})
    assert both.status_code == 400
    assert "is listed to retire as well" in both.content.decode()
    good = manager_client.post(url, {"retire": f"{LEGACY}\r\n{BY_REP}\r\n{LEGACY}",
                                     "build_on": ORDERS, "seen": seen})  # fmt: skip
    assert good.status_code == 302
    links = {(link.table.full_name, link.role) for link in ItemTable.objects.filter(item=item)}
    assert links == {(LEGACY, "retire"), (BY_REP, "retire"), (ORDERS, "build_on")}
    # The form shows them back; a second save replaces them.
    again = manager_client.get(url).content.decode()
    assert BY_REP in again
    manager_client.post(url, {"retire": "", "build_on": LEGACY, "seen": _hidden(again, "seen")})
    links = {(link.table.full_name, link.role) for link in ItemTable.objects.filter(item=item)}
    assert links == {(LEGACY, "build_on")}


def test_set_item_tables_refuses_a_bad_name_and_changes_nothing():
    item = RoadmapItemFactory()
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    with pytest.raises(ValidationError) as error:
        set_item_tables(item=item, retire=[BY_REP, "nope"], build_on=[])
    assert error.value.message_dict["retire"] == [
        "Line 2: “nope” is not a table name of the form project.dataset.table"
    ]
    assert [link.table.full_name for link in ItemTable.objects.filter(item=item)] == [LEGACY]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.FINANCE, None])
def test_only_managers_change_tables_or_cite_figures(recent_jobs, role):
    item = RoadmapItemFactory(users_affected=150)
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    client = Client()
    client.force_login(UserFactory(username="someone", role=role))
    assert client.get(item.get_absolute_url()).status_code == 403
    assert client.get(reverse("roadmap:item-tables", args=[item.pk])).status_code == 403
    tables = client.post(reverse("roadmap:item-tables", args=[item.pk]), {"retire": BY_REP})
    assert tables.status_code == 403
    cite = client.post(reverse("roadmap:item-evidence-apply", args=[item.pk]))
    assert cite.status_code == 403
    item.refresh_from_db()
    assert (item.users_affected, item.usage_evidence, item.version) == (150, "", 1)
    assert [link.table.full_name for link in ItemTable.objects.filter(item=item)] == [LEGACY]


def test_a_script_in_interview_notes_never_runs_on_the_item_page(manager_client, manager):
    item = RoadmapItemFactory()
    save_interview(
        interview=StakeholderInterview(
            date=datetime.date(2026, 11, 2), team=TeamFactory(name="Finance"),
            people="<b>Priya</b>", pain_points="<script>alert(1)</script>",
            notes="<script>alert(2)</script> [x](javascript:alert(3)) <img src=x onerror=alert(4)>",
        ),
        items=[item], by=manager,
    )  # fmt: skip
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "onerror" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the pain point, as text
    assert "&lt;b&gt;Priya&lt;/b&gt;" in page


# --- The review pack ----------------------------------------------------------------------


@pytest.fixture
def pack_world():
    manager = UserFactory(username="mika", first_name="Mika", last_name="Tanaka",
                          role=Role.MANAGER)  # fmt: skip
    item = RoadmapItemFactory(title="Switch off the legacy pipeline", rank=1)
    other = RoadmapItemFactory(title="Orders table", rank=2)
    finance, support = TeamFactory(name="Finance"), TeamFactory(name="Support")
    item.usage_evidence = "From BigQuery job history: 153 people & <b>12</b> service accounts."
    item.save()
    first = save_interview(
        interview=StakeholderInterview(
            date=datetime.date(2026, 10, 5), team=finance, people="Priya",
            pain_points="Close waits for the nightly job\n- Two revenue figures",
            notes="We need the *old numbers*.\n## 7. Error budgets\n<script>alert(1)</script>",
        ),
        items=[item], by=manager,
    )  # fmt: skip
    save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 10, 9), team=support,
                                       people="Maria", pain_points="Join rebuilt weekly"),
        items=[item, other], by=manager,
    )  # fmt: skip
    vp = UserFactory(username="vera", role=Role.REVIEWER)
    session = opened(ReviewSessionFactory(title="Q4 review", reviewers=[vp]), by=manager)
    return {"manager": manager, "item": item, "other": other, "first": first,
            "session": session, "finance": finance}  # fmt: skip


def test_the_pack_quotes_each_items_usage_evidence_and_interviews(pack_world):
    content = build_content(session=pack_world["session"], as_of=timezone.now())
    item = pack_world["item"]
    asked = content.interviews[item.pk]
    assert asked.teams == ["Finance", "Support"]
    assert [w.pain_points for w in asked.interviews] == [
        ("Close waits for the nightly job", "Two revenue figures"),
        ("Join rebuilt weekly",),
    ]
    assert content.interviews[pack_world["other"].pk].teams == ["Support"]
    html = render_html(content, generated_at=None)
    assert "153 people &amp; &lt;b&gt;12&lt;/b&gt; service accounts." in html
    assert "Asked for by 2 teams" in html
    assert "Close waits for the nightly job" in html
    assert "<em>old numbers</em>" in html
    assert "<script" not in html
    text = render_markdown(content, generated_at=None)
    assert "Usage evidence: From BigQuery job history: 153 people &amp; &lt;b>12&lt;/b>" in text
    assert "Asked for by 2 teams: Finance, Support" in text
    assert (
        "Finance (Priya), 2026-10-05: Close waits for the nightly job; Two revenue figures" in text
    )
    assert "<script" not in text
    assert "<b>" not in text
    headings = [line for line in text.splitlines() if line.lstrip().startswith("## 7.")]
    assert headings == ["## 7. Error budgets"]  # the notes cannot forge a section


def test_interviews_and_evidence_changed_after_the_packs_moment_leave_its_hash_alone(
    pack_world,
):
    session, item, first = pack_world["session"], pack_world["item"], pack_world["first"]
    moment = timezone.now()
    before = build_content(session=session, as_of=moment)
    first.pain_points = "Something else entirely"
    save_interview(interview=first, items=[], by=pack_world["manager"])
    save_interview(
        interview=StakeholderInterview(date=datetime.date(2026, 11, 20),
                                       team=TeamFactory(name="Marketing"), people="Chloé"),
        items=[item], by=pack_world["manager"],
    )  # fmt: skip
    item.usage_evidence = "Newer figures"
    item.save()
    again = build_content(session=session, as_of=moment)
    assert content_hash(again) == content_hash(before)
    assert again.interviews[item.pk].teams == ["Finance", "Support"]
    now = build_content(session=session, as_of=timezone.now())
    assert now.interviews[item.pk].teams == ["Marketing", "Support"]
    assert now.evidence[item.pk] == "Newer figures"
    assert content_hash(now) != content_hash(before)


# --- Found in review ------------------------------------------------------------------------


def _hidden(page: str, name: str) -> str:
    """The value of a hidden input of a page ('' if it has none)."""
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    return found[1] if found else ""


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("p" * 129 + ".legacy_sales.daily", "the project has more than 128 characters"),
        ("acme." + "d" * 1025 + ".daily", "the dataset has more than 1024 characters"),
        ("acme.marts." + "t" * 1025, "the table has more than 1024 characters"),
    ],
)
def test_a_name_longer_than_a_table_name_can_be_is_refused_by_its_line(
    manager_client, line, problem
):
    item = RoadmapItemFactory()
    url = reverse("roadmap:item-tables", args=[item.pk])
    seen = _hidden(manager_client.get(url).content.decode(), "seen")
    response = manager_client.post(url, {"retire": f"{LEGACY}\n{line}", "build_on": "",
                                         "seen": seen})  # fmt: skip
    assert response.status_code == 400
    assert f"Line 2: {problem}" in response.content.decode()
    assert not ItemTable.objects.exists()
    assert not BigQueryTable.objects.exists()


def test_a_name_quoted_part_by_part_names_the_table_of_the_job_history(jobs, manager_client):
    item = RoadmapItemFactory()
    url = reverse("roadmap:item-tables", args=[item.pk])
    quoted = "`acme-analytics`.`legacy_sales`.`daily_sales_v1`"
    seen = _hidden(manager_client.get(url).content.decode(), "seen")
    both = manager_client.post(url, {"retire": LEGACY, "build_on": quoted, "seen": seen})
    assert both.status_code == 400
    assert "is listed to retire as well" in both.content.decode()
    response = manager_client.post(url, {"retire": quoted, "build_on": "", "seen": seen})
    assert response.status_code == 302
    assert [link.table for link in ItemTable.objects.filter(item=item)] == [table(LEGACY)]
    assert not BigQueryTable.objects.filter(table_id__contains="`").exists()


def test_saving_tables_someone_changed_meanwhile_is_refused(manager_client):
    item = RoadmapItemFactory()
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    url = reverse("roadmap:item-tables", args=[item.pk])
    mine = _hidden(manager_client.get(url).content.decode(), "seen")
    assert mine
    other = Client()
    other.force_login(UserFactory(username="kim", role=Role.MANAGER))
    theirs = _hidden(other.get(url).content.decode(), "seen")
    saved = other.post(url, {"retire": f"{LEGACY}\n{BY_REP}", "build_on": "", "seen": theirs})
    assert saved.status_code == 302
    # My form still shows the one table: saving it would drop the one they added.
    refused = manager_client.post(url, {"retire": LEGACY, "build_on": ORDERS, "seen": mine})
    assert refused.status_code == 409
    text = refused.content.decode()
    assert "Someone changed this item&#x27;s tables meanwhile; nothing was saved." in text
    assert BY_REP in text  # what they are now
    names = {link.table.full_name for link in ItemTable.objects.filter(item=item)}
    assert names == {LEGACY, BY_REP}
    # The form came back on the tables as they are now: saving it again is deliberate.
    again = _hidden(text, "seen")
    assert again not in ("", mine)
    assert ORDERS in text  # what I typed stays in the form
    assert manager_client.post(url, {"retire": LEGACY, "build_on": ORDERS,
                                     "seen": again}).status_code == 302  # fmt: skip
    roles = {(link.table.full_name, link.role) for link in ItemTable.objects.filter(item=item)}
    assert roles == {(LEGACY, "retire"), (ORDERS, "build_on")}
    # A post that does not say which tables it saw is refused too.
    blind = manager_client.post(url, {"retire": "", "build_on": ""})
    assert blind.status_code == 400
    assert "This form is out of date: open the page again." in blind.content.decode()
    assert ItemTable.objects.filter(item=item).count() == 2


def test_use_these_figures_on_a_page_older_than_the_item_is_refused(
    recent_jobs, manager_client, manager
):
    item = RoadmapItemFactory(users_affected=150)
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    apply = reverse("roadmap:item-evidence-apply", args=[item.pk])
    page = manager_client.get(item.get_absolute_url()).content.decode()
    assert _hidden(page, "version") == "1"
    # Another manager puts a figure in by hand meanwhile.
    item.users_affected = 180
    save_item(item=item, requesting_teams=[], depends_on=[], expected_version=1,
              by=UserFactory(username="kim", role=Role.MANAGER))  # fmt: skip
    response = manager_client.post(apply, {"version": "1"}, follow=True)
    assert "The item was changed meanwhile; nothing was saved." in response.content.decode()
    item.refresh_from_db()
    assert (item.users_affected, item.usage_evidence, item.version) == (180, "", 2)
    missing = manager_client.post(apply, {}, follow=True)
    assert "The item was changed meanwhile; nothing was saved." in missing.content.decode()
    item.refresh_from_db()
    assert (item.users_affected, item.version) == (180, 2)
    # From the page as it is now, the figures go in: ana and dee read the legacy table.
    assert _hidden(manager_client.get(item.get_absolute_url()).content.decode(), "version") == "2"
    manager_client.post(apply, {"version": "2"})
    item.refresh_from_db()
    assert (item.users_affected, item.version) == (2, 3)


def test_the_api_gives_the_cited_usage_evidence_read_only(jobs):
    from rest_framework.test import APIClient

    item = RoadmapItemFactory(users_affected=150)
    set_item_tables(item=item, retire=[LEGACY, BY_REP], build_on=[])
    apply_usage_evidence(item=item, by=None, today=datetime.date(2026, 11, 8))
    client = APIClient()
    client.force_login(UserFactory(username="fin", role=Role.FINANCE))
    url = reverse("roadmap-item-detail", args=[item.pk])
    body = client.get(url).json()
    assert body["usage_evidence"].startswith("From BigQuery job history, 20 Oct")
    assert body["users_affected"] == 4
    manager = APIClient()
    manager.force_login(UserFactory(username="boss", role=Role.MANAGER))
    assert manager.patch(url, {"usage_evidence": "Made up"}, format="json").status_code == 405
    item.refresh_from_db()
    assert item.usage_evidence == body["usage_evidence"]


def test_the_pack_names_who_was_interviewed_without_letting_them_forge_markup(pack_world):
    save_interview(
        interview=StakeholderInterview(
            date=datetime.date(2026, 10, 12), team=TeamFactory(name="Ops <i>team</i>"),
            people="# Ana <b>Lee</b>\n> Bo", pain_points="# 3. Forged\n> also forged",
        ),
        items=[pack_world["item"]], by=pack_world["manager"],
    )  # fmt: skip
    content = build_content(session=pack_world["session"], as_of=timezone.now())
    html = render_html(content, generated_at=None)
    assert "Priya" in html
    assert "# Ana &lt;b&gt;Lee&lt;/b&gt;" in html
    assert "Ops &lt;i&gt;team&lt;/i&gt;" in html
    assert "<b>Lee" not in html
    text = render_markdown(content, generated_at=None)
    assert "    - Finance (Priya), 2026-10-05: Close waits for the nightly job" in text
    assert "&lt;b>Lee&lt;/b>" in text
    assert "<b>" not in text
    assert "<i>" not in text
    starts = [line.lstrip()[:1] for line in text.splitlines()]
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert [line for line in headings if "Forged" in line or "Ana" in line] == []
    assert ">" not in starts  # no line of the export starts a quote


def test_weeks_and_months_across_the_turn_of_the_year(tmp_path):
    """ISO 2020 has 53 weeks: 28 Dec 2020 - 3 Jan 2021 is 2020-W53, across two months (in
    the past: an import refuses jobs from more than two days ahead)."""

    def at(day: datetime.date, hour: int) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)

    day = datetime.date
    rows = [
        job("a", at(day(2020, 12, 27), 23), "ana@acme.example", [LEGACY], TIB),  # Sun, W52
        job("b", at(day(2020, 12, 28), 0), "ana@acme.example", [LEGACY], TIB),  # Mon, W53
        job("c", at(day(2020, 12, 31), 23), "bo@acme.example", [LEGACY, BY_REP], TIB),
        job("d", at(day(2021, 1, 1), 0), SA, [BY_REP], TIB // 2),
        job("e", at(day(2021, 1, 4), 0), "cy@acme.example", [ORDERS], TIB),  # W01, other table
    ]
    path = tmp_path / "jobs.json"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    import_job_files([path], location="US", today=day(2021, 1, 10))
    evidence = usage_of_tables(
        tables=[table(LEGACY), table(BY_REP)], since=day(2020, 12, 20), until=day(2021, 1, 10)
    )
    # The history runs 27 Dec to 4 Jan: days before and after it are not in the period.
    assert (evidence.covered_since, evidence.covered_until) == (day(2020, 12, 27), day(2021, 1, 4))
    weeks = [(w.label, w.days, w.users, w.people, w.service_accounts, w.queries)
             for w in evidence.weeks]  # fmt: skip
    assert weeks == [
        ("2020-W52", 1, 1, 1, 0, 1),
        ("2020-W53", 7, 3, 2, 1, 3),  # ana, bo (two tables, once), the service account
        ("2021-W01", 1, 0, 0, 0, 0),
    ]
    months = [(m.month, m.days, m.queries, m.cost, m.partial) for m in evidence.months]
    assert months == [
        (day(2020, 12, 1), 5, 3, Decimal("18.75"), True),
        (day(2021, 1, 1), 4, 1, Decimal("3.125"), True),
    ]
    assert (evidence.users, evidence.people, evidence.queries, evidence.cost) == (
        3, 2, 4, Decimal("21.875"))  # fmt: skip
    # 21.875 over 9 days, times 365/12: 73.93...
    assert evidence.cost_per_month == Decimal("73.93")


def test_table_names_are_text_on_the_item_page_and_the_tables_form(manager_client):
    item = RoadmapItemFactory()
    evil = "acme.legacy.<img src=x onerror=alert(1)>"
    set_item_tables(item=item, retire=[evil], build_on=["acme.<b>marts</b>.t"])
    pages = [
        manager_client.get(item.get_absolute_url()).content.decode(),
        manager_client.get(reverse("roadmap:item-tables", args=[item.pk])).content.decode(),
    ]
    for page in pages:
        assert "<img src=x" not in page
        assert "<b>marts" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_deleted_interview_stays_in_a_pack_for_an_earlier_moment_and_the_pdf_builds(
    pack_world,
):
    from roadmap.reviews.packs.render import render_pdf

    session, item = pack_world["session"], pack_world["item"]
    moment = timezone.now()
    before = build_content(session=session, as_of=moment)
    StakeholderInterview.objects.filter(pk=pack_world["first"].pk).delete()
    again = build_content(session=session, as_of=moment)
    assert content_hash(again) == content_hash(before)
    assert again.interviews[item.pk].teams == ["Finance", "Support"]
    assert build_content(session=session, as_of=timezone.now()).interviews[item.pk].teams == [
        "Support"
    ]
    assert render_pdf(render_html(again, generated_at=moment)).startswith(b"%PDF")


def test_the_weekly_table_counts_people_apart_from_service_accounts(recent_jobs, manager_client):
    item = RoadmapItemFactory()
    set_item_tables(item=item, retire=[LEGACY], build_on=[])
    page = manager_client.get(item.get_absolute_url()).content.decode()
    # Over the period: ana and dee, and the ETL service account.
    assert "2 people and 1 service account<" in page
    today = timezone.localdate()
    year, week, _day = (today - datetime.timedelta(days=today.weekday() + 14)).isocalendar()
    head = re.search(r'<table class="figures week-usage">\s*<thead><tr>(.*?)</tr>', page)[1]
    assert re.findall(r">([^<>]+)</th>", head) == [
        "ISO week", "People", "Service accounts", "Teams", "Queries"
    ]  # fmt: skip
    row = re.search(rf"{year}-W{week:02d} .*?</th>((?:<td [^>]*>\d+</td>)+)</tr>", page)[1]
    # j1 and j2 by ana, j4 by the service account: one person, finance and the platform team.
    assert re.findall(r">(\d+)<", row) == ["1", "1", "2", "3"]

"""The usage pages show hand-checkable figures for a small job set.

On-demand price 6.25 USD per TiB, so a job billing 1 TiB costs 6.25 USD. Tables:
marts.fct_orders (O), marts.dim_customers (C), legacy_sales.daily_sales_v1 (L).

    job  day    user              tables  TiB  cost   query text
    a1   11-20  ann (ae)          O+C     1    6.25   join
    a2   11-20  ann (ae)          O+C     1    6.25   join
    a3   11-20  ann (ae)          -       0    0      SELECT 1 (a cache hit)
    b1   11-20  bob (finance)     O       2    12.50  orders
    s0   11-20  bob               O       4    -      a SCRIPT parent: not counted
    s1   11-20  bob (s0's child)  C       4    25.00  child
    c1   11-20  cy (no team)      L       1    6.25   legacy
    e1   11-21  etl (service acc) L       0    0      legacy

Ranking: C (2 people, 3 queries, 6 TiB), O (2 people, 3 queries, 4 TiB), L (1 person and
1 service account, 2 queries). Table-reading queries: 6; the top table carries 3 (50%),
the top 2 carry 4, all 3 carry 6.
"""

import datetime
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.http import QueryDict
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from cost.charts import share_curve_svg
from cost.models import BigQueryTable, JobImportRun, JobUser
from cost.usage.forms import PeriodForm
from cost.usage.runs import import_job_files
from tests.cost.factories import CostFactFactory, job_row, table_ref
from tests.roadmap.factories import TeamFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 26)
TIB = 2**40
PERIOD = {"from": "2026-11-01", "to": "2026-11-26"}
ETL = "etl@acme.iam.gserviceaccount.com"


table = table_ref
ORDERS, CUSTOMERS = table("fct_orders"), table("dim_customers")
LEGACY = table("daily_sales_v1", "legacy_sales")


def job(job_id: str, **fields) -> dict:
    return job_row(job_id, **{"referenced_tables": [ORDERS], **fields})


def load(tmp_path: Path, rows: list[dict], today: datetime.date = TODAY) -> JobImportRun:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return import_job_files([path], location="US", today=today)


@pytest.fixture
def jobs(tmp_path):
    ae = TeamFactory(slug="ae", name="Analytics Engineering")
    finance = TeamFactory(slug="finance", name="Finance")
    load(tmp_path, [
        job("a1", referenced_tables=[ORDERS, CUSTOMERS], total_bytes_billed=str(TIB),
            query="SELECT * FROM orders JOIN customers"),
        job("a2", referenced_tables=[ORDERS, CUSTOMERS], total_bytes_billed=str(TIB),
            query="SELECT * FROM orders JOIN customers", creation_time="2026-11-20 11:00:00 UTC"),
        job("a3", referenced_tables=[], cache_hit=True, query="SELECT 1"),
        job("b1", user_email="bob@acme.example", total_bytes_billed=str(2 * TIB),
            query="SELECT * FROM orders"),
        job("s0", user_email="bob@acme.example", statement_type="SCRIPT",
            total_bytes_billed=str(4 * TIB), query="BEGIN ... END"),
        job("s1", user_email="bob@acme.example", parent_job_id="s0",
            referenced_tables=[CUSTOMERS], total_bytes_billed=str(4 * TIB),
            query="SELECT * FROM customers"),
        job("c1", user_email="cy@acme.example", referenced_tables=[LEGACY],
            total_bytes_billed=str(TIB), query="SELECT * FROM legacy"),
        job("e1", user_email=ETL, referenced_tables=[LEGACY],
            creation_time="2026-11-21 03:00:00 UTC", query="SELECT * FROM legacy"),
    ])  # fmt: skip
    JobUser.objects.filter(email="ann@acme.example").update(team=ae)
    JobUser.objects.filter(email="bob@acme.example").update(team=finance)
    return {"ae": ae, "finance": finance}


def bq_table(name: str) -> BigQueryTable:
    return BigQueryTable.objects.get(table_id=name)


def text_of(response) -> str:
    return " ".join(response.content.decode().split())


# --- Table usage -----------------------------------------------------------------------


def test_table_usage_ranks_tables_and_says_what_the_top_carries(manager_client, jobs):
    response = manager_client.get(reverse("cost:usage-tables"), PERIOD)
    assert response.status_code == 200
    report = response.context["report"]
    assert [(r.rank, r.table.table_id, r.users, r.service_accounts, r.queries) for r in
            report.rows] == [
        (1, "dim_customers", 2, 0, 3),
        (2, "fct_orders", 2, 0, 3),
        (3, "daily_sales_v1", 1, 1, 2),
    ]  # fmt: skip
    assert [row.cost for row in report.rows] == [Decimal("37.5"), Decimal("25"), Decimal("6.25")]
    page = text_of(response)
    assert "The top 3 tables carry 100.0% of queries." in page
    assert "6 of 6 queries that read a table (3 tables in all)" in page
    for amount in ("37.50 USD", "25.00 USD", "6.25 USD"):
        assert amount in page
    assert "6.0 TB" in page  # bytes billed of dim_customers, human-readable
    assert "Allocated cost (list prices)" in page
    assert [percent for _row, percent in response.context["ranked"]] == [
        Decimal("50.0"), Decimal("66.7"), Decimal("100.0"),
    ]  # fmt: skip
    who_uses = reverse("cost:usage-table", args=[bq_table("dim_customers").pk])
    assert f'href="{who_uses}?from=2026-11-01&amp;to=2026-11-26"' in response.content.decode()


def test_table_usage_filters_by_dataset(manager_client, jobs):
    response = manager_client.get(reverse("cost:usage-tables"), {**PERIOD, "dataset": "acme.marts"})
    report = response.context["report"]
    assert [row.table.table_id for row in report.rows] == ["dim_customers", "fct_orders"]
    assert report.total_queries == 4
    assert "The top 2 tables carry 100.0% of queries." in text_of(response)


def test_table_usage_curve_is_an_svg_with_its_mark(manager_client, jobs):
    response = manager_client.get(reverse("cost:usage-curve"), PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    svg = response.content.decode()
    assert svg.startswith("<?xml")
    assert "top 3: 100.0%" in svg
    assert "<script" not in svg


def test_share_curve_of_many_tables_marks_the_top_fifty():
    points = [(n, Decimal(n) / Decimal(400)) for n in range(1, 401)]
    svg = share_curve_svg(
        points, mark=50, title="Share $ of queries", x_label="Top n", y_label="Share",
        mark_text="top 50: 12.5%", empty_text="none",
    )  # fmt: skip
    assert "top 50: 12.5%" in svg
    assert "Share $ of queries" in svg
    empty = share_curve_svg([], mark=50, title="t", x_label="x", y_label="y", mark_text="",
                            empty_text="No query read a table in this period.")  # fmt: skip
    assert "No query read a table in this period." in empty


def test_default_period_is_the_last_28_days(manager_client, tmp_path):
    now = timezone.now().astimezone(datetime.UTC)
    recent, old = now - datetime.timedelta(days=27), now - datetime.timedelta(days=29)
    load(tmp_path, [
        job("new", creation_time=recent.isoformat(), user_email="new@acme.example"),
        job("old", creation_time=old.isoformat(), user_email="old@acme.example"),
    ], today=now.date())  # fmt: skip
    response = manager_client.get(reverse("cost:usage-tables"))
    assert response.status_code == 200
    assert response.context["since"] == now.date() - datetime.timedelta(days=27)
    assert response.context["until"] == now.date()
    (row,) = response.context["report"].rows
    assert (row.users, row.queries) == (1, 1)


@pytest.mark.parametrize(
    ("query", "since", "until"),
    [
        ({}, "2026-10-30", "2026-11-26"),
        ({"from": "2026-11-01"}, "2026-11-01", "2026-11-26"),
        ({"to": "2026-11-10"}, "2026-10-14", "2026-11-10"),
        ({"from": "2026-11-03", "to": "2026-11-03"}, "2026-11-03", "2026-11-03"),
    ],
)
def test_period_defaults(query, since, until):
    form = PeriodForm(QueryDict(urlencode(query)), today=TODAY)
    assert form.is_valid(), form.errors
    assert (form.since.isoformat(), form.until.isoformat()) == (since, until)


# --- Who uses this table ---------------------------------------------------------------


def test_who_uses_a_table_groups_users_by_team(manager_client, jobs):
    url = reverse("cost:usage-table", args=[bq_table("dim_customers").pk])
    response = manager_client.get(url, PERIOD)
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [(g.team.slug if g.team else None, [(u.user.email, u.queries) for u in g.users])
            for g in groups] == [
        ("ae", [("ann@acme.example", 2)]),
        ("finance", [("bob@acme.example", 1)]),
    ]  # fmt: skip
    assert "2 people and 0 service accounts from 2 teams ran 3 queries" in text_of(response)


def test_unmapped_users_and_service_accounts_are_flagged_with_a_link_to_map_them(
    manager_client, jobs
):
    url = reverse("cost:usage-table", args=[bq_table("daily_sales_v1").pk])
    response = manager_client.get(url, PERIOD)
    (group,) = response.context["groups"]
    assert group.team is None
    assert [(u.user.email, u.queries, u.days) for u in group.users] == [
        ("cy@acme.example", 1, 1),
        (ETL, 1, 1),
    ]
    page = response.content.decode()
    assert "service account</span>" in page
    assert "These users are mapped to no team yet." in page
    cy = JobUser.objects.get(email="cy@acme.example")
    edit = reverse("cost:job-user-edit", args=[cy.pk])
    assert f'href="{edit}?next=/cost/usage/tables/' in page


def test_interview_list_downloads_as_csv(manager_client, jobs):
    url = reverse("cost:usage-table-csv", args=[bq_table("daily_sales_v1").pk])
    response = manager_client.get(url, PERIOD)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="users-daily_sales_v1-20261101-20261126.csv"'
    )
    assert response.content.decode("utf-8-sig").splitlines() == [
        "table,team,email,service_account,queries,days,last_used_utc",
        "acme.legacy_sales.daily_sales_v1,,cy@acme.example,no,1,1,2026-11-20T10:00:00+00:00",
        f"acme.legacy_sales.daily_sales_v1,,{ETL},yes,1,1,2026-11-21T03:00:00+00:00",
    ]


def test_interview_list_of_a_table_named_in_japanese_keeps_its_name(manager_client, tmp_path):
    load(tmp_path, [job("j1", referenced_tables=[table("売上_日次", "営業")])])
    url = reverse("cost:usage-table-csv", args=[bq_table("売上_日次").pk])
    response = manager_client.get(url, PERIOD)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "attachment; filename*=utf-8''"
        "users-%E5%A3%B2%E4%B8%8A_%E6%97%A5%E6%AC%A1-20261101-20261126.csv"
    )
    assert "acme.営業.売上_日次,,ann@acme.example" in response.content.decode("utf-8-sig")


def test_unknown_table_is_404(manager_client, jobs):
    assert manager_client.get(reverse("cost:usage-table", args=[99999])).status_code == 404


# --- Joined together -------------------------------------------------------------------


def test_pairs_and_triples(manager_client, jobs, tmp_path):
    response = manager_client.get(reverse("cost:usage-joined"), PERIOD)
    assert response.status_code == 200
    (pair,) = response.context["rows"]
    assert [t.table_id for t in pair.tables] == ["dim_customers", "fct_orders"]
    assert (pair.queries, pair.users, pair.service_accounts) == (2, 1, 0)
    assert pair.cost == Decimal("12.5")
    assert "12.50 USD" in text_of(response)
    triples = manager_client.get(reverse("cost:usage-joined"), {**PERIOD, "size": "3"})
    assert triples.context["rows"] == []
    assert "No query read three tables together in this period." in text_of(triples)


# --- Query cost ------------------------------------------------------------------------


def test_query_cost_by_user_and_by_team(manager_client, jobs):
    url = reverse("cost:usage-cost")
    by_user = manager_client.get(url, {**PERIOD, "by": "user"}).context["cost"]
    assert [(r.key, r.queries, r.cost) for r in by_user.rows] == [
        ("bob@acme.example", 2, Decimal("37.5")),
        ("ann@acme.example", 3, Decimal("12.5")),
        ("cy@acme.example", 1, Decimal("6.25")),
        (ETL, 1, Decimal("0")),
    ]
    assert (by_user.total.queries, by_user.total.cost) == (7, Decimal("56.25"))
    by_project = manager_client.get(url, {**PERIOD, "by": "project"}).context["cost"]
    assert [(r.key, r.queries, r.cost) for r in by_project.rows] == [("acme", 7, Decimal("56.25"))]
    response = manager_client.get(url, {**PERIOD, "by": "team"})
    by_team = response.context["cost"]
    assert [(r.label, r.queries, r.cost) for r in by_team.rows] == [
        ("Finance", 2, Decimal("37.5")),
        ("Analytics Engineering", 3, Decimal("12.5")),
        ("No team", 2, Decimal("6.25")),
    ]
    assert "56.25 USD" in text_of(response)


def test_most_expensive_queries_with_shortened_hash(manager_client, jobs):
    response = manager_client.get(reverse("cost:usage-cost"), PERIOD)
    rows = response.context["expensive"].rows
    assert [(r.runs, r.users, r.cost) for r in rows] == [
        (1, 1, Decimal("25")),
        (2, 1, Decimal("12.5")),
        (1, 1, Decimal("12.5")),
        (2, 2, Decimal("6.25")),
        (1, 1, Decimal("0")),
    ]
    page = response.content.decode()
    top = rows[0].query_hash
    assert f'title="{top}">{top[:12]}</code>' in page


def test_label_grouping_is_offered_and_bad_grouping_is_a_form_error(manager_client, tmp_path):
    labels = [{"key": "team", "value": "ae"}]
    load(tmp_path, [job("l1", labels=labels, total_bytes_billed=str(TIB))])
    url = reverse("cost:usage-cost")
    response = manager_client.get(url, {**PERIOD, "by": "label:team"})
    assert response.status_code == 200
    assert '<option value="label:team" selected>Label: team</option>' in response.content.decode()
    assert [(r.key, r.cost) for r in response.context["cost"].rows] == [("ae", Decimal("6.25"))]
    before_retention = manager_client.get(url, {"from": "2026-01-01", "to": "2026-11-26",
                                                 "by": "label:team"})  # fmt: skip
    assert "Labels are read from the jobs themselves, which are kept from" in text_of(
        before_retention
    )
    bad = manager_client.get(url, {**PERIOD, "by": "label:<b>"})
    assert bad.status_code == 400
    assert "Group by user, team, project, table, day or label:&lt;key&gt;" in bad.content.decode()
    assert "cost" not in bad.context


@pytest.mark.parametrize("key", ["-1", "0", "٣"])
def test_a_label_key_of_digits_is_a_form_error(manager_client, tmp_path, key):
    # BigQuery label keys start with a letter; the grouping would read digits alone as
    # a JSON array index (an error on SQLite, no label at all on PostgreSQL).
    load(tmp_path, [job("l1", labels=[{"key": key, "value": "x"}])])
    response = manager_client.get(reverse("cost:usage-cost"), {**PERIOD, "by": f"label:{key}"})
    assert response.status_code == 400
    assert "Group by user, team, project, table, day or label:&lt;key&gt;" in text_of(response)
    offered = manager_client.get(reverse("cost:usage-cost"), PERIOD).content.decode()
    assert f'value="label:{key}"' not in offered


def test_a_label_key_in_another_script_groups_its_jobs(manager_client, tmp_path):
    load(tmp_path, [job("l1", labels=[{"key": "équipe", "value": "ae"}])])
    response = manager_client.get(reverse("cost:usage-cost"), {**PERIOD, "by": "label:équipe"})
    assert response.status_code == 200
    assert [(r.key, r.queries) for r in response.context["cost"].rows] == [("ae", 1)]


def test_reconciliation_shows_the_gap_and_what_it_means(manager_client, jobs):
    CostFactFactory(usage_date=datetime.date(2026, 11, 20), cost=Decimal("40"))
    response = manager_client.get(reverse("cost:usage-cost"), PERIOD)
    reconciliation = response.context["reconciliation"]
    assert [(d.day.isoformat(), d.allocated, d.billed, d.gap_percent)
            for d in reconciliation.days] == [
        ("2026-11-20", Decimal("56.25"), Decimal("40"), Decimal("40.62")),
        ("2026-11-21", Decimal("0"), Decimal("0"), None),
    ]  # fmt: skip
    page = text_of(response)
    assert "Allocated 56.25 USD against 40.00 USD billed: a gap of 40.62% of the bill." in page
    for reason in ("free tier", "time zone", "idle"):
        assert reason in page


# --- Job imports -----------------------------------------------------------------------


def test_job_imports_are_listed_with_their_counts(manager_client, jobs):
    JobImportRun.objects.create(kind="bigquery", status="failed", project_id="acme",
                                error="403 Access Denied: <script>x</script>")  # fmt: skip
    response = manager_client.get(reverse("cost:usage-imports"))
    assert response.status_code == 200
    first, second = response.context["page"].object_list
    assert (first.status, second.status, second.rows_read, second.jobs_written) == (
        "failed", "succeeded", 8, 8,
    )  # fmt: skip
    page = response.content.decode()
    assert "403 Access Denied: &lt;script&gt;x&lt;/script&gt;" in page
    assert "2026-11-20 \N{EN DASH} 2026-11-21" in page


# --- Empty states and bad input --------------------------------------------------------


@pytest.mark.parametrize("name", ["cost:usage-tables", "cost:usage-joined", "cost:usage-cost",
                                  "cost:usage-imports"])  # fmt: skip
def test_without_job_history_the_pages_say_how_to_load_it(manager_client, name):
    response = manager_client.get(reverse(name))
    assert response.status_code == 200
    page = text_of(response)
    assert "No job history yet" in page
    assert "python manage.py import_jobs FILE" in page
    assert "python manage.py pull_jobs" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-02-30"}, "From: Enter a valid date."),
        ({"from": "yesterday"}, "From: Enter a valid date."),
        ({"from": "2026-11-20", "to": "2026-11-01"}, "To: The last day comes before the first"),
        ({"to": "1999-12-31"}, "To: Give a day between 2000-01-01 and 2099-12-31."),
        ({"from": "9999-12-31"}, "From: Give a day between 2000-01-01 and 2099-12-31."),
        ({"size": "4"}, "Tables: Select a valid choice."),
    ],
)
def test_bad_parameters_are_form_errors_not_server_errors(manager_client, jobs, query, message):
    for name in ("cost:usage-tables", "cost:usage-joined", "cost:usage-cost"):
        if "size" in query and name != "cost:usage-joined":
            continue
        response = manager_client.get(reverse(name), query)
        assert response.status_code == 400, name
        assert message in text_of(response), name
    url = reverse("cost:usage-table", args=[bq_table("fct_orders").pk])
    if "size" not in query:
        assert manager_client.get(url, query).status_code == 400
        assert manager_client.get(reverse("cost:usage-curve"), query).status_code == 400
        csv_url = reverse("cost:usage-table-csv", args=[bq_table("fct_orders").pk])
        assert manager_client.get(csv_url, query).status_code == 400


@override_settings(QUARTERDECK_JOBS_KEEP_QUERY_TEXT=True)
def test_a_script_in_a_table_name_email_or_query_is_escaped(manager_client, tmp_path):
    evil_table = {"project_id": "acme", "dataset_id": "x", "table_id": "<script>alert(1)</script>"}
    evil_user = "<script>alert(2)</script>@acme.example"
    load(tmp_path, [job("x1", user_email=evil_user, referenced_tables=[evil_table, ORDERS],
                        query="SELECT '<script>alert(3)</script>'")])  # fmt: skip
    pages = [
        manager_client.get(reverse("cost:usage-tables"), PERIOD),
        manager_client.get(reverse("cost:usage-joined"), PERIOD),
        manager_client.get(reverse("cost:usage-cost"), {**PERIOD, "by": "table"}),
        manager_client.get(reverse("cost:usage-cost"), {**PERIOD, "by": "user"}),
        manager_client.get(reverse("cost:usage-table", args=[bq_table(evil_table["table_id"]).pk]),
                           PERIOD),
        manager_client.get(reverse("cost:job-user-list")),
    ]  # fmt: skip
    for response in pages:
        assert response.status_code == 200
        page = response.content.decode()
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert" in page


# --- Users and teams -------------------------------------------------------------------


def test_user_list_shows_team_flag_recent_jobs_and_last_seen(manager_client, jobs):
    response = manager_client.get(reverse("cost:job-user-list"))
    assert response.status_code == 200
    rows = [(u.email, u.team.slug if u.team else None, u.is_service_account, u.recent_jobs)
            for u in response.context["page"]]  # fmt: skip
    # Jobs of the last 28 days (11-20 and 11-21 are in them today, 2026-11-26 or not).
    recent = timezone.now().date() - datetime.timedelta(days=27) <= datetime.date(2026, 11, 20)
    counts = (3, 2, 1, 1) if recent else (0, 0, 0, 0)
    assert sorted(rows) == sorted([
        ("ann@acme.example", "ae", False, counts[0]),
        ("bob@acme.example", "finance", False, counts[1]),
        ("cy@acme.example", None, False, counts[2]),
        (ETL, None, True, counts[3]),
    ])  # fmt: skip
    ann = next(u for u in response.context["page"] if u.email == "ann@acme.example")
    assert ann.last_seen == datetime.datetime(2026, 11, 20, 11, 0, tzinfo=datetime.UTC)
    page = text_of(response)
    assert "4 users and service accounts have run jobs; 2 without a team (1 of them" in page


def test_user_list_filters(manager_client, jobs):
    url = reverse("cost:job-user-list")
    unmapped = manager_client.get(url, {"unmapped": "on"}).context["page"]
    assert sorted(u.email for u in unmapped) == ["cy@acme.example", ETL]
    team = manager_client.get(url, {"team": "finance"}).context["page"]
    assert [u.email for u in team] == ["bob@acme.example"]
    search = manager_client.get(url, {"q": "ANN"}).context["page"]
    assert [u.email for u in search] == ["ann@acme.example"]
    bad = manager_client.get(url, {"team": "nope"})
    assert bad.status_code == 400
    assert "Team: There is no such team." in text_of(bad)


def test_user_list_without_history_says_how_to_load_it(manager_client):
    page = text_of(manager_client.get(reverse("cost:job-user-list")))
    assert "python manage.py import_jobs FILE" in page


def test_edit_a_users_team_and_go_back(manager_client, jobs):
    cy = JobUser.objects.get(email="cy@acme.example")
    url = reverse("cost:job-user-edit", args=[cy.pk])
    back = reverse("cost:usage-table", args=[bq_table("daily_sales_v1").pk]) + "?from=2026-11-01"
    assert manager_client.get(url, {"next": back}).status_code == 200
    response = manager_client.post(url, {"team": jobs["ae"].pk, "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    cy.refresh_from_db()
    assert cy.team == jobs["ae"]
    # Somewhere else is not followed.
    away = manager_client.post(url, {"team": "", "next": "https://evil.example/"})
    assert away["Location"] == reverse("cost:job-user-list")
    cy.refresh_from_db()
    assert cy.team is None
    assert manager_client.post(url, {"team": "99999"}).status_code == 400


def test_upload_a_mapping_then_download_it(manager_client, jobs):
    text = f"email,team\ncy@acme.example,finance\n{ETL},ae\nnew@acme.example,\n"
    upload = _file("teams.csv", text)
    response = manager_client.post(reverse("cost:job-user-import"), {"file": upload}, follow=True)
    assert response.status_code == 200
    assert (
        "Imported teams.csv: 1 users added, 2 changed, 0 unchanged. 1 users have no team."
        in text_of(response)
    )
    download = manager_client.get(reverse("cost:job-user-export"))
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    assert download.content.decode("utf-8-sig").splitlines() == [
        "email,team",
        "ann@acme.example,ae",
        "bob@acme.example,finance",
        "cy@acme.example,finance",
        f"{ETL},ae",
        "new@acme.example,",
    ]


def test_a_bad_mapping_lists_every_problem_and_changes_nothing(manager_client, jobs):
    upload = _file("teams.csv", "email,team\ncy@acme.example,growth\n,ae\n")
    response = manager_client.post(reverse("cost:job-user-import"), {"file": upload})
    assert response.status_code == 400
    page = text_of(response)
    assert "teams.csv: 2 problems, nothing was imported" in page
    growth = "unknown team “growth”: give a team&#x27;s slug or name"
    assert f"<td>2</td><td>team</td><td>{growth}</td>" in page
    assert "<td>3</td><td>email</td><td>missing email</td>" in page
    assert JobUser.objects.get(email="cy@acme.example").team is None


def test_a_mapping_that_is_not_utf8_is_a_form_error(manager_client):
    upload = _file("teams.csv", "email,team\n", extra=b"caf\xe9@acme.example,ae\n")
    response = manager_client.post(reverse("cost:job-user-import"), {"file": upload})
    assert response.status_code == 400
    assert "teams.csv, line 2: the file is not UTF-8 text" in text_of(response)


@pytest.mark.parametrize(
    ("content", "status", "shown"),
    [
        (b"email,team\rcy@acme.example,ae\r", 302, None),  # \r alone ends a line
        (b'email,team\n"' + b"x" * 200_000 + b'",ae\n', 400,
         "<td>2</td><td>-</td><td>cannot be read as CSV: field larger than field limit"),
        (b"email,team\ncy\x00@acme.example,ae\n", 400, "is not an email address"),
    ],
)  # fmt: skip
def test_an_odd_mapping_file_is_read_or_refused_never_a_server_error(
    manager_client, jobs, content, status, shown
):
    upload = _file("teams.csv", "", extra=content)
    response = manager_client.post(reverse("cost:job-user-import"), {"file": upload})
    assert response.status_code == status
    if shown:
        assert shown in text_of(response)
    else:
        assert JobUser.objects.get(email="cy@acme.example").team == jobs["ae"]


def _file(name: str, text: str, extra: bytes = b""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode() + extra, content_type="text/csv")


def test_usage_link_is_in_the_navigation_for_managers_only(manager_client, client_for, finance):
    usage = reverse("cost:usage-tables")
    assert f'href="{usage}" aria-current="page"' in manager_client.get(usage).content.decode()
    assert f'href="{usage}"' in manager_client.get(reverse("cost:overview")).content.decode()
    assert (
        f'href="{usage}"' not in client_for(finance).get(reverse("cost:overview")).content.decode()
    )


def test_a_mapping_file_over_the_upload_limit_is_refused_and_nothing_changes(manager_client, jobs):
    from core.forms import MAX_UPLOAD_BYTES

    before = list(JobUser.objects.values_list("email", "team_id"))
    upload = _file("teams.csv", "email,team\n", extra=b"x" * MAX_UPLOAD_BYTES)
    response = manager_client.post(reverse("cost:job-user-import"), {"file": upload})
    assert response.status_code == 400
    assert "The file is larger than 5 MB." in text_of(response)
    assert list(JobUser.objects.values_list("email", "team_id")) == before

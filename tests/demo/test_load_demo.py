import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.loader import load_demo
from roadmap.models import RoadmapItem, TeamCapacity, Theme

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 26)


def test_demo_is_a_realistic_roadmap_for_four_quarters():
    result = load_demo(today=TODAY, billing=False)
    assert result.items_created >= 25
    assert (
        Theme.objects.filter(
            name__in=[
                "Legacy pipeline retirement",
                "Intermediate tables",
                "Dashboards",
                "Data quality",
            ]
        ).count()
        == 4
    )
    targets = set(
        RoadmapItem.objects.exclude(target_quarter=None).values_list(
            "target_quarter__code", flat=True
        )
    )
    assert {"2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3"} <= targets
    assert TeamCapacity.objects.filter(quarter__code="2027-Q1").exists()
    open_ranks = sorted(
        RoadmapItem.objects.filter(status__in=["proposed", "planned", "in_progress"]).values_list(
            "rank", flat=True
        )
    )
    assert open_ranks == list(range(1, len(open_ranks) + 1))
    assert all(item.people_cost() for item in RoadmapItem.objects.select_related("team"))


def test_demo_users_have_their_roles_and_passwords():
    load_demo(today=TODAY, billing=False)
    users = {user.username: user for user in get_user_model().objects.all()}
    roles = {name: set(user.groups.values_list("name", flat=True)) for name, user in users.items()}
    assert roles == {
        "manager": {"Manager"},
        "vp": {"Reviewer"},
        "peer": {"Reviewer"},
        "finance": {"Finance"},
    }
    assert users["manager"].check_password("quarterdeck-manager")


def test_loading_the_demo_twice_changes_nothing():
    load_demo(today=TODAY, billing=False)
    snapshot = list(RoadmapItem.objects.order_by("pk").values())
    history = RoadmapItem.history.count()
    again = load_demo(today=TODAY, billing=False)
    assert again.items_created == 0
    assert list(RoadmapItem.objects.order_by("pk").values()) == snapshot
    assert RoadmapItem.history.count() == history


def test_demo_billing_export_is_imported_and_attributed():
    from django.db.models import Sum

    from cost.models import AllocationRule, BillingMonth, CostFact

    result = load_demo(today=TODAY)
    assert result.billing_rows > 10_000
    months = sorted(BillingMonth.objects.current().values_list("invoice_month", flat=True))
    assert months[0] == "202512"
    assert months[-1] in ("202611", "202612")  # late rows of November bill in December
    assert CostFact.objects.filter(usage_date__gte=TODAY).count() == 0
    assert AllocationRule.objects.count() == 7
    unallocated = CostFact.objects.filter(allocation_rule=None).aggregate(n=Sum("cost_nanos"))
    allocated = CostFact.objects.exclude(allocation_rule=None).aggregate(n=Sum("cost_nanos"))
    assert allocated["n"] > unallocated["n"] > 0  # the sandbox project has no team
    legacy = RoadmapItem.objects.get(title__startswith="Migrate legacy sales readers")
    assert CostFact.objects.filter(allocation_rule__roadmap_item=legacy).exists()
    # The open review has its pack ready.
    from roadmap.models import ReviewPack

    pack = ReviewPack.objects.get()
    assert pack.session.status == "open"
    assert bytes(pack.pdf).startswith(b"%PDF-")
    assert load_demo(today=TODAY).billing_rows == 0  # idempotent
    assert ReviewPack.objects.count() == 1


def test_load_demo_command_prints_the_logins(capsys):
    call_command("load_demo")
    output = capsys.readouterr().out
    for line in (
        "manager  / quarterdeck-manager",
        "vp       / quarterdeck-vp",
        "peer     / quarterdeck-peer",
        "finance  / quarterdeck-finance",
    ):
        assert line in output


def test_the_demo_prints_a_working_api_token_for_finance_once(client, capsys):
    import re

    call_command("load_demo", "--if-empty")
    printed = re.search(
        r"Demo API token of finance \(shown this once\): (\S+)", capsys.readouterr().out
    )
    assert printed is not None
    response = client.get("/api/v1/quarters/", HTTP_AUTHORIZATION=f"Token {printed[1]}")
    assert response.status_code == 200
    call_command("load_demo")  # loading again makes no second token and shows none
    assert "Demo API token" not in capsys.readouterr().out
    from core.models import ApiToken

    assert ApiToken.objects.filter(user__username="finance").count() == 1


def test_demo_holds_last_quarters_review_and_opens_this_quarters():
    from roadmap.models import ChangeReason, Commitment, ReviewSession
    from roadmap.reviews.snapshots import changes_between, previous_session, snapshot_records
    from roadmap.reviews.track_record import all_commitments, check_commitments, track_record

    load_demo(today=TODAY, billing=False)
    closed = ReviewSession.objects.get(status="closed")
    current = ReviewSession.objects.get(status="open")
    assert ReviewSession.objects.count() == 2
    assert (closed.quarter.code, closed.title) == ("2026-Q3", "2026-Q3 quarterly alignment")
    assert closed.quarter.start_date <= closed.meeting_date <= closed.quarter.end_date
    assert current.quarter.code == "2026-Q4"
    assert closed.opened_at < closed.held_at < closed.closed_at < current.opened_at
    for session in (closed, current):
        assert set(session.reviewers.values_list("username", flat=True)) == {"vp", "peer"}
        assert session.votes.filter(reviewer__username="vp").exists()
        assert session.votes.filter(reviewer__username="peer").exists()
        assert session.comments.filter(review_item=None).exists()
        assert session.comments.exclude(review_item=None).exists()

    # The closed review: every kind of comment, a mention, replies, an answered thread.
    comments = closed.comments.all()
    assert {c.kind for c in comments if c.parent_id is None} == {
        "question",
        "concern",
        "suggestion",
        "support",
    }
    assert comments.exclude(mentions=None).exists()
    assert comments.filter(parent__isnull=False).exclude(author__username="manager").exists()
    answered = comments.filter(resolved_by__username="manager")
    assert answered.filter(replies__author__username="manager").exists()
    assert all(c.created_at < closed.held_at for c in comments)
    # Pre-read votes, with one item the reviewers clearly disagree on.
    scores = {}
    for vote in closed.votes.all():
        scores.setdefault(vote.review_item_id, []).append(vote.score)
    assert max(max(s) - min(s) for s in scores.values()) >= 4
    # Decisions with their rationale and commitments, due last quarter and this one.
    decisions = closed.decisions.all()
    assert len({d.outcome for d in decisions}) == 5
    assert all(d.rationale for d in decisions)
    commitments = Commitment.objects.filter(decision__session=closed)
    assert set(commitments.values_list("due_quarter__code", flat=True)) == {"2026-Q3", "2026-Q4"}
    assert set(commitments.values_list("promised_status", flat=True)) == {"done", "in_progress"}

    # This quarter's review: open, compared with the closed one, no decisions yet.
    assert previous_session(current) == closed
    assert not current.decisions.exists()
    assert ChangeReason.objects.filter(session=current).count() in (1, 2)
    changes = changes_between(before=snapshot_records(closed), after=snapshot_records(current))
    kinds = {kind for change in changes for kind in change.kinds}
    assert {"slipped", "done", "added", "dropped"} <= kinds
    by_title = {change.title: change.kinds for change in changes}
    assert "slipped" in by_title["Support SLA dashboard"]
    assert "done" in by_title["Executive weekly KPI pack"]

    # The track record: last quarter's commitments both kept and missed.
    record = {
        row.quarter: row for row in track_record(check_commitments(all_commitments(), today=TODAY))
    }
    assert record["2026-Q3"].kept >= 1
    assert record["2026-Q3"].missed >= 1
    assert record["2026-Q4"].kept + record["2026-Q4"].pending >= 1
    assert record["2026-Q4"].missed == 0


def test_the_review_pages_of_the_demo_render(client):
    from roadmap.models import ReviewSession

    load_demo(today=TODAY, billing=False)
    for username in ("manager", "vp"):
        client.force_login(get_user_model().objects.get(username=username))
        for session in ReviewSession.objects.all():
            response = client.get(session.get_absolute_url())
            assert response.status_code == 200
            assert "Support SLA dashboard" in response.content.decode()


def test_loading_the_demo_twice_makes_no_second_review():
    from roadmap.models import ReviewComment, ReviewSession

    load_demo(today=TODAY, billing=False)
    sessions, comments = ReviewSession.objects.count(), ReviewComment.objects.count()
    load_demo(today=TODAY, billing=False)
    assert ReviewSession.objects.count() == sessions == 2
    assert ReviewComment.objects.count() == comments


@pytest.mark.parametrize("today", [datetime.date(2027, 1, 1), datetime.date(2026, 6, 30)])
def test_the_demo_reviews_work_on_any_day(today):
    from roadmap.models import ReviewSession
    from roadmap.reviews.snapshots import previous_session
    from roadmap.reviews.track_record import all_commitments, check_commitments, track_record

    load_demo(today=today, billing=False)
    closed = ReviewSession.objects.get(status="closed")
    current = ReviewSession.objects.get(status="open")
    assert closed.quarter.start_date <= closed.meeting_date <= closed.quarter.end_date
    assert current.quarter.start_date <= current.meeting_date <= current.quarter.end_date
    assert previous_session(current) == closed
    last = track_record(check_commitments(all_commitments(), today=today))[0]
    assert (last.quarter, last.kept, last.missed) == (closed.quarter.code, 2, 1)


def test_the_demo_has_one_exhausted_budget_and_one_to_move_faster_on():
    from roadmap.budgets.rules import State, budget_statuses, exhausted_items
    from roadmap.models import DataProduct, Incident

    result = load_demo(today=TODAY, billing=False)
    assert (result.products_created, result.incidents_created) == (5, 12)
    statuses = {s.product.slug: s for s in budget_statuses(today=TODAY)}
    exhausted = [slug for slug, s in statuses.items() if s.state == State.EXHAUSTED]
    assert exhausted == ["executive-kpis"]
    kpis = statuses["executive-kpis"]
    assert (kpis.period.label, kpis.used, kpis.allowed, kpis.over) == ("2026-Q4", 3, 2, 1)
    assert [slug for slug, s in statuses.items() if s.move_faster] == ["revenue-tables"]
    assert statuses["int-orders-enriched"].state == State.AT_RISK  # 2 of 3, 62 % gone
    legacy = statuses["legacy-sales-nightly"]
    assert (legacy.state, legacy.used, legacy.late_days_used) == (State.HEALTHY, 2, 1)
    flagged = exhausted_items(statuses.values())
    fix = RoadmapItem.objects.get(title="Freshness and volume checks on the top 50 tables")
    assert flagged == {fix.pk: [kpis.product]}
    orders = RoadmapItem.objects.get(title__startswith="int_orders_enriched:")
    assert orders in kpis.items_spending
    # An incident on two products; one detected on last quarter's last day, resolved in
    # this one, which spends last quarter's budget only.
    refunds = Incident.objects.get(title="Refunds counted twice in booked revenue")
    assert set(refunds.products.values_list("slug", flat=True)) == {
        "revenue-tables",
        "legacy-sales-nightly",
    }
    spanning = Incident.objects.get(title="Quarter-end sales load stuck for two nights")
    assert spanning.detected_at.date() == datetime.date(2026, 9, 30)
    assert spanning.resolved_at.date() == datetime.date(2026, 10, 2)
    assert spanning not in legacy.incidents
    assert DataProduct.objects.get(slug="legacy-sales-nightly").late_days_allowed == 3


def test_loading_the_demo_twice_makes_no_second_product_or_incident():
    from roadmap.models import DataProduct, Incident

    load_demo(today=TODAY, billing=False)
    products, incidents = DataProduct.objects.count(), Incident.objects.count()
    links = list(DataProduct.reliability_items.through.objects.values_list("pk", flat=True))
    again = load_demo(today=TODAY, billing=False)
    assert (again.products_created, again.incidents_created) == (0, 0)
    assert (DataProduct.objects.count(), Incident.objects.count()) == (products, incidents)
    assert list(DataProduct.reliability_items.through.objects.values_list("pk", flat=True)) == (
        links
    )


@pytest.mark.parametrize("today", [datetime.date(2027, 1, 1), datetime.date(2026, 7, 20)])
def test_the_demo_budgets_work_on_any_day(today):
    from roadmap.budgets.rules import State, budget_statuses
    from roadmap.models import Incident

    load_demo(today=today, billing=False)
    statuses = budget_statuses(today=today)
    assert [s.product.slug for s in statuses if s.state == State.EXHAUSTED] == ["executive-kpis"]
    assert not Incident.objects.filter(detected_at__date__gt=today).exists()
    assert not Incident.objects.filter(resolved_at__date__gt=today).exists()


def test_the_demo_command_emails_nobody(capsys, mailoutbox):
    call_command("load_demo")
    output = capsys.readouterr().out
    assert "Subject:" not in output  # the console backend would print every email
    assert mailoutbox == []
    assert "Error budgets: 5 data products" in output

"""A realistic demo: an Analytics Engineering team's roadmap for the current quarter and
the next three, with the people who use Quarterdeck, two quarterly reviews (last
quarter's, closed, and this quarter's, open), the team's data products with the
incidents of the last two quarters, a year of billing export and six weeks of BigQuery
job history as evidence for the items. Safe to run again: nothing is duplicated and
nothing a user changed since is overwritten."""

import datetime
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import overload

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.models import ApiToken, Team
from cost.billing.allocation import reallocate_all
from cost.billing.runs import import_files
from cost.models import AllocationRule, BillingSource, JobImportRun, JobUser
from cost.usage.runs import import_job_files
from demo.benefit import load_benefit
from demo.billing_export import generate_rows, write_export
from demo.budgets import INCIDENTS, PRODUCTS, DemoIncident
from demo.evidence import load_evidence
from demo.items import CAPACITY, DEMO_RULES, DEMO_SOURCE, DEMO_USERS, ITEMS, TEAMS, THEMES, DemoItem
from demo.job_history import demo_team_members, write_jobs_file
from demo.reviews import (
    CURRENT_REVIEW,
    LAST_REVIEW,
    NEW_REQUESTS,
    REVIEW_TITLE,
    REVIEWERS,
    SINCE_LAST_REVIEW,
    DemoChange,
    DemoReview,
)
from roadmap.budgets.rules import save_incident, save_product
from roadmap.items.planning import OPEN_STATUSES, apply_ranks, save_item
from roadmap.models import (
    DataProduct,
    Decision,
    Incident,
    PriorityVote,
    Quarter,
    ReviewComment,
    ReviewSession,
    RoadmapItem,
    TeamCapacity,
    Theme,
)
from roadmap.reviews.packs.render import build_review_pack
from roadmap.reviews.rules import (
    CommitmentInput,
    add_comment,
    advance_session,
    cast_vote,
    record_decision,
    resolve_thread,
    set_change_reason,
)


@dataclass(frozen=True)
class DemoResult:
    users_created: list[tuple[str, str, str]]  # username, password, role
    items_created: int
    items_total: int
    billing_rows: int = 0
    api_key: str = ""  # a new token for the finance user, shown once
    products_created: int = 0
    incidents_created: int = 0
    jobs_imported: int = 0


@overload
def _quarter(offset: int, today: datetime.date) -> Quarter: ...
@overload
def _quarter(offset: int | None, today: datetime.date) -> Quarter | None: ...
def _quarter(offset: int | None, today: datetime.date) -> Quarter | None:
    if offset is None:
        return None
    current = Quarter.from_code(Quarter.code_for_date(today))
    return Quarter.objects.for_code(current.shifted(offset))


def _create_item(
    spec: DemoItem,
    *,
    themes: dict[str, Theme],
    teams: dict[str, Team],
    owner,
    today: datetime.date,
) -> RoadmapItem:
    wsjf = spec.wsjf or (None, None, None, None)
    item = RoadmapItem(
        title=spec.title,
        description=spec.description,
        theme=themes[spec.theme],
        owner=owner,
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
    return save_item(
        item=item,
        requesting_teams=[teams[slug] for slug in spec.requesters],
        depends_on=depends,
        expected_version=None,
        by=owner,
    )


def _first_run_touches(manager) -> None:
    """On a fresh demo: a manual priority order that differs from RICE and WSJF in places
    (as a real one does), and one re-estimated item so the history shows an edit."""
    open_items = list(RoadmapItem.objects.filter(status__in=OPEN_STATUSES))
    open_items.sort(key=lambda item: (item.target_quarter.index, -(item.wsjf_score() or 0)))
    apply_ranks({item.pk: rank for rank, item in enumerate(open_items, start=1)}, by=manager)
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
    users_created: list[tuple[str, str, str]] = []
    for username, password, first, last, role, staff in DEMO_USERS:
        user, is_new = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": staff,
                "email": f"{username}@example.com",
            },
        )
        if is_new:
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
        _create_item(spec, themes=themes, teams=teams, owner=manager, today=today)
        created += 1
    if created == len(ITEMS):
        _first_run_touches(manager)
        if not ReviewSession.objects.filter(title=_review_title(-1, today)).exists():
            _load_reviews(today=today, manager=manager, themes=themes, teams=teams)
    products_created, incidents_created = _load_reliability(
        today=today, manager=manager, teams=teams
    )
    billing_rows = _load_billing(today=today, teams=teams) if billing else 0
    jobs_imported = _load_job_history(today=today, teams=teams) if billing else 0
    load_evidence(today=today)
    load_benefit(today=today)  # needs the job history; nothing without it
    if billing_rows:
        # The open review has its pack ready, built on the demo's own billing data, job
        # history and interviews.
        current = ReviewSession.objects.filter(status=ReviewSession.Status.OPEN).first()
        if current is not None and not current.packs.exists():
            build_review_pack(session=current, by=manager)
    api_key = ""
    if any(username == "finance" for username, _password, _role in users_created):
        _token, api_key = ApiToken.issue(user=User.objects.get(username="finance"), name="demo")
    return DemoResult(
        users_created=users_created,
        items_created=created,
        items_total=RoadmapItem.objects.count(),
        billing_rows=billing_rows,
        api_key=api_key,
        products_created=products_created,
        incidents_created=incidents_created,
        jobs_imported=jobs_imported,
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


# --- BigQuery job history ------------------------------------------------------------------

DEMO_JOB_DAYS = 42
# About 30,000 jobs: enough for ~150 daily readers of the legacy table and a clear
# top 50, and quick to import on SQLite (`make run`). Tables read 3.8 times the
# generator's bytes so that the jobs' allocated cost comes to about 90% of the demo
# billing export's BigQuery Analysis cost (the reconciliation shows a plausible gap).
DEMO_JOBS_PER_DAY = 700
DEMO_BYTES_SCALE = 3.8
DEMO_JOBS_BY = "demo"


def _load_job_history(
    *, today: datetime.date, teams: dict[str, Team], jobs_per_day: int = DEMO_JOBS_PER_DAY
) -> int:
    """Six weeks of generated INFORMATION_SCHEMA.JOBS rows up to today (and not past
    now), imported as an export file would be, and the people mapped to their teams.
    The import is skipped once loaded; a team someone set since is kept. Returns the
    rows imported."""
    imported = 0
    loaded = JobImportRun.objects.filter(
        started_by_name=DEMO_JOBS_BY, status=JobImportRun.Status.SUCCEEDED
    )
    if not loaded.exists():
        end_of_today = datetime.datetime.combine(
            today + datetime.timedelta(days=1), datetime.time(0), datetime.UTC
        )
        until = min(timezone.now(), end_of_today - datetime.timedelta(microseconds=1))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "jobs-acme-analytics-region-us.jsonl.gz"
            write_jobs_file(
                path,
                start=today - datetime.timedelta(days=DEMO_JOB_DAYS - 1),
                days=DEMO_JOB_DAYS,
                jobs_per_day=jobs_per_day,
                until=until,
                bytes_scale=DEMO_BYTES_SCALE,
            )
            run = import_job_files([path], location="US", by_name=DEMO_JOBS_BY, today=today)
            imported = run.rows_read
    members: dict[str, list[str]] = {}
    for email, slug in demo_team_members():
        members.setdefault(slug, []).append(email)
    for slug, emails in members.items():
        JobUser.objects.filter(email__in=emails, team=None).update(team=teams[slug])
    return imported


# --- Data products and their incidents -----------------------------------------------------


def _incident_times(
    spec: DemoIncident, today: datetime.date
) -> tuple[datetime.datetime, datetime.datetime | None]:
    offset, days = spec.when
    day = min(_quarter(offset, today).start_date + datetime.timedelta(days=days), today)
    detected = timezone.make_aware(
        datetime.datetime.combine(day, datetime.time.fromisoformat(spec.at))
    )
    if spec.lasted_hours is None:
        return detected, None
    resolved = detected + datetime.timedelta(hours=spec.lasted_hours)
    return detected, None if timezone.localdate(resolved) > today else resolved


def _load_reliability(*, today: datetime.date, manager, teams: dict[str, Team]) -> tuple[int, int]:
    """The data products (those not there yet) and, when all of them are new, the
    incidents of the last two quarters, each recorded shortly after it was detected.
    Returns (products created, incidents created)."""
    users = {user.username: user for user in get_user_model().objects.all()}
    items = {item.title: item for item in RoadmapItem.objects.all()}
    existing = set(DataProduct.objects.values_list("slug", flat=True))
    products = {}
    for spec in PRODUCTS:
        if spec.slug in existing:
            continue
        product = save_product(
            product=DataProduct(
                name=spec.name,
                slug=spec.slug,
                kind=spec.kind,
                description=spec.description,
                owner=users.get(spec.owner),
                tables="\n".join(spec.tables),
                incidents_allowed=spec.incidents_allowed,
                budget_period=spec.budget_period,
                ready_by=datetime.time.fromisoformat(spec.ready_by) if spec.ready_by else None,
                late_days_allowed=spec.late_days_allowed,
            ),
            consumers=[teams[slug] for slug in spec.consumers],
            reliability_items=[items[title] for title in spec.reliability_items if title in items],
        )
        products[spec.slug] = product
    if len(products) < len(PRODUCTS):
        return len(products), 0
    now = timezone.now()
    for incident_spec in INCIDENTS:
        detected, resolved = _incident_times(incident_spec, today)
        incident = save_incident(
            incident=Incident(
                title=incident_spec.title,
                detected_at=detected,
                resolved_at=resolved,
                severity=incident_spec.severity,
                impact=incident_spec.impact,
                cause=incident_spec.cause,
                caused_by=items.get(incident_spec.caused_by),
                follow_up=items.get(incident_spec.follow_up),
            ),
            products=[products[slug] for slug in incident_spec.products],
            by=manager,
        )
        # Recorded when it happened, as a review pack built for an earlier moment sees it.
        recorded = min(detected + datetime.timedelta(minutes=25), now)
        Incident.objects.filter(pk=incident.pk).update(created_at=recorded)
        Incident.history.filter(id=incident.pk).update(history_date=recorded)
    return len(products), len(INCIDENTS)


# --- The two reviews, acted out ------------------------------------------------------------


def _review_title(offset: int, today: datetime.date) -> str:
    current = Quarter.from_code(Quarter.code_for_date(today))
    return REVIEW_TITLE.format(quarter=current.shifted(offset))


def _quarter_codes(today: datetime.date) -> dict[str, str]:
    current = Quarter.from_code(Quarter.code_for_date(today))
    offsets = {"last": -1, "current": 0, "next": 1, "next3": 3}
    return {name: current.shifted(offset) for name, offset in offsets.items()}


def _at(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _day(when: tuple[int, int], today: datetime.date) -> datetime.date:
    """A day of the demo's past: so many days into a quarter, but at most three days ago
    (before this quarter's review opens)."""
    offset, days = when
    day = _quarter(offset, today).start_date + datetime.timedelta(days=days)
    return min(day, today - datetime.timedelta(days=3))


@contextmanager
def _history_dated(moment: datetime.datetime) -> Iterator[None]:
    """Date the item history written inside the block at `moment`: the demo acts out the
    past, and the track record reads from the history when an item reached a status."""
    last = RoadmapItem.history.aggregate(last=Max("history_id"))["last"] or 0
    yield
    RoadmapItem.history.filter(history_id__gt=last).update(history_date=moment)


def _load_reviews(
    *, today: datetime.date, manager, themes: dict[str, Theme], teams: dict[str, Team]
) -> None:
    """Last quarter's review (held and closed), what changed in the roadmap since, and
    this quarter's review (open for comments), each dated in the past it acts out."""
    people = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=[u[0] for u in DEMO_USERS])
    }
    codes = _quarter_codes(today)
    last_start = _quarter(-1, today).start_date
    # The roadmap was written the day after last quarter began, in the order it was saved.
    records = RoadmapItem.history.filter(
        id__in=RoadmapItem.objects.filter(title__in=[spec.title for spec in ITEMS]).values("pk")
    )
    written = _at(last_start + datetime.timedelta(days=1))
    for n, pk in enumerate(records.order_by("history_id").values_list("history_id", flat=True)):
        RoadmapItem.history.filter(history_id=pk).update(
            history_date=written + datetime.timedelta(seconds=n)
        )

    meeting = last_start + datetime.timedelta(days=14)
    _act_review(
        LAST_REVIEW,
        today=today,
        people=people,
        codes=codes,
        opened_at=_at(last_start + datetime.timedelta(days=3)),
        meeting_date=meeting,
        talk_until=_at(meeting),
        held_at=_at(meeting, 16),
        closed_at=_at(meeting + datetime.timedelta(days=2), 12),
    )

    events: list[tuple[tuple[int, int], DemoChange | DemoItem]] = [
        (change.when, change) for change in SINCE_LAST_REVIEW
    ]
    events += [(when, spec) for when, spec in NEW_REQUESTS]
    for when, event in sorted(events, key=lambda pair: pair[0]):
        with _history_dated(_at(_day(when, today), 10)):
            if isinstance(event, DemoItem):
                _create_item(event, themes=themes, teams=teams, owner=manager, today=today)
            else:
                _apply_change(event, today=today, codes=codes, by=manager)

    opened = _at(today - datetime.timedelta(days=2))
    _act_review(
        CURRENT_REVIEW,
        today=today,
        people=people,
        codes=codes,
        opened_at=opened,
        meeting_date=min(today + datetime.timedelta(days=7), _quarter(0, today).end_date),
        talk_until=opened + datetime.timedelta(days=1),
    )


def _apply_change(change: DemoChange, *, today: datetime.date, codes: dict, by) -> None:
    item = RoadmapItem.objects.get(title=change.title)
    if change.status:
        item.status = change.status
    if change.target is not None:
        item.target_quarter = _quarter(change.target, today)
    if change.effort_weeks:
        item.effort_weeks = Decimal(change.effort_weeks)
    if change.rice_effort:
        item.rice_effort_months = Decimal(change.rice_effort)
    if change.note:
        item.description = f"{item.description} {change.note.format(**codes)}"
    save_item(
        item=item,
        requesting_teams=item.requesting_teams.all(),
        depends_on=item.depends_on.all(),
        expected_version=item.version,
        by=by,
    )


def _act_review(
    spec: DemoReview,
    *,
    today: datetime.date,
    people: dict,
    codes: dict[str, str],
    opened_at: datetime.datetime,
    meeting_date: datetime.date,
    talk_until: datetime.datetime,
    held_at: datetime.datetime | None = None,
    closed_at: datetime.datetime | None = None,
) -> ReviewSession:
    """A session taken through the review's own rules: opened (freezing the live roadmap),
    commented, voted on, and, given held_at and closed_at, decided and closed."""
    manager, status = people["manager"], ReviewSession.Status
    session = ReviewSession.objects.create(
        quarter=_quarter(spec.quarter, today),
        title=_review_title(spec.quarter, today),
        meeting_date=meeting_date,
        created_by=manager,
    )
    session.reviewers.set([people[name] for name in REVIEWERS])
    session = advance_session(session_id=session.pk, from_status=status.DRAFT, by=manager)
    items = {item.title: item for item in session.items.all()}
    for thread in spec.threads:
        comment = add_comment(
            session=session,
            author=people[thread.author],
            body=thread.body.format(**codes),
            kind=thread.kind,
            review_item=items[thread.item] if thread.item else None,
        )
        for author, body in thread.replies:
            add_comment(
                session=session, author=people[author], body=body.format(**codes), parent=comment
            )
        if thread.answer is not None:
            resolve_thread(comment=comment, by=manager, reply=thread.answer.format(**codes))
    for title, *scores in spec.votes:
        for name, (value, urgency) in zip(REVIEWERS, scores, strict=True):
            cast_vote(review_item=items[title], reviewer=people[name], value=value, urgency=urgency)
    for title, kind, note in spec.reasons:
        set_change_reason(
            session=session,
            item_key=items[title].item_key,
            kind=kind,
            note=note.format(**codes),
            by=manager,
        )
    if held_at is not None and closed_at is not None:
        session = advance_session(session_id=session.pk, from_status=status.OPEN, by=manager)
        for decision in spec.decisions:
            record_decision(
                review_item=items[decision.item],
                outcome=decision.outcome,
                rationale=decision.rationale.format(**codes),
                commitments=[
                    CommitmentInput(
                        description=commitment.description,
                        due_quarter=_quarter(commitment.due, today),
                        owner=people[commitment.owner],
                        promised_status=commitment.promised,
                    )
                    for commitment in decision.commitments
                ],
                by=manager,
            )
        session = advance_session(session_id=session.pk, from_status=status.HELD, by=manager)
    _date_review(
        session, opened_at=opened_at, talk_until=talk_until, held_at=held_at, closed_at=closed_at
    )
    return session


def _date_review(
    session: ReviewSession,
    *,
    opened_at: datetime.datetime,
    talk_until: datetime.datetime,
    held_at: datetime.datetime | None,
    closed_at: datetime.datetime | None,
) -> None:
    """Move a session's timestamps into the past it acts out: comments spread over the
    working hours between opening and `talk_until` in the order written, threads resolved
    by their last reply, votes on the first morning, decisions once held."""
    comments = list(session.comments.order_by("id"))
    workday = 8 * 60  # minutes, from the hour the session opened
    step = max((talk_until - opened_at).days, 1) * workday // (len(comments) + 1)
    written = {}
    for n, comment in enumerate(comments, start=1):
        days, minutes = divmod(step * n, workday)
        written[comment.pk] = opened_at + datetime.timedelta(days=days, minutes=minutes)
    for comment in comments:
        changes = {"created_at": written[comment.pk]}
        if comment.resolved_at is not None:
            thread = [written[c.pk] for c in comments if comment.pk in (c.pk, c.parent_id)]
            changes["resolved_at"] = max(thread) + datetime.timedelta(minutes=1)
        ReviewComment.objects.filter(pk=comment.pk).update(**changes)
    for n, pk in enumerate(session.votes.order_by("id").values_list("pk", flat=True)):
        PriorityVote.objects.filter(pk=pk).update(
            updated_at=opened_at + datetime.timedelta(hours=2, minutes=7 * n)
        )
    if held_at is not None:
        for n, pk in enumerate(session.decisions.order_by("id").values_list("pk", flat=True)):
            Decision.objects.filter(pk=pk).update(
                decided_at=held_at + datetime.timedelta(minutes=3 * n)
            )
    ReviewSession.objects.filter(pk=session.pk).update(
        created_at=opened_at - datetime.timedelta(days=2),
        opened_at=opened_at,
        held_at=held_at,
        closed_at=closed_at,
        snapshot={**session.snapshot, "taken_at": opened_at.isoformat()},
    )

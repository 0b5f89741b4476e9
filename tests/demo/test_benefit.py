import datetime

import pytest

from core.models import Team
from cost.models import BigQueryJob, JobUsageDay
from demo.benefit import DASHBOARD_ACCOUNT, TITLE, load_benefit
from demo.loader import _load_job_history, load_demo
from roadmap.evidence.benefit import Outcome, TargetKind, benefit_of_items
from roadmap.models import RoadmapItem, StakeholderInterview

TODAY = datetime.date(2026, 11, 26)  # a Thursday


@pytest.fixture
def demo_item(db) -> RoadmapItem:
    load_demo(today=TODAY, billing=False)  # the roadmap, without billing and jobs
    teams = {team.slug: team for team in Team.objects.all()}
    _load_job_history(today=TODAY, teams=teams, jobs_per_day=150)
    assert load_benefit(today=TODAY).item_created
    return RoadmapItem.objects.get(title=TITLE)


def test_the_delivered_item_is_adopted_more_each_week(demo_item):
    assert demo_item.status == RoadmapItem.Status.DONE
    assert demo_item.delivered_on == TODAY - datetime.timedelta(days=35)
    benefit = benefit_of_items(items=[demo_item], as_of=TODAY)[demo_item.pk]
    adoption = benefit.adoption
    assert adoption is not None
    assert adoption.delivered
    weeks = adoption.weeks
    assert len(weeks) == 6  # the delivery week (Thursday on) to this week
    assert weeks[-1].people > weeks[0].people > 0
    assert weeks[-1].teams > weeks[0].teams
    # More people each full week than the one before.
    full = [week.people for week in weeks[1:-1]]
    assert full == sorted(full)
    assert full[0] < full[-1]
    assert adoption.days_to_10_people is not None
    # Both interviewed teams query it.
    assert adoption.interviewed_teams == ("Finance", "Product Analytics")
    assert adoption.adopting_interviewed_teams == ("Finance", "Product Analytics")


def test_the_retired_snapshot_is_down_to_a_handful_of_named_readers(demo_item):
    benefit = benefit_of_items(items=[demo_item], as_of=TODAY)[demo_item.pk]
    retirement = benefit.retirement
    assert retirement is not None
    assert 1 <= retirement.readers_left <= 5
    # From the first full week of the demo's job history (six weeks up to today).
    first = TODAY - datetime.timedelta(days=41)
    readers = [week.readers for week in retirement.weeks if week.start >= first]
    assert len(readers) == 6
    assert readers[0] > 15
    assert readers[-1] <= 5
    assert readers == sorted(readers, reverse=True)
    remaining = {reader.email: reader for reader in retirement.remaining}
    assert remaining[DASHBOARD_ACCOUNT].is_service_account
    assert {reader.team for reader in retirement.remaining} == {"Finance", "Marketing"}
    # One query after the switch-off date, three days ago: the target is missed.
    assert [(flag.day, flag.queries) for flag in retirement.flagged] == [
        (TODAY - datetime.timedelta(days=3), 1)
    ]
    retire = next(c for c in benefit.targets if c.kind == TargetKind.RETIREMENT)
    assert retire.outcome == Outcome.MISSED
    assert benefit.hours.measured is not None
    assert benefit.hours.measured > 0


def test_the_benefit_jobs_add_up_and_loading_again_adds_nothing(demo_item):
    jobs = BigQueryJob.objects.filter(job_id__startswith="demo_benefit_")
    usage = JobUsageDay.objects.filter(table_set__members__table__table_id="revenue_snapshot")
    assert jobs.count() > 1000
    assert (
        sum(usage.values_list("queries", flat=True))
        == jobs.filter(table_set__members__table__table_id="revenue_snapshot").count()
    )
    assert StakeholderInterview.objects.filter(items=demo_item).count() == 2
    before = BigQueryJob.objects.count()
    assert not load_benefit(today=TODAY).item_created
    assert BigQueryJob.objects.count() == before


def test_without_a_job_history_there_is_no_benefit_item(db):
    load_demo(today=TODAY, billing=False)
    assert not RoadmapItem.objects.filter(title=TITLE).exists()

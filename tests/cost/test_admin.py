"""The cost admin: rule deletions allocate again, imported data cannot be deleted."""

import datetime
import json

import pytest
from django.test import Client
from django.urls import reverse

from cost.billing.allocation import reallocate_all
from cost.models import (
    AllocationRule,
    BigQueryJob,
    BigQueryTable,
    BillingMonth,
    CostFact,
    ImportRun,
    JobImportRun,
    JobUsageDay,
    JobUser,
    LabelSet,
)
from tests.cost.factories import CostFactFactory
from tests.roadmap.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_deleting_selected_rules_gives_their_cost_to_the_next_matching_rule(root):
    fact = CostFactFactory(project_id="acme-dbt-prod")
    ae = TeamFactory(name="AE", slug="ae")
    rest = TeamFactory(name="Rest", slug="rest")
    first = AllocationRule.objects.create(position=1, name="dbt", team=ae,
                                          match_project="acme-dbt-prod")  # fmt: skip
    AllocationRule.objects.create(position=2, name="Catch-all", team=rest)
    reallocate_all()
    response = root.post(reverse("admin:cost_allocationrule_changelist"), {
        "action": "delete_selected", "_selected_action": [first.pk], "post": "yes",
    })  # fmt: skip
    assert response.status_code == 302
    assert not AllocationRule.objects.filter(pk=first.pk).exists()
    fact.refresh_from_db()
    assert fact.allocation_rule.name == "Catch-all"


@pytest.mark.parametrize("model", [CostFact, BillingMonth, ImportRun, LabelSet])
def test_imported_data_cannot_be_deleted_in_the_admin(root, model):
    CostFactFactory()
    obj = model.objects.first()
    opts = model._meta
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert root.get(delete).status_code == 403
    assert root.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = root.get(changelist)
    assert response.status_code == 200
    actions = response.context["action_form"]  # None: no action at all
    assert actions is None or "delete_selected" not in dict(actions.fields["action"].choices)
    root.post(changelist, {"action": "delete_selected", "_selected_action": [obj.pk],
                           "post": "yes"})  # fmt: skip
    assert model.objects.filter(pk=obj.pk).exists()


def _import_one_job(tmp_path) -> None:
    from cost.usage.runs import import_job_files

    table = {"project_id": "acme", "dataset_id": "marts", "table_id": "t"}
    row = {"creation_time": "2026-11-20 10:00:00 UTC", "project_id": "acme", "job_id": "j1",
           "user_email": "ann@acme.example", "job_type": "QUERY", "statement_type": "SELECT",
           "referenced_tables": [table]}  # fmt: skip
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps(row) + "\n")
    import_job_files([path], today=datetime.date(2026, 11, 26))


@pytest.mark.parametrize("model", [BigQueryJob, BigQueryTable, JobImportRun, JobUsageDay])
def test_job_history_shows_in_the_admin_and_cannot_be_changed_there(root, tmp_path, model):
    _import_one_job(tmp_path)
    opts = model._meta
    obj = model.objects.first()
    assert (
        root.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    )
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert root.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_the_job_user_list_reads_the_teams_once_however_many_rows(
    root, django_assert_max_num_queries
):
    teams = [TeamFactory(name=f"Team {n}", slug=f"team-{n}") for n in range(3)]
    JobUser.objects.bulk_create(
        JobUser(email=f"u{n}@acme.example", team=teams[n % 3]) for n in range(40)
    )
    with django_assert_max_num_queries(12):  # the same few queries for any number of rows
        response = root.get(reverse("admin:cost_jobuser_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count(f'<option value="{teams[1].pk}" selected>Team 1</option>') == 13
    # The list's editable team column still saves.
    users = list(JobUser.objects.order_by("email"))
    form = {"form-TOTAL_FORMS": "40", "form-INITIAL_FORMS": "40", "_save": "Save"}
    for index, user in enumerate(users):
        form |= {f"form-{index}-id": user.pk, f"form-{index}-team": user.team_id}
    form["form-0-team"] = teams[2].pk
    assert root.post(reverse("admin:cost_jobuser_changelist"), form).status_code == 302
    users[0].refresh_from_db()
    assert users[0].team == teams[2]


def test_a_job_users_team_is_set_in_the_admin(root, tmp_path):
    _import_one_job(tmp_path)
    user = JobUser.objects.get()
    team = TeamFactory(name="AE", slug="ae")
    url = reverse("admin:cost_jobuser_change", args=[user.pk])
    response = root.post(url, {"email": user.email, "team": team.pk})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.team == team

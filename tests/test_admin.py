import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from core.models import Team
from roadmap.models import Quarter, RoadmapItem, TeamCapacity, Theme
from tests.roadmap.factories import RoadmapItemFactory, TeamCapacityFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_roadmap_model_has_an_admin():
    for model in (Quarter, Theme, Team, TeamCapacity, RoadmapItem):
        assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", [Quarter, Theme, Team, TeamCapacity, RoadmapItem])
def test_admin_pages_open_for_a_superuser(model):
    RoadmapItemFactory()
    TeamCapacityFactory()
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    opts = model._meta
    obj = model.objects.first()
    for url in (
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_add"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_an_admin_edit_is_a_new_version_with_history():
    item = RoadmapItemFactory(title="Before")
    client = Client()
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    url = reverse("admin:roadmap_roadmapitem_change", args=[item.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        title="After",
        theme=item.theme_id,
        team=item.team_id,
        target_quarter=item.target_quarter_id,
        requesting_teams=[],
        depends_on=[],
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    item.refresh_from_db()
    assert (item.title, item.version) == ("After", 2)
    assert item.history.latest().history_user == root


def test_reverting_in_the_admin_moves_the_version_forward():
    item = RoadmapItemFactory(title="First")
    first_record = item.history.get()
    for title in ("Second", "Third"):
        item.title = title
        item.version += 1
        item.save()
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse(
        "admin:roadmap_roadmapitem_simple_history", args=[item.pk, first_record.history_id]
    )
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(requesting_teams=[], depends_on=[])
    response = client.post(url, data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.version) == ("First", 4)

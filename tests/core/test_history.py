"""Names as they read at a moment: a person's shown name is kept each time it changes,
teams keep their history, and a sign-in writes no name."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.history import names_as_of, team_names_as_of, teams_as_of
from core.models import DisplayName
from tests.roadmap.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_name_is_kept_when_it_changes_and_read_as_of_a_moment():
    user = UserFactory(username="vera", first_name="Vera", last_name="Lind")
    before = timezone.now()
    user.first_name = "Veronica"
    user.save()
    user.save()  # unchanged: nothing more kept
    assert list(DisplayName.objects.filter(user=user).values_list("name", flat=True)) == [
        "Vera Lind", "Veronica Lind",
    ]  # fmt: skip
    assert names_as_of([user.pk], before) == {user.pk: "Vera Lind"}
    assert names_as_of([user.pk, None], timezone.now()) == {user.pk: "Veronica Lind"}


def test_without_a_full_name_the_user_name_is_shown():
    user = UserFactory(username="fiona", first_name="", last_name="")
    assert names_as_of([user.pk], timezone.now()) == {user.pk: "fiona"}


def test_a_user_made_after_the_moment_is_named_as_now():
    moment = timezone.now()
    user = UserFactory(username="late", first_name="Late", last_name="Comer",
                       date_joined=moment + datetime.timedelta(seconds=1))  # fmt: skip
    assert names_as_of([user.pk], moment) == {user.pk: "Late Comer"}


def test_signing_in_writes_no_name():
    user = get_user_model().objects.create_user("mika", password="a long passphrase 42")
    kept = DisplayName.objects.filter(user=user).count()
    assert kept == 1
    response = Client().post(reverse("login"), {"username": "mika",
                             "password": "a long passphrase 42"})  # fmt: skip
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.last_login is not None
    assert DisplayName.objects.filter(user=user).count() == kept


def test_teams_are_read_as_they_stood_at_a_moment():
    team = TeamFactory(name="Analytics Engineering", slug="ae")
    before = timezone.now()
    team.name, team.slug = "Data Products", "dp"
    team.save()
    then = teams_as_of([team.pk], before)[team.pk]
    assert (then.name, then.slug) == ("Analytics Engineering", "ae")
    assert team_names_as_of([team.pk], timezone.now()) == {team.pk: "Data Products"}
    assert team_names_as_of([], before) == {}

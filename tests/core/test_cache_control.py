"""What a signed-in person (or a token) is shown is marked for no shared cache to keep."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


def test_a_page_for_a_signed_in_manager_is_private(manager_client):
    response = manager_client.get(reverse("roadmap:board"))
    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE


def test_the_roadmap_csv_export_is_private(manager_client):
    response = manager_client.get(reverse("roadmap:item-export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == PRIVATE


def test_an_api_call_with_a_token_is_private_and_so_is_its_csv():
    _token, key = ApiToken.issue(user=UserFactory(username="fiona", role=Role.FINANCE), name="nb")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(reverse("api-root"))
    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE
    csv = client.get(reverse("cost-report"), {"format": "csv"})
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert csv["Cache-Control"] == PRIVATE


def test_a_refused_token_is_private_too():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    response = client.get(reverse("api-root"))
    assert response.status_code == 401
    assert response["Cache-Control"] == PRIVATE


def test_a_view_that_sets_cache_control_itself_keeps_it(client_for):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    response = client_for(root).get(reverse("admin:index"))
    assert response.status_code == 200
    # The admin's own never_cache header, not ours.
    assert "must-revalidate" in response["Cache-Control"]


def test_the_anonymous_sign_in_page_keeps_djangos_header():
    response = Client().get(reverse("login"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files_stay_publicly_cacheable_even_for_a_signed_in_user(manager):
    # WhiteNoise answers before the middleware: a fresh client loads it with the settings.
    client = Client()
    client.force_login(manager)
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    assert "private" not in response["Cache-Control"]
    assert "no-store" not in response["Cache-Control"]

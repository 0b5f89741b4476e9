import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import ApiToken
from core.roles import Role
from tests.roadmap.factories import UserFactory

pytestmark = pytest.mark.django_db


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def make_key(username: str = "fiona", role: str | None = Role.FINANCE) -> tuple[str, object]:
    user = UserFactory(username=username, role=role)
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", username, "--name", "notebook", stdout=out, stderr=err)
    return out.getvalue().strip(), user


def test_the_command_prints_a_key_once_and_stores_only_its_hash():
    key, user = make_key()
    token = ApiToken.objects.get(user=user)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
    assert token.key_hash == ApiToken.hash_key(key) != key
    assert token.prefix == key[:8]
    assert key not in str(ApiToken.objects.values())


def test_a_token_authenticates_and_records_when_it_was_last_used():
    key, user = make_key()
    response = token_client(key).get(reverse("api-root"))
    assert response.status_code == 200
    assert ApiToken.objects.get(user=user).last_used_at is not None


def test_a_revoked_token_is_refused_on_the_very_next_call():
    key, user = make_key()
    client = token_client(key)
    assert client.get(reverse("api-root")).status_code == 200
    ApiToken.objects.get(user=user).revoke()
    response = client.get(reverse("api-root"))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Token", 401), ("Token wrong-key", 401), ("Token a b", 401),
     ("Bearer something", 401)],
)  # fmt: skip
def test_calls_without_a_valid_token_get_401_with_the_scheme_to_use(header, status):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api-root"))
    assert response.status_code == status
    if header is None or header.startswith("Token"):
        assert response["WWW-Authenticate"] == "Token"


def test_a_deactivated_users_token_stops_working():
    key, user = make_key()
    user.is_active = False
    user.save()
    assert token_client(key).get(reverse("api-root")).status_code == 401


def test_the_command_refuses_unknown_users_and_warns_about_missing_roles():
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("create_api_token", "ghost")
    UserFactory(username="vp", role=Role.REVIEWER)
    err = io.StringIO()
    call_command("create_api_token", "vp", stdout=io.StringIO(), stderr=err)
    assert "will refuse this token (403)" in err.getvalue()


def test_calls_are_throttled_per_token():
    key, _user = make_key()
    other, _other_user = make_key("oscar")
    with override_settings(QUARTERDECK_API_RATE="2/min"):
        from django.core.cache import cache

        cache.clear()
        client = token_client(key)
        statuses = [client.get(reverse("api-root")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert token_client(other).get(reverse("api-root")).status_code == 200


def test_an_admin_adds_a_token_and_sees_its_key_once_then_revokes_it():
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    fiona = UserFactory(username="fiona", role=Role.FINANCE)
    client = Client()
    client.force_login(root)
    response = client.post(reverse("admin:core_apitoken_add"),
                           {"user": fiona.pk, "name": "BI tool"}, follow=True)  # fmt: skip
    text = response.content.decode()
    key = re.search(r"The key of BI tool is ([A-Za-z0-9_-]{43})", text).group(1)
    assert token_client(key).get(reverse("api-root")).status_code == 200
    again = client.get(reverse("admin:core_apitoken_changelist")).content.decode()
    assert key not in again
    token = ApiToken.objects.get()
    client.post(reverse("admin:core_apitoken_changelist"),
                {"action": "revoke", "_selected_action": [token.pk]})  # fmt: skip
    assert token_client(key).get(reverse("api-root")).status_code == 401

import pytest
from django.test import Client

from core.roles import Role
from tests.roadmap.factories import UserFactory


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:
    # Production serves hashed files from `collectstatic`; tests don't run it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    # Rolled-back tests reuse ids, so cached reports of one test could match another's.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", first_name="Mika", last_name="Tanaka", role=Role.MANAGER)


@pytest.fixture
def reviewer(db):
    return UserFactory(username="vp", role=Role.REVIEWER)


@pytest.fixture
def finance(db):
    return UserFactory(username="finance", role=Role.FINANCE)


@pytest.fixture
def nobody(db):
    """Signed in, but in no role group."""
    return UserFactory(username="nobody")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_client(manager) -> Client:
    return _client_for(manager)


@pytest.fixture
def client_for():
    return _client_for


@pytest.fixture
def finance_api(finance):
    """An API client calling with a Finance user's token, as finance's scripts do."""
    from rest_framework.test import APIClient

    from core.models import ApiToken

    _token, key = ApiToken.issue(user=finance, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client

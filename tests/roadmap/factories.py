import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from core.models import Team
from roadmap.models import Quarter, ReviewSession, RoadmapItem, TeamCapacity, Theme


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    # Tests sign in with force_login; hashing a real password costs ~0.3 s each.
    password = factory.django.Password(None)

    @factory.post_generation
    def role(self, create, extracted, **kwargs) -> None:
        if create and extracted:
            group, _created = Group.objects.get_or_create(name=extracted)
            self.groups.add(group)


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Theme {n}")
    colour = "#336699"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    weekly_rate = Decimal("4000.00")
    currency = "USD"


def quarter(code: str) -> Quarter:
    return Quarter.objects.for_code(code)


class TeamCapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamCapacity

    quarter = factory.LazyFunction(lambda: quarter(Quarter.current_code()))
    team = factory.SubFactory(TeamFactory)
    person_weeks = Decimal("50")


class RoadmapItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoadmapItem
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Item {n}")
    description = "Build the thing."
    theme = factory.SubFactory(ThemeFactory)
    team = factory.SubFactory(TeamFactory)
    status = RoadmapItem.Status.PLANNED
    target_quarter = factory.LazyFunction(lambda: quarter(Quarter.current_code()))
    rank = factory.Sequence(lambda n: n + 1)
    currency = "USD"


class ReviewSessionFactory(factory.django.DjangoModelFactory):
    """A draft session; open it with roadmap.reviews.rules.advance_session (or `opened()`)."""

    class Meta:
        model = ReviewSession
        skip_postgeneration_save = True

    quarter = factory.LazyFunction(lambda: quarter(Quarter.current_code()))
    title = factory.Sequence(lambda n: f"Review {n}")
    meeting_date = factory.LazyFunction(lambda: datetime.date(2026, 12, 10))

    @factory.post_generation
    def reviewers(self, create, extracted, **kwargs) -> None:
        if create and extracted:
            self.reviewers.set(extracted)


def opened(session: ReviewSession, *, by=None) -> ReviewSession:
    """The session opened by a manager, as the page does (snapshot taken)."""
    from roadmap.reviews.rules import advance_session

    manager = by or UserFactory(username="opening-manager", role="Manager")
    return advance_session(session_id=session.pk, from_status=session.status, by=manager)


def advanced(session: ReviewSession, to: str, *, by=None) -> ReviewSession:
    """Move a session forward until it reaches status `to`."""
    from roadmap.reviews.rules import advance_session

    manager = by or UserFactory(username="opening-manager", role="Manager")
    while session.status != to:
        session = advance_session(session_id=session.pk, from_status=session.status, by=manager)
    return session

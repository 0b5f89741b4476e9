"""Two managers saving the same item at the same moment, on real connections."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from roadmap.items.planning import EditConflict, save_item
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_of_two_simultaneous_saves_on_one_version_exactly_one_wins():
    item = RoadmapItemFactory(effort_weeks=Decimal("1"))
    users = [UserFactory(username=f"manager{n}") for n in range(2)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def save(user, weeks: str) -> None:
        try:
            mine = RoadmapItem.objects.get(pk=item.pk)  # both load version 1
            mine.effort_weeks = Decimal(weeks)
            start.wait(timeout=10)
            save_item(item=mine, requesting_teams=[], depends_on=[], expected_version=1, by=user)
            outcomes.append("saved")
        except EditConflict:
            outcomes.append("refused")
        except Exception as error:  # any other failure shows in the assertion below
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(user, weeks))
        for user, weeks in zip(users, ("5", "9"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["refused", "saved"]
    item.refresh_from_db()
    assert item.version == 2
    assert item.effort_weeks in (Decimal("5"), Decimal("9"))
    assert item.history.count() == 2

"""The day an item shipped and the benefit targets it declares: set by the item form, the
CSV import and the save path, refused when half-given, kept in the item's history."""

import datetime
import io

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from roadmap.items.planning import save_item
from roadmap.items.spreadsheets import (
    ImportRejected,
    export_items,
    import_items,
    items_for_export,
)
from roadmap.models import RoadmapItem
from tests.roadmap.factories import RoadmapItemFactory, UserFactory
from tests.roadmap.items.test_pages import form_data

pytestmark = pytest.mark.django_db


def _save(item: RoadmapItem) -> RoadmapItem:
    return save_item(item=item, requesting_teams=[], depends_on=[],
                     expected_version=item.version, by=None)  # fmt: skip


def test_saving_an_item_as_done_without_a_day_dates_it_today_in_utc():
    item = RoadmapItemFactory(status=RoadmapItem.Status.IN_PROGRESS)
    item.status = RoadmapItem.Status.DONE
    saved = _save(item)
    saved.refresh_from_db()
    today = timezone.now().astimezone(datetime.UTC).date()
    assert saved.delivered_on == today
    # Its history records the day with the status.
    assert saved.history.first().delivered_on == today


def test_a_delivery_day_given_is_kept_and_open_items_get_none():
    item = RoadmapItemFactory(status=RoadmapItem.Status.IN_PROGRESS)
    item.status, item.delivered_on = RoadmapItem.Status.DONE, datetime.date(2027, 2, 1)
    assert _save(item).delivered_on == datetime.date(2027, 2, 1)
    planned = RoadmapItemFactory(status=RoadmapItem.Status.PLANNED)
    planned.title = "Renamed"
    assert _save(planned).delivered_on is None


def test_an_adoption_target_needs_both_people_and_weeks_in_the_database():
    item = RoadmapItemFactory()
    with transaction.atomic(), pytest.raises(IntegrityError):
        RoadmapItem.objects.filter(pk=item.pk).update(adoption_target_people=50)
    RoadmapItem.objects.filter(pk=item.pk).update(
        adoption_target_people=50, adoption_target_weeks=8
    )


def test_the_form_sets_the_targets_and_refuses_half_an_adoption_target(manager_client):
    item = RoadmapItemFactory(status=RoadmapItem.Status.IN_PROGRESS)
    url = reverse("roadmap:item-edit", args=[item.pk])
    half = manager_client.post(url, form_data(item, adoption_target_people="50"))
    assert half.status_code == 400
    assert "Say within how many weeks the target number of people should be reached." in (
        half.content.decode()
    )
    response = manager_client.post(
        url,
        form_data(
            item,
            status="done",
            delivered_on="2027-01-15",
            adoption_target_people="50",
            adoption_target_weeks="8",
            retirement_target_date="2027-06-30",
        ),
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.delivered_on, item.adoption_target_people, item.adoption_target_weeks,
            item.retirement_target_date) == (datetime.date(2027, 1, 15), 50, 8,
                                             datetime.date(2027, 6, 30))  # fmt: skip
    form = manager_client.get(url).content.decode()
    assert 'name="delivered_on"' in form
    assert 'value="2027-01-15"' in form
    assert 'name="retirement_target_date"' in form


def test_the_csv_carries_the_delivery_day_and_the_targets_both_ways():
    item = RoadmapItemFactory(
        status=RoadmapItem.Status.DONE,
        delivered_on=datetime.date(2027, 1, 15),
        adoption_target_people=50,
        adoption_target_weeks=8,
    )
    out = io.StringIO()
    export_items(items_for_export(), out)
    header, row = out.getvalue().splitlines()[:2]
    columns = dict(zip(header.split(","), row.split(","), strict=False))
    assert columns["delivered_on"] == "2027-01-15"
    assert (columns["adoption_target_people"], columns["adoption_target_weeks"]) == ("50", "8")
    assert columns["retirement_target_date"] == ""
    sheet = f"id,version,retirement_target_date\n{item.pk},{item.version},2027-06-30\n"
    import_items(data=sheet.encode(), by=UserFactory())
    item.refresh_from_db()
    assert item.retirement_target_date == datetime.date(2027, 6, 30)
    assert item.delivered_on == datetime.date(2027, 1, 15)
    bad = f"id,version,adoption_target_weeks\n{item.pk},{item.version},0\n"
    with pytest.raises(ImportRejected) as refused:
        import_items(data=bad.encode(), by=UserFactory(username="other"))
    assert [(error.line, error.column) for error in refused.value.errors] == [
        (2, "adoption_target_weeks")
    ]

"""Names as they read at a moment: a review pack rebuilt for an earlier moment shows
the people and teams it names as they were named then, not as they are named now.

A person's name is their full name, else their user name (`display_name`); every change
of it is kept as a DisplayName, written here when a user is saved. Teams keep their
whole history (django-simple-history).
"""

import datetime
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from core.models import DisplayName, Team

NAME_FIELDS = {"first_name", "last_name", "username"}


def display_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def record_display_name(
    sender: type, instance: AbstractBaseUser, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of the user model: keep the name when it is new or changed. A save that
    names its fields and none of the name's (a sign-in's `last_login`) costs nothing."""
    if raw:
        return
    fields = kwargs.get("update_fields")
    if fields is not None and not NAME_FIELDS & set(fields):
        return
    name = display_name(instance)
    if not created:
        shown = (
            DisplayName.objects.filter(user_id=instance.pk)
            .order_by("-valid_from", "-id")
            .values_list("name", flat=True)
            .first()
        )
        if shown == name:
            return
    now = timezone.now()
    joined = getattr(instance, "date_joined", None) if created else None
    DisplayName.objects.create(user_id=instance.pk, name=name, valid_from=min(joined or now, now))


def names_as_of(user_ids: Iterable[int | None], moment: datetime.datetime) -> dict[int, str]:
    """Each user's name at `moment` (one query); a user with no name recorded by then
    (created later) by the name they have now."""
    wanted = {pk for pk in user_ids if pk is not None}
    if not wanted:
        return {}
    then = (
        DisplayName.objects.filter(user_id=OuterRef("pk"), valid_from__lte=moment)
        .order_by("-valid_from", "-id")
        .values("name")[:1]
    )
    users = get_user_model().objects.filter(pk__in=wanted).annotate(name_then=Subquery(then))
    return {user.pk: user.name_then or display_name(user) for user in users}


def records_as_of(history: Any, moment: datetime.datetime) -> list[Any]:
    """Of a django-simple-history manager or queryset, the record current at `moment` of
    each object that existed then (of two records with the same time, the later one).
    One query."""
    latest: dict[Any, Any] = {}
    for record in history.filter(history_date__lte=moment).latest_of_each():
        known = latest.get(record.id)
        if known is None or record.history_id > known.history_id:
            latest[record.id] = record
    return [record for record in latest.values() if record.history_type != "-"]


def teams_as_of(team_ids: Iterable[int | None], moment: datetime.datetime) -> dict[int, Team]:
    """Each team as it stood at `moment` (name, slug, rate), one query; a team with no
    record by then by what it is now."""
    wanted = {pk for pk in team_ids if pk is not None}
    if not wanted:
        return {}
    records = records_as_of(Team.history.filter(id__in=wanted), moment)
    teams = {record.id: record.instance for record in records}
    missing = wanted - set(teams)
    if missing:
        teams.update(Team.objects.in_bulk(missing))
    return teams


def team_names_as_of(team_ids: Iterable[int | None], moment: datetime.datetime) -> dict[int, str]:
    return {pk: team.name for pk, team in teams_as_of(team_ids, moment).items()}

"""Evidence behind an item's benefit: the BigQuery tables it retires or builds on (their
usage comes from the job history) and what the teams who asked for it said."""

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import Team
from roadmap.models.items import RoadmapItem


class ItemTable(models.Model):
    """A table an item will retire, or build on."""

    class Role(models.TextChoices):
        RETIRE = "retire", _("Retire")
        BUILD_ON = "build_on", _("Build on")

    item = models.ForeignKey(
        RoadmapItem, on_delete=models.CASCADE, related_name="item_tables", verbose_name=_("item")
    )
    table = models.ForeignKey(
        "cost.BigQueryTable",
        on_delete=models.CASCADE,
        related_name="roadmap_links",
        verbose_name=_("table"),
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)

    class Meta:
        ordering = ["item", "role", "table"]
        verbose_name = _("item table")
        verbose_name_plural = _("item tables")
        constraints = [
            models.UniqueConstraint(fields=["item", "table"], name="item_table_once"),
            models.CheckConstraint(
                condition=Q(role__in=["retire", "build_on"]), name="item_table_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.get_role_display()} {self.table_id}"


class StakeholderInterview(models.Model):
    """A conversation with a team about its needs, linked to the items it asks for."""

    date = models.DateField(_("date"))
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="interviews", verbose_name=_("team")
    )
    people = models.CharField(
        _("people"), max_length=500, help_text=_("Who was interviewed, e.g. names and roles.")
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("Markdown."))
    pain_points = models.TextField(_("pain points"), blank=True, help_text=_("One per line."))
    items = models.ManyToManyField(
        RoadmapItem,
        blank=True,
        related_name="interviews",
        verbose_name=_("items asked for"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    # A review pack shows the interviews, and the items they name, as of its moment.
    history = HistoricalRecords(m2m_fields=["items"])

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("stakeholder interview")
        verbose_name_plural = _("stakeholder interviews")
        constraints = [
            models.CheckConstraint(condition=~Q(people=""), name="interview_people_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("roadmap:interview-edit", args=[self.pk])

    def pain_point_list(self) -> list[str]:
        return pain_point_lines(self.pain_points)


# A list marker typed before a pain point: "- ", "* ", "+ " or a bullet. "-5% revenue" or
# "**Board** decks" keep their first characters.
LIST_MARKER = re.compile(r"^(?:[-*+•]\s+|•)")


def pain_point_lines(text: str) -> list[str]:
    """One pain point per non-empty line, list markers a user typed left out (a line of
    nothing but markers, such as a rule, is no pain point)."""
    points = (LIST_MARKER.sub("", line.strip()).strip() for line in (text or "").splitlines())
    return [point for point in points if point.strip("-*+• ")]

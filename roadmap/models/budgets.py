"""Error budgets: the data products the team owns, how many incidents each may have in a
period, and the incidents that spend that budget."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import Team
from roadmap.models.items import RoadmapItem


class DataProduct(models.Model):
    """A table, set of tables, dashboard or pipeline the team owns, with its objectives."""

    class Kind(models.TextChoices):
        TABLE = "table", _("Table")
        TABLES = "tables", _("Set of tables")
        DASHBOARD = "dashboard", _("Dashboard")
        PIPELINE = "pipeline", _("Pipeline")

    class Period(models.TextChoices):
        QUARTER = "quarter", _("per quarter")
        YEAR = "year", _("per year")

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TABLES)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_products",
        verbose_name=_("owner"),
    )
    consumers = models.ManyToManyField(
        Team, blank=True, related_name="consumed_products", verbose_name=_("consumer teams")
    )
    tables = models.TextField(
        _("tables"), blank=True, help_text=_("One table per line: project.dataset.table.")
    )
    incidents_allowed = models.PositiveSmallIntegerField(
        _("incidents allowed"), help_text=_("The error budget: incidents the period may have.")
    )
    budget_period = models.CharField(
        _("per"), max_length=8, choices=Period.choices, default=Period.QUARTER
    )
    ready_by = models.TimeField(
        _("data ready by"), null=True, blank=True, help_text=_("Freshness objective, local time.")
    )
    late_days_allowed = models.PositiveSmallIntegerField(
        _("late days allowed"), null=True, blank=True, help_text=_("Per budget period.")
    )
    reliability_items = models.ManyToManyField(
        RoadmapItem,
        blank=True,
        related_name="protected_products",
        verbose_name=_("reliability items"),
        help_text=_("Roadmap items that restore this product's budget."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    # A review pack shows each product's budget as it stood at the pack's moment.
    history = HistoricalRecords(m2m_fields=[consumers, reliability_items])

    class Meta:
        ordering = ["name"]
        verbose_name = _("data product")
        verbose_name_plural = _("data products")
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="product_name_not_empty"),
            models.CheckConstraint(
                condition=Q(budget_period__in=["quarter", "year"]), name="product_period_known"
            ),
            models.CheckConstraint(
                condition=Q(ready_by__isnull=True, late_days_allowed__isnull=True)
                | Q(ready_by__isnull=False, late_days_allowed__isnull=False),
                name="product_freshness_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("roadmap:product-detail", args=[self.pk])

    def table_list(self) -> list[str]:
        return [line.strip() for line in self.tables.splitlines() if line.strip()]


class Incident(models.Model):
    class Severity(models.TextChoices):
        SEV1 = "sev1", _("SEV1: critical")
        SEV2 = "sev2", _("SEV2: major")
        SEV3 = "sev3", _("SEV3: minor")

    class Impact(models.TextChoices):
        WRONG_NUMBERS = "wrong_numbers", _("Wrong numbers")
        LATE_DATA = "late_data", _("Late data")
        OUTAGE = "outage", _("Outage")

    title = models.CharField(_("title"), max_length=200)
    detected_at = models.DateTimeField(_("detected"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    severity = models.CharField(_("severity"), max_length=4, choices=Severity.choices)
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    products = models.ManyToManyField(
        DataProduct, related_name="incidents", verbose_name=_("data products")
    )
    cause = models.TextField(_("cause"), blank=True, help_text=_("Markdown."))
    caused_by = models.ForeignKey(
        RoadmapItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="caused_incidents",
        verbose_name=_("caused by item"),
        help_text=_("The roadmap item whose change caused it: it spent the budget."),
    )
    follow_up = models.ForeignKey(
        RoadmapItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_up_incidents",
        verbose_name=_("follow-up item"),
        help_text=_("The roadmap item that fixes the cause."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[products])

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="incident_title_not_empty"),
            # The incident log's key: the import matches rows on it, and two records of one
            # outage would spend its budget twice.
            models.UniqueConstraint(
                fields=["title", "detected_at"],
                name="incident_once",
                violation_error_message=_(
                    "An incident with this title and detection time is already recorded: "
                    "edit that one, or tell the two apart in the title."
                ),
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("detected_at")),
                name="incident_resolved_after_detected",
            ),
        ]
        indexes = [models.Index(fields=["detected_at"], name="incident_detected")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("roadmap:incident-edit", args=[self.pk])

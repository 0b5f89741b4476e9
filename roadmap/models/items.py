"""The roadmap: quarters, themes, teams and their capacity, and the items planned in them."""

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.models import Team
from core.money import CURRENCY_CODE, Money, currency_validator, default_currency
from core.quarters import (
    parse_quarter_code,
    quarter_bounds,
    quarter_code,
    quarter_index,
)
from roadmap.items import scoring

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class QuarterQuerySet(models.QuerySet):
    def for_code(self, code: str) -> "Quarter":
        """The quarter with this code, created on first use (quarters are calendar facts)."""
        year, number = parse_quarter_code(code)
        start, end = quarter_bounds(year, number)
        quarter, _created = self.get_or_create(
            code=f"{year}-Q{number}",
            defaults={"year": year, "number": number, "start_date": start, "end_date": end},
        )
        return quarter

    def window(self, first_code: str, count: int = 4) -> list["Quarter"]:
        """`count` consecutive quarters from `first_code`; unsaved ones where none exists yet."""
        last_plannable = quarter_index(2099, 4) - count + 1
        first = min(quarter_index(*parse_quarter_code(first_code)), last_plannable)
        codes = [quarter_code(first + offset) for offset in range(count)]
        existing = {quarter.code: quarter for quarter in self.filter(code__in=codes)}
        return [existing.get(code) or Quarter.from_code(code) for code in codes]


class Quarter(models.Model):
    code = models.CharField(_("code"), max_length=7, unique=True, help_text=_("e.g. 2027-Q1"))
    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("quarter number"))
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))

    objects = QuarterQuerySet.as_manager()

    class Meta:
        ordering = ["start_date"]
        verbose_name = _("quarter")
        verbose_name_plural = _("quarters")
        constraints = [
            models.UniqueConstraint(fields=["year", "number"], name="quarter_year_number_unique"),
            models.CheckConstraint(
                condition=Q(number__gte=1, number__lte=4), name="quarter_number_1_to_4"
            ),
            models.CheckConstraint(
                condition=Q(start_date__lt=models.F("end_date")), name="quarter_starts_before_end"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @classmethod
    def from_code(cls, code: str) -> "Quarter":
        """An unsaved Quarter with its dates filled in."""
        year, number = parse_quarter_code(code)
        start, end = quarter_bounds(year, number)
        return cls(
            code=f"{year}-Q{number}", year=year, number=number, start_date=start, end_date=end
        )

    @classmethod
    def code_for_date(cls, day: datetime.date) -> str:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"

    @classmethod
    def current_code(cls) -> str:
        return cls.code_for_date(timezone.localdate())

    @property
    def index(self) -> int:
        return quarter_index(self.year, self.number)

    def shifted(self, quarters: int) -> str:
        return quarter_code(self.index + quarters)

    def clean(self) -> None:
        year, number = parse_quarter_code(self.code)
        self.code = f"{year}-Q{number}"
        self.year, self.number = year, number
        self.start_date, self.end_date = quarter_bounds(year, number)


class Theme(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#4a6fa5",
        validators=[RegexValidator(HEX_COLOUR, _("Use a colour like #4a6fa5."))],
    )
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Order of the rows on the roadmap.")
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        constraints = [
            models.CheckConstraint(condition=Q(colour__regex=HEX_COLOUR), name="theme_colour_hex"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamCapacity(models.Model):
    quarter = models.ForeignKey(
        Quarter, on_delete=models.CASCADE, related_name="capacities", verbose_name=_("quarter")
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="capacities", verbose_name=_("team")
    )
    person_weeks = models.DecimalField(
        _("capacity (person-weeks)"),
        max_digits=7,
        decimal_places=1,
        validators=[MinValueValidator(Decimal(0))],
    )

    class Meta:
        ordering = ["quarter__start_date", "team__name"]
        verbose_name = _("team capacity")
        verbose_name_plural = _("team capacities")
        constraints = [
            models.UniqueConstraint(
                fields=["quarter", "team"], name="capacity_one_per_team_quarter"
            ),
            models.CheckConstraint(condition=Q(person_weeks__gte=0), name="capacity_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.quarter}: {self.person_weeks} person-weeks"


def validate_url_lines(value: str) -> None:
    """One http(s) URL per line; anything else (javascript:, data:) is refused."""
    check = URLValidator(schemes=["http", "https"])
    for number, line in enumerate(value.splitlines(), start=1):
        if line.strip():
            try:
                check(line.strip())
            except ValidationError:
                raise ValidationError(
                    _("Line %(number)s is not an http(s) link: %(line)s"),
                    params={"number": number, "line": line.strip()[:80]},
                ) from None


# What a person edits (forms, CSV); everything else is derived or bookkeeping.
EDITABLE_FIELDS = [
    "title",
    "description",
    "theme",
    "owner",
    "team",
    "requesting_teams",
    "status",
    "start_quarter",
    "target_quarter",
    "delivered_on",
    "depends_on",
    "links",
    "risks",
    "reach",
    "impact",
    "confidence",
    "rice_effort_months",
    "business_value",
    "time_criticality",
    "risk_reduction",
    "job_size",
    "effort_weeks",
    "currency",
    "bq_monthly_cost_change",
    "one_off_cost",
    "users_affected",
    "hours_saved_per_month",
    "benefit_narrative",
    "benefit_chain",
    "evidence_links",
    "adoption_target_people",
    "adoption_target_weeks",
    "retirement_target_date",
]


def adoption_target_error(people: int | None, weeks: int | None) -> dict[str, str] | None:
    """The message for an adoption target given by halves: {field: message}, or None."""
    if people is not None and weeks is None:
        return {
            "adoption_target_weeks": str(
                _("Say within how many weeks the target number of people should be reached.")
            )
        }
    if weeks is not None and people is None:
        return {
            "adoption_target_people": str(
                _("Say how many people should use what it builds within those weeks.")
            )
        }
    return None


def dependency_graph() -> dict[int, set[int]]:
    """item id -> ids of the items it depends on."""
    graph: dict[int, set[int]] = {}
    pairs = RoadmapItem.depends_on.through.objects.values_list(
        "from_roadmapitem_id", "to_roadmapitem_id"
    )
    for source, target in pairs:
        graph.setdefault(source, set()).add(target)
    return graph


def dependency_loop(graph: dict[int, set[int]], item_id: int) -> list[int] | None:
    """A chain of dependencies leading from the item back to itself, if there is one."""
    stack = [(target, [item_id, target]) for target in sorted(graph.get(item_id, ()))]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node == item_id:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((target, [*path, target]) for target in sorted(graph.get(node, ())))
    return None


class RoadmapItemQuerySet(models.QuerySet):
    def with_related(self) -> "RoadmapItemQuerySet":
        """With the single-valued relations every page shows, in the same query."""
        return self.select_related("theme", "owner", "team", "start_quarter", "target_quarter")

    def active(self) -> "RoadmapItemQuerySet":
        return self.exclude(status=RoadmapItem.Status.DROPPED)

    def next_rank(self) -> int:
        return (self.aggregate(top=models.Max("rank"))["top"] or 0) + 1


class RoadmapItem(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        PLANNED = "planned", _("Planned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    # --- What and who
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    theme = models.ForeignKey(
        Theme, on_delete=models.PROTECT, related_name="items", verbose_name=_("theme")
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_roadmap_items",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="delivered_items",
        verbose_name=_("delivering team"),
        help_text=_("Its weekly rate prices the effort."),
    )
    requesting_teams = models.ManyToManyField(
        Team, blank=True, related_name="requested_items", verbose_name=_("requesting teams")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROPOSED
    )
    start_quarter = models.ForeignKey(
        Quarter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("start quarter"),
    )
    target_quarter = models.ForeignKey(
        Quarter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="targeted_items",
        verbose_name=_("target quarter"),
    )
    delivered_on = models.DateField(
        _("delivered on"),
        null=True,
        blank=True,
        help_text=_("The day it shipped (UTC); saving it as done sets today if empty."),
    )
    rank = models.PositiveIntegerField(
        _("priority rank"), default=1, help_text=_("1 is the most important.")
    )
    depends_on = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="blocks",
        verbose_name=_("depends on"),
    )
    links = models.TextField(
        _("links"), blank=True, validators=[validate_url_lines], help_text=_("One URL per line.")
    )
    risks = models.TextField(_("risks"), blank=True, help_text=_("Markdown."))

    # --- RICE (reach x impact x confidence / effort)
    reach = models.PositiveIntegerField(
        _("reach per quarter"), null=True, blank=True, help_text=_("People or events per quarter.")
    )
    impact = models.DecimalField(
        _("impact"),
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        choices=scoring.IMPACT_CHOICES,
    )
    confidence = models.PositiveSmallIntegerField(
        _("confidence (%)"), null=True, blank=True, choices=scoring.CONFIDENCE_CHOICES
    )
    rice_effort_months = models.DecimalField(
        _("effort (person-months)"),
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(scoring.MIN_RICE_EFFORT)],
        help_text=_("RICE effort; at least 0.5."),
    )

    # --- WSJF (value + time criticality + risk reduction) / job size
    business_value = models.PositiveSmallIntegerField(
        _("user and business value"), null=True, blank=True, choices=scoring.WSJF_CHOICES
    )
    time_criticality = models.PositiveSmallIntegerField(
        _("time criticality"), null=True, blank=True, choices=scoring.WSJF_CHOICES
    )
    risk_reduction = models.PositiveSmallIntegerField(
        _("risk reduction / opportunity enablement"),
        null=True,
        blank=True,
        choices=scoring.WSJF_CHOICES,
    )
    job_size = models.PositiveSmallIntegerField(
        _("job size"), null=True, blank=True, choices=scoring.WSJF_CHOICES
    )

    # --- Cost
    effort_weeks = models.DecimalField(
        _("effort (person-weeks)"),
        max_digits=7,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=default_currency,
        validators=[currency_validator],
        help_text=_("Currency of the BigQuery and one-off amounts below."),
    )
    bq_monthly_cost_change = models.DecimalField(
        _("expected change in monthly BigQuery cost"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Negative when the item saves money, e.g. retiring a legacy pipeline."),
    )
    one_off_cost = models.DecimalField(
        _("one-off costs"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
        help_text=_("Licences, contractors, backfills..."),
    )

    # --- Benefit
    users_affected = models.PositiveIntegerField(_("users affected"), null=True, blank=True)
    hours_saved_per_month = models.DecimalField(
        _("analyst hours saved per month"),
        max_digits=8,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    benefit_narrative = models.TextField(
        _("benefit narrative"), blank=True, help_text=_("Markdown.")
    )
    benefit_chain = models.CharField(
        _("who benefits"),
        max_length=300,
        blank=True,
        help_text=_("The chain of beneficiaries, e.g. analysts -> product managers -> customers."),
    )
    evidence_links = models.TextField(
        _("evidence links"),
        blank=True,
        validators=[validate_url_lines],
        help_text=_("One URL per line: usage reports, surveys, interview notes."),
    )
    # --- Benefit targets, judged after delivery (roadmap.evidence.benefit). The cost
    # target is bq_monthly_cost_change above: met when the measured monthly change is no
    # higher than the one declared.
    adoption_target_people = models.PositiveIntegerField(
        _("adoption target (people)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Distinct people querying the tables it builds on, e.g. 50 ..."),
    )
    adoption_target_weeks = models.PositiveSmallIntegerField(
        _("adoption target (weeks)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("... within this many weeks of delivery, e.g. 8."),
    )
    retirement_target_date = models.DateField(
        _("retirement target date"),
        null=True,
        blank=True,
        help_text=_("From this day on, no one reads the tables it retires."),
    )

    # Figures from the job history of the item's tables, put here when the manager chooses
    # (roadmap.evidence.tables.apply_usage_evidence); packs read them as of their moment.
    usage_evidence = models.TextField(
        _("usage evidence"),
        blank=True,
        help_text=_("A summary of the BigQuery job history of the item's tables."),
    )
    usage_evidence_at = models.DateTimeField(
        _("usage evidence taken"), null=True, blank=True, editable=False
    )

    # --- Bookkeeping
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        editable=False,
        help_text=_("Grows with every save; a save based on an older version is refused."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = RoadmapItemQuerySet.as_manager()
    history = HistoricalRecords(
        m2m_fields=["requesting_teams", "depends_on"], excluded_fields=["created_at", "updated_at"]
    )

    class Meta:
        ordering = ["rank", "id"]
        verbose_name = _("roadmap item")
        verbose_name_plural = _("roadmap items")
        indexes = [models.Index(fields=["status", "rank"], name="item_status_rank")]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="item_title_not_empty"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="item_rank_positive"),
            models.CheckConstraint(
                condition=Q(rice_effort_months__isnull=True)
                | Q(rice_effort_months__gte=scoring.MIN_RICE_EFFORT),
                name="item_rice_effort_at_least_half_month",
            ),
            models.CheckConstraint(
                condition=Q(impact__isnull=True) | Q(impact__in=scoring.IMPACT_VALUES),
                name="item_impact_on_scale",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__in=scoring.CONFIDENCE_VALUES),
                name="item_confidence_on_scale",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True})
                    | Q(**{f"{field}__in": scoring.WSJF_VALUES}),
                    name=f"item_{field}_on_wsjf_scale",
                )
                for field in ("business_value", "time_criticality", "risk_reduction", "job_size")
            ],
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0}),
                    name=f"item_{field}_not_negative",
                )
                for field in ("effort_weeks", "one_off_cost", "hours_saved_per_month")
            ],
            models.CheckConstraint(
                condition=Q(currency__regex=CURRENCY_CODE), name="item_currency_iso"
            ),
            # "N people within W weeks": both halves or neither, each at least 1.
            models.CheckConstraint(
                condition=Q(adoption_target_people__isnull=True, adoption_target_weeks__isnull=True)
                # NULL >= 1 is unknown, which a CHECK lets through: say "not null".
                | Q(
                    adoption_target_people__isnull=False,
                    adoption_target_weeks__isnull=False,
                    adoption_target_people__gte=1,
                    adoption_target_weeks__gte=1,
                ),
                name="item_adoption_target_people_and_weeks",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("roadmap:item-detail", args=[self.pk])

    def clean(self) -> None:
        if (
            self.start_quarter_id
            and self.target_quarter_id
            # Loaded from the ids above: never None here.
            and self.start_quarter is not None
            and self.target_quarter is not None
            and self.start_quarter.start_date > self.target_quarter.start_date
        ):
            raise ValidationError(
                {"target_quarter": _("The target quarter cannot come before the start quarter.")}
            )
        adoption_error = adoption_target_error(
            self.adoption_target_people, self.adoption_target_weeks
        )
        if adoption_error:
            raise ValidationError(adoption_error)

    # --- Scores
    def rice_score(self) -> Decimal | None:
        return scoring.rice(self.reach, self.impact, self.confidence, self.rice_effort_months)

    def wsjf_score(self) -> Decimal | None:
        return scoring.wsjf(
            self.business_value, self.time_criticality, self.risk_reduction, self.job_size
        )

    # --- Cost and benefit
    def people_cost(self) -> Money | None:
        rate = self.team.weekly_rate_money if self.team_id else None
        if rate is None or self.effort_weeks is None:
            return None
        return rate * self.effort_weeks

    def bq_monthly_change_money(self) -> Money | None:
        if self.bq_monthly_cost_change is None:
            return None
        return Money(self.bq_monthly_cost_change, self.currency)

    def one_off_money(self) -> Money | None:
        return None if self.one_off_cost is None else Money(self.one_off_cost, self.currency)

    def upfront_cost(self) -> Money | None:
        """People cost plus one-off costs; None when unknown or in two currencies."""
        people = self.people_cost()
        if people is None:
            return None
        one_off = self.one_off_money()
        if one_off is None:
            return people
        if one_off.currency != people.currency:
            return None
        return people + one_off

    def cost_per_hour_saved(self) -> Money | None:
        """First-year cost (upfront + 12 months of BigQuery change) per analyst hour saved."""
        upfront = self.upfront_cost()
        if upfront is None or not self.hours_saved_per_month:
            return None
        bq = self.bq_monthly_cost_change
        if bq is not None and self.currency != upfront.currency:
            return None
        first_year = upfront.amount + 12 * (bq or Decimal(0))
        return Money(first_year / (self.hours_saved_per_month * 12), upfront.currency)

    def monthly_saving(self) -> Money | None:
        """Hours saved valued at QUARTERDECK_HOUR_VALUE, minus the BigQuery cost change."""
        if self.hours_saved_per_month is None and self.bq_monthly_cost_change is None:
            return None
        currency = settings.QUARTERDECK_DEFAULT_CURRENCY
        if self.bq_monthly_cost_change is not None and self.currency != currency:
            return None
        hours = self.hours_saved_per_month or Decimal(0)
        bq = self.bq_monthly_cost_change or Decimal(0)
        return Money(hours * settings.QUARTERDECK_HOUR_VALUE - bq, currency)

    def payback_months(self) -> Decimal | None:
        """Months until the monthly saving repays the upfront cost; None if it never does."""
        upfront, saving = self.upfront_cost(), self.monthly_saving()
        if upfront is None or saving is None or saving.currency != upfront.currency:
            return None
        if saving.amount <= 0:
            return None
        return (upfront.amount / saving.amount).quantize(Decimal("0.1"))

    # --- Lists kept as text
    def link_list(self) -> list[str]:
        return [line.strip() for line in self.links.splitlines() if line.strip()]

    def evidence_link_list(self) -> list[str]:
        return [line.strip() for line in self.evidence_links.splitlines() if line.strip()]

    def benefit_chain_steps(self) -> list[str]:
        steps = re.split(r"\s*(?:->|→|>)\s*", self.benefit_chain)
        return [step for step in steps if step]

    def quarter_span(self) -> range:
        """Running quarter indexes the item occupies (start to target, or just target)."""
        if self.target_quarter is None:
            return range(0)
        end = self.target_quarter.index
        start = self.start_quarter.index if self.start_quarter else end
        return range(min(start, end), end + 1)

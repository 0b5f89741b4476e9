"""BigQuery cost: billing sources, import runs, versioned invoice months and daily facts.

Amounts are stored as whole billionths of the currency unit (`*_nanos`, BigIntegerField).
SQLite has no decimal type (it keeps 15 significant digits of a float), so integers are
the one representation that sums exactly in SQL on both databases; the properties turn
them back into Decimal. Nine places keep micro-amounts such as 5e-06 exact.

Nothing is overwritten: reloading an invoice month closes the current BillingMonth
(valid_to, superseded_by) and adds a new one, so any earlier figure can be reproduced
"as of" the time it was current. Allocation rules keep their history too, so a report
"as of" a moment attributes cost with the rules as they stood then.
"""

import datetime
import os
from decimal import Decimal
from typing import Any, Self, TypeVar, overload

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.money import Money
from cost import locks

NANOS = Decimal(1_000_000_000)
INVOICE_MONTH = r"^[0-9]{4}(0[1-9]|1[0-2])$"
# A resource's global name (//compute.googleapis.com/projects/.../instances/...) is a few
# hundred characters at most; longer names are cut to this (cost.billing.shapes).
RESOURCE_LENGTH = 512
OTHER_RESOURCES = "(other)"


@overload
def to_decimal(nanos: int) -> Decimal: ...
@overload
def to_decimal(nanos: None) -> None: ...
@overload
def to_decimal(nanos: int | None) -> Decimal | None: ...
def to_decimal(nanos: int | None) -> Decimal | None:
    return None if nanos is None else Decimal(nanos) / NANOS


def to_nanos(amount: Decimal) -> int:
    """Exact for amounts with up to nine decimals; rounds half-even beyond that."""
    return int((amount * NANOS).to_integral_value())


class BillingSource(models.Model):
    class Kind(models.TextChoices):
        FILES = "files", _("Exported files")
        BIGQUERY = "bigquery", _("BigQuery export table")

    class Shape(models.TextChoices):
        """Which of Google's billing exports the rows are (cost.billing.shapes)."""

        STANDARD = "standard", _("Standard usage cost export")
        DETAILED = "detailed", _("Detailed usage cost export (with resources)")
        FOCUS = "focus", _("FOCUS export")

    name = models.SlugField(_("name"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.FILES)
    table = models.CharField(
        _("export table"),
        max_length=300,
        blank=True,
        help_text=_("project.dataset.table of the standard, detailed or FOCUS billing export."),
    )
    shape = models.CharField(
        _("export shape"),
        max_length=20,
        choices=Shape.choices,
        default=Shape.STANDARD,
        help_text=_("Which billing export the table is (BigQuery sources)."),
    )
    description = models.TextField(_("description"), blank=True)
    watermarks = models.JSONField(
        _("watermarks"),
        default=dict,
        blank=True,
        help_text=_("Invoice month -> newest export_time pulled (BigQuery sources)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("billing source")
        verbose_name_plural = _("billing sources")

    def __str__(self) -> str:
        return self.name


_R = TypeVar("_R", bound="Run")


class RunQuerySet(models.QuerySet[_R]):
    def running(self) -> Self:
        return self.filter(status=Run.Status.RUNNING)

    def reap(self) -> int:
        """Mark failed the running runs among these whose process is gone; how many."""
        return sum(run.reap() for run in self.running())


class Run(models.Model):
    """What every import run records: who started it, when, how it ended, and why not.

    One run at a time holds its unit (`unit()`: a billing source, the job history); a
    running run whose process is gone is dead, and `reap()` says so (cost.locks)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    started_by_name = models.CharField(
        _("started by (name)"), max_length=150, blank=True, help_text=_("e.g. cli:root")
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    error = models.TextField(_("error"), blank=True)
    pid = models.PositiveIntegerField(
        _("process id"), null=True, blank=True, help_text=_("Of the process that ran it.")
    )
    host = models.CharField(
        _("host"), max_length=255, blank=True, help_text=_("Where that process ran.")
    )

    class Meta:
        abstract = True

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def mark_failed(self, message: str) -> None:
        """Failed now, with why; only these fields are written."""
        self.status = self.Status.FAILED
        self.error = message
        self.finished_at = timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])

    # --- Holding the unit ---------------------------------------------------------------

    def unit(self) -> RunQuerySet[Any]:
        """The runs of which only one may be running at a time, this one among them."""
        raise NotImplementedError

    def unit_name(self) -> str:
        raise NotImplementedError

    def lock_key(self) -> locks.Key:
        raise NotImplementedError

    def start(self) -> None:
        """Save this new run as its unit's one running run, or raise locks.Busy naming
        the run that holds the unit (nothing is written then). On PostgreSQL this
        session holds the unit's advisory lock from now until `release()`."""
        self.pid, self.host = os.getpid(), locks.this_host()
        held = self.lock_key()
        if locks.uses_advisory_locks():
            if not locks.try_lock(held):
                raise locks.Busy(self._busy(self.unit().running().first()))
            try:
                with transaction.atomic():
                    # The lock is ours, so no other running run of the unit holds it.
                    for dead in self.unit().running():
                        dead.mark_dead()
                    self.save()
            except BaseException:
                locks.release(held)
                raise
            return
        # SQLite: the IMMEDIATE transaction (config/settings.py) makes check and save one
        # step, as two writers cannot be inside it at once.
        with transaction.atomic():
            self.unit().reap()
            holder = self.unit().running().first()
            if holder is not None:
                raise locks.Busy(self._busy(holder))
            self.save()

    def release(self) -> None:
        """Let the next import into the unit start (PostgreSQL: the advisory lock)."""
        locks.release(self.lock_key())

    def is_dead(self) -> bool:
        """Running, and nothing runs it any more."""
        if self.status != self.Status.RUNNING:
            return False
        if locks.uses_advisory_locks():
            return not locks.is_locked(self.lock_key())
        return locks.process_gone(pid=self.pid, host=self.host, since=self.started_at)

    def reap(self) -> bool:
        """Mark this run failed if it is dead; whether it was."""
        if not self.is_dead():
            return False
        self.mark_dead()
        return True

    def mark_dead(self) -> None:
        """Failed: stopped without finishing. Only a run still running is changed, so one
        that ended meanwhile keeps its own ending."""
        message: str
        if self.pid is None:
            message = str(_("Stopped without finishing: the process that ran it is gone. Nothing "
                        "it read was stored; run the import again."))  # fmt: skip
        else:
            message = _("Stopped without finishing: the process (pid %(pid)s on host "
                        "%(host)s) is gone. Nothing it read was stored; run the import "
                        "again.") % {"pid": self.pid, "host": self.host or "?"}  # fmt: skip
        now = timezone.now()
        changed = (
            type(self)
            ._default_manager.filter(pk=self.pk, status=self.Status.RUNNING)
            .update(status=self.Status.FAILED, error=message, finished_at=now)
        )
        if changed:
            self.status, self.error, self.finished_at = self.Status.FAILED, message, now

    def holder(self) -> str:
        """Who started it, when, and the process that runs it."""
        who = self.started_by.get_username() if self.started_by else self.started_by_name
        return _("run %(id)s, started by %(who)s at %(at)s (pid %(pid)s on host %(host)s)") % {
            "id": self.pk,
            "who": who or "?",
            "at": f"{timezone.localtime(self.started_at):%Y-%m-%d %H:%M:%S %Z}",
            "pid": self.pid if self.pid is not None else "?",
            "host": self.host or "?",
        }

    def _busy(self, holder: "Run | None") -> str:
        if holder is None:  # between another import's lock and its run row
            return _("%(unit)s is being imported by another process: nothing was imported; "
                     "try again when it ends") % {"unit": self.unit_name()}  # fmt: skip
        return _("%(unit)s is being imported by %(holder)s: nothing was imported; try "
                 "again when it ends") % {"unit": self.unit_name(),
                                          "holder": holder.holder()}  # fmt: skip


class ImportRunQuerySet(RunQuerySet["ImportRun"]):
    pass


class ImportRun(Run):
    source = models.ForeignKey(
        BillingSource, on_delete=models.PROTECT, related_name="runs", verbose_name=_("source")
    )
    files = models.JSONField(_("files"), default=list, blank=True)
    months = models.JSONField(_("months touched"), default=list, blank=True)
    rows_read = models.BigIntegerField(_("rows read"), default=0)
    bytes_read = models.BigIntegerField(_("bytes read"), default=0)
    facts_written = models.BigIntegerField(_("facts written"), default=0)

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        indexes = [models.Index(fields=["source", "-started_at"], name="run_source_started")]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    def get_absolute_url(self) -> str:
        return reverse("cost:import-detail", args=[self.pk])

    def months_with(self, outcome: str) -> list[str]:
        return [month["month"] for month in self.months if month.get("outcome") == outcome]

    def unit(self) -> ImportRunQuerySet:
        return ImportRun.objects.filter(source_id=self.source_id)

    def unit_name(self) -> str:
        return _("source %(name)r") % {"name": self.source.name}

    def lock_key(self) -> locks.Key:
        return locks.key(locks.BILLING_SOURCE, self.source_id)


class BillingMonthQuerySet(models.QuerySet["BillingMonth"]):
    def current(self) -> "BillingMonthQuerySet":
        return self.filter(valid_to__isnull=True)

    def as_of(self, moment: datetime.datetime) -> "BillingMonthQuerySet":
        """The versions that were current at `moment`."""
        return self.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=moment), valid_from__lte=moment
        )


class BillingMonth(models.Model):
    """One version of one invoice month of one source, with its facts."""

    source = models.ForeignKey(
        BillingSource, on_delete=models.PROTECT, related_name="months", verbose_name=_("source")
    )
    invoice_month = models.CharField(_("invoice month"), max_length=6, help_text=_("YYYYMM"))
    run = models.ForeignKey(
        ImportRun, on_delete=models.PROTECT, related_name="months_loaded", verbose_name=_("run")
    )
    superseded_by = models.ForeignKey(
        ImportRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="months_superseded",
        verbose_name=_("superseded by"),
    )
    valid_from = models.DateTimeField(_("current from"))
    valid_to = models.DateTimeField(_("current until"), null=True, blank=True)
    digest = models.CharField(_("content digest"), max_length=64)
    fact_count = models.IntegerField(_("facts"), default=0)
    row_count = models.BigIntegerField(_("export rows"), default=0)

    objects = BillingMonthQuerySet.as_manager()

    class Meta:
        ordering = ["source", "invoice_month", "valid_from"]
        verbose_name = _("billing month")
        verbose_name_plural = _("billing months")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "invoice_month"],
                condition=Q(valid_to__isnull=True),
                name="billing_month_one_current_version",
            ),
            models.CheckConstraint(
                condition=Q(invoice_month__regex=INVOICE_MONTH), name="billing_month_yyyymm"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="billing_month_valid_range",
            ),
        ]
        indexes = [
            models.Index(fields=["valid_from", "valid_to"], name="billing_month_validity"),
        ]

    def __str__(self) -> str:
        state = "current" if self.valid_to is None else f"until {self.valid_to:%Y-%m-%d %H:%M}"
        return f"{self.source} {self.invoice_month} ({state})"


class LabelSet(models.Model):
    """A distinct combination of resource labels and project labels. Facts point at one,
    so a filter such as team=ae looks through a few label sets, not millions of facts."""

    digest = models.CharField(_("digest"), max_length=64, unique=True)
    labels = models.JSONField(_("resource labels"), default=dict, blank=True)
    project_labels = models.JSONField(_("project labels"), default=dict, blank=True)

    class Meta:
        verbose_name = _("label set")
        verbose_name_plural = _("label sets")

    def __str__(self) -> str:
        parts = [f"{key}={value}" for key, value in sorted(self.labels.items())]
        parts += [f"project:{key}={value}" for key, value in sorted(self.project_labels.items())]
        return ", ".join(parts) or "(no labels)"


class Label(models.Model):
    class Scope(models.TextChoices):
        RESOURCE = "resource", _("Resource")
        PROJECT = "project", _("Project")

    label_set = models.ForeignKey(LabelSet, on_delete=models.CASCADE, related_name="items")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        constraints = [
            models.UniqueConstraint(fields=["label_set", "scope", "key"], name="label_once_per_set")
        ]
        indexes = [models.Index(fields=["key", "value"], name="label_key_value")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class CostFactQuerySet(models.QuerySet["CostFact"]):
    def current(self) -> "CostFactQuerySet":
        return self.filter(month__valid_to__isnull=True)

    def as_of(self, moment: datetime.datetime) -> "CostFactQuerySet":
        return self.filter(
            Q(month__valid_to__isnull=True) | Q(month__valid_to__gt=moment),
            month__valid_from__lte=moment,
        )

    def with_label(self, key: str, value: str | None = None) -> "CostFactQuerySet":
        labels = Label.objects.filter(key=key)
        if value is not None:
            labels = labels.filter(value=value)
        return self.filter(label_set__in=labels.values("label_set"))


class CostFact(models.Model):
    """Daily cost of one SKU in one project with one label set, aggregated from the
    export's hourly rows."""

    month = models.ForeignKey(
        BillingMonth, on_delete=models.CASCADE, related_name="facts", verbose_name=_("month")
    )
    invoice_month = models.CharField(_("invoice month"), max_length=6)
    usage_date = models.DateField(_("usage day"), help_text=_("In the billing time zone."))
    billing_account_id = models.CharField(_("billing account"), max_length=40)
    project_id = models.CharField(_("project id"), max_length=128, blank=True)
    project_name = models.CharField(_("project name"), max_length=256, blank=True)
    project_number = models.CharField(_("project number"), max_length=32, blank=True)
    project_ancestry = models.CharField(_("project ancestry"), max_length=512, blank=True)
    service_id = models.CharField(_("service id"), max_length=64)
    service_description = models.CharField(_("service"), max_length=256, blank=True)
    sku_id = models.CharField(_("SKU id"), max_length=64)
    sku_description = models.CharField(_("SKU"), max_length=256, blank=True)
    location = models.CharField(_("location"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    resource = models.CharField(
        _("resource"),
        max_length=RESOURCE_LENGTH,
        blank=True,
        help_text=_(
            'Of a detailed or FOCUS export: the resource\'s global name, or "(other)" for '
            "the resources beyond the most costly of their day and SKU. Blank in a standard "
            "export."
        ),
    )
    cost_type = models.CharField(_("cost type"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3)
    label_set = models.ForeignKey(
        LabelSet, on_delete=models.PROTECT, related_name="facts", verbose_name=_("labels")
    )
    is_correction = models.BooleanField(_("correction"), default=False)
    usage_unit = models.CharField(_("usage unit"), max_length=64, blank=True)
    usage_amount = models.DecimalField(
        _("usage amount"), max_digits=38, decimal_places=9, null=True, blank=True
    )
    pricing_unit = models.CharField(_("pricing unit"), max_length=64, blank=True)
    usage_in_pricing_units = models.DecimalField(
        _("usage in pricing units"), max_digits=38, decimal_places=9, null=True, blank=True
    )
    cost_nanos = models.BigIntegerField(_("cost (billionths)"))
    credits_nanos = models.BigIntegerField(_("credits (billionths)"), default=0)
    cost_at_list_nanos = models.BigIntegerField(_("cost at list (billionths)"), null=True)
    cost_usd_nanos = models.BigIntegerField(_("cost in USD (billionths)"), null=True)
    credits_usd_nanos = models.BigIntegerField(_("credits in USD (billionths)"), null=True)
    row_count = models.IntegerField(_("export rows"), default=1)
    last_export_time = models.DateTimeField(_("newest export time"), null=True, blank=True)
    allocation_rule = models.ForeignKey(
        "cost.AllocationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="facts",
        verbose_name=_("allocated by"),
    )

    objects = CostFactQuerySet.as_manager()

    class Meta:
        ordering = ["usage_date", "id"]
        verbose_name = _("cost fact")
        verbose_name_plural = _("cost facts")
        indexes = [
            # With the id: cost-facts pages are ordered by id, and finance pages through one
            # invoice month or one project; these indexes give such a page in id order
            # without reading or sorting the facts before it.
            models.Index(fields=["invoice_month", "id"], name="fact_invoice_month_id"),
            models.Index(fields=["usage_date"], name="fact_usage_date"),
            models.Index(fields=["project_id", "id"], name="fact_project_id"),
            models.Index(fields=["service_id"], name="fact_service"),
            models.Index(fields=["sku_id"], name="fact_sku"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice_month__regex=INVOICE_MONTH), name="fact_invoice_yyyymm"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="fact_iso_ccy"),
        ]

    def __str__(self) -> str:
        return f"{self.usage_date} {self.project_id} {self.sku_description}: {self.net_cost}"

    @property
    def cost(self) -> Money:
        return Money(to_decimal(self.cost_nanos), self.currency)

    @property
    def credits(self) -> Money:
        return Money(to_decimal(self.credits_nanos), self.currency)

    @property
    def net_cost(self) -> Money:
        return Money(to_decimal(self.cost_nanos + self.credits_nanos), self.currency)


class CostCredit(models.Model):
    fact = models.ForeignKey(CostFact, on_delete=models.CASCADE, related_name="credit_lines")
    credit_type = models.CharField(_("credit type"), max_length=64)
    amount_nanos = models.BigIntegerField(_("amount (billionths)"))
    amount_usd_nanos = models.BigIntegerField(_("amount in USD (billionths)"), null=True)

    class Meta:
        verbose_name = _("credit")
        verbose_name_plural = _("credits")
        constraints = [
            models.UniqueConstraint(fields=["fact", "credit_type"], name="credit_once_per_type")
        ]
        indexes = [models.Index(fields=["credit_type"], name="credit_type")]

    def __str__(self) -> str:
        return f"{self.credit_type}: {to_decimal(self.amount_nanos)}"


class AllocationRule(models.Model):
    """Attributes matching cost to a team and optionally a roadmap item. Rules are tried
    in `position` order; the first that matches wins; cost no rule matches is
    'unallocated', never dropped. Blank conditions match anything."""

    position = models.PositiveIntegerField(_("position"), default=1)
    name = models.CharField(_("name"), max_length=120)
    match_project = models.CharField(
        _("project id"), max_length=128, blank=True, help_text=_("Exact project id.")
    )
    match_label_key = models.CharField(_("label key"), max_length=128, blank=True)
    match_label_value = models.CharField(
        _("label value"),
        max_length=256,
        blank=True,
        help_text=_("With a key: that value; blank means any value of the key."),
    )
    match_service = models.CharField(
        _("service"), max_length=256, blank=True, help_text=_("Service id or description.")
    )
    match_sku = models.CharField(
        _("SKU"), max_length=256, blank=True, help_text=_("SKU id or description.")
    )
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.PROTECT,
        related_name="allocation_rules",
        verbose_name=_("team"),
    )
    # The work a rule funds is a model of a higher layer (the roadmap's items): cost names
    # it only through a setting, as Django's own apps name the user model, so the data
    # layer never depends on the roadmap.
    roadmap_item = models.ForeignKey(
        settings.QUARTERDECK_WORK_ITEM_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="allocation_rules",
        verbose_name=_("roadmap item"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # Every version of every rule: a report as of a moment (a review pack's) attributes
    # cost with the rules as they stood then (cost.billing.allocation.rules_as_of).
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("allocation rule")
        verbose_name_plural = _("allocation rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(match_label_value="") | ~Q(match_label_key=""),
                name="allocation_rule_value_needs_key",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def work_item_model(cls) -> type[models.Model]:
        """The model rules fund (QUARTERDECK_WORK_ITEM_MODEL: the roadmap's items)."""
        return cls._meta.get_field("roadmap_item").related_model  # type: ignore[return-value]

    def conditions(self) -> list[str]:
        parts = []
        if self.match_project:
            parts.append(f"project = {self.match_project}")
        if self.match_label_key:
            value = self.match_label_value or "*"
            parts.append(f"label {self.match_label_key} = {value}")
        if self.match_service:
            parts.append(f"service = {self.match_service}")
        if self.match_sku:
            parts.append(f"SKU = {self.match_sku}")
        return parts or [str(_("everything"))]


class CostMonthRollup(models.Model):
    """Daily facts summed to months (usage month, within each invoice month), with every
    other dimension of the facts kept, so that reports by month, service, project, team or
    label read a thirtieth of the rows. Built with each month version, attributed like
    its facts."""

    month = models.ForeignKey(
        BillingMonth, on_delete=models.CASCADE, related_name="rollups", verbose_name=_("month")
    )
    invoice_month = models.CharField(_("invoice month"), max_length=6)
    usage_month = models.CharField(_("usage month"), max_length=6)
    billing_account_id = models.CharField(_("billing account"), max_length=40)
    project_id = models.CharField(_("project id"), max_length=128, blank=True)
    project_name = models.CharField(_("project name"), max_length=256, blank=True)
    service_id = models.CharField(_("service id"), max_length=64)
    service_description = models.CharField(_("service"), max_length=256, blank=True)
    sku_id = models.CharField(_("SKU id"), max_length=64)
    sku_description = models.CharField(_("SKU"), max_length=256, blank=True)
    location = models.CharField(_("location"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    resource = models.CharField(_("resource"), max_length=RESOURCE_LENGTH, blank=True)
    cost_type = models.CharField(_("cost type"), max_length=20)
    currency = models.CharField(_("currency"), max_length=3)
    label_set = models.ForeignKey(LabelSet, on_delete=models.PROTECT, related_name="+")
    is_correction = models.BooleanField(_("correction"), default=False)
    cost_nanos = models.BigIntegerField()
    credits_nanos = models.BigIntegerField(default=0)
    cost_at_list_nanos = models.BigIntegerField(null=True)
    cost_usd_nanos = models.BigIntegerField(null=True)
    credits_usd_nanos = models.BigIntegerField(null=True)
    fact_count = models.IntegerField(default=0)
    allocation_rule = models.ForeignKey(
        "cost.AllocationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = CostFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly cost")
        verbose_name_plural = _("monthly costs")
        indexes = [
            models.Index(fields=["invoice_month"], name="rollup_invoice_month"),
            models.Index(fields=["usage_month"], name="rollup_usage_month"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_month} {self.usage_month} {self.project_id} {self.sku_description}"


class CreditMonthRollup(models.Model):
    rollup = models.ForeignKey(CostMonthRollup, on_delete=models.CASCADE, related_name="credits")
    credit_type = models.CharField(max_length=64)
    amount_nanos = models.BigIntegerField()
    amount_usd_nanos = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = _("monthly credit")
        verbose_name_plural = _("monthly credits")

    def __str__(self) -> str:
        return f"{self.credit_type}: {to_decimal(self.amount_nanos)}"

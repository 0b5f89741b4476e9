"""BigQuery job history (INFORMATION_SCHEMA.JOBS): who ran what, on which tables, at what
cost.

Three layers:
- `BigQueryJob`: one row per job, kept for `QUARTERDECK_JOBS_RETENTION_DAYS`.
- `TableSet`: the distinct set of tables one job reads. Thousands of jobs read the same
  few tables, so a job points at its set, and the set lists its members and its pairs
  and triples (`TableCombo`) once.
- `JobUsageDay`: jobs summed per UTC day, project, user and table set. Every usage report
  reads it, and it outlives the job rows, so reports over a year stay fast and the job
  table stays bounded.

Job cost is an allocation, in USD billionths: on-demand bytes billed x price per TiB of
the job's region, or slot-hours x slot-hour price of the reservation's edition, with the
prices in settings at import time. The invoice is the billing export; the usage pages
compare the two.
"""

import hashlib
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cost import locks
from cost.models.billing import Run, RunQuerySet, to_decimal

USD = "USD"
# Only sets this small get their triples listed (a set of 12 tables has 220 triples);
# pairs are listed for sets up to MAX_PAIR_SET_SIZE tables (780 pairs at 40).
MAX_TRIPLE_SET_SIZE = 12
MAX_PAIR_SET_SIZE = 40


class BigQueryTable(models.Model):
    """A table (or view) named by a job: `project.dataset.table`."""

    project_id = models.CharField(_("project"), max_length=128)
    dataset_id = models.CharField(_("dataset"), max_length=1024)
    table_id = models.CharField(_("table"), max_length=1024)

    class Meta:
        ordering = ["project_id", "dataset_id", "table_id"]
        verbose_name = _("BigQuery table")
        verbose_name_plural = _("BigQuery tables")
        constraints = [
            models.UniqueConstraint(
                fields=["project_id", "dataset_id", "table_id"], name="bq_table_unique"
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.project_id}.{self.dataset_id}.{self.table_id}"

    @property
    def dataset(self) -> str:
        return f"{self.project_id}.{self.dataset_id}"

    @staticmethod
    def split_name(name: str) -> tuple[str, str, str]:
        """`project.dataset.table` (backticks allowed) -> its three parts, or ValueError."""
        parts = name.strip().strip("`").split(".")
        if len(parts) != 3 or not all(part.strip() for part in parts):
            raise ValueError(
                _("“%(name)s” is not a table name of the form project.dataset.table")
                % {"name": name}
            )
        project, dataset, table = (part.strip() for part in parts)
        return project, dataset, table


class TableSet(models.Model):
    """The tables one job reads, as a set. Jobs that read the same tables share it."""

    digest = models.CharField(_("digest"), max_length=64, unique=True)
    size = models.PositiveIntegerField(_("tables"))
    tables: "models.ManyToManyField[BigQueryTable, TableSetMember]" = models.ManyToManyField(
        BigQueryTable, through="TableSetMember", related_name="table_sets"
    )

    class Meta:
        verbose_name = _("table set")
        verbose_name_plural = _("table sets")

    def __str__(self) -> str:
        return f"{self.size} tables ({self.digest[:8]})"

    @staticmethod
    def digest_of(table_ids: list[int]) -> str:
        return hashlib.sha256(",".join(map(str, sorted(set(table_ids)))).encode()).hexdigest()


class TableSetMember(models.Model):
    table_set = models.ForeignKey(TableSet, on_delete=models.CASCADE, related_name="members")
    table = models.ForeignKey(BigQueryTable, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["table_set", "table"], name="table_set_member_unique")
        ]
        indexes = [models.Index(fields=["table", "table_set"], name="table_set_member_table")]

    def __str__(self) -> str:
        return f"{self.table_set_id}: {self.table_id}"


class TableCombo(models.Model):
    """A pair (third is null) or triple of tables read together by the jobs of a set,
    in table-id order."""

    table_set = models.ForeignKey(TableSet, on_delete=models.CASCADE, related_name="combos")
    first = models.ForeignKey(BigQueryTable, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(BigQueryTable, on_delete=models.CASCADE, related_name="+")
    third = models.ForeignKey(
        BigQueryTable, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )

    class Meta:
        indexes = [models.Index(fields=["table_set"], name="table_combo_set")]
        constraints = [
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second"))
                & (Q(third__isnull=True) | Q(second__lt=models.F("third"))),
                name="table_combo_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_id}+{self.second_id}" + (f"+{self.third_id}" if self.third_id else "")


class JobUser(models.Model):
    """Who ran jobs: a person or a service account, and the team they belong to."""

    email = models.CharField(_("user or service account"), max_length=320, unique=True)
    is_service_account = models.BooleanField(_("service account"), default=False)
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="job_users",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        ordering = ["email"]
        verbose_name = _("job user")
        verbose_name_plural = _("job users")

    def __str__(self) -> str:
        return self.email

    @staticmethod
    def looks_like_service_account(email: str, principal_subject: str = "") -> bool:
        return principal_subject.startswith("serviceAccount:") or email.endswith(
            ".gserviceaccount.com"
        )


class JobImportRunQuerySet(RunQuerySet["JobImportRun"]):
    pass


class JobImportRun(Run):
    """One `import_jobs` or `pull_jobs`: what was read, what was written, or why not."""

    class Kind(models.TextChoices):
        FILES = "files", _("Files")
        BIGQUERY = "bigquery", _("BigQuery")
        USAGE = "usage", _("BigQuery, summed there")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    location = models.CharField(_("region"), max_length=64, blank=True)
    project_id = models.CharField(_("project (pulls)"), max_length=128, blank=True)
    files = models.JSONField(_("files"), default=list, blank=True)
    rows_read = models.BigIntegerField(_("rows read"), default=0)
    jobs_written = models.BigIntegerField(_("jobs new or changed"), default=0)
    rows_skipped = models.BigIntegerField(
        _("rows skipped"),
        default=0,
        help_text=_("Rows of days already summed and pruned by the retention."),
    )
    first_day = models.DateField(_("first day"), null=True, blank=True)
    last_day = models.DateField(_("last day"), null=True, blank=True)
    watermark = models.DateTimeField(
        _("read up to"),
        null=True,
        blank=True,
        help_text=_("Usage pulls: the jobs created before this time were read."),
    )

    objects = JobImportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("job import run")
        verbose_name_plural = _("job import runs")

    def __str__(self) -> str:
        return f"jobs {self.kind} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    # Every job import holds the whole job history: a file may hold jobs of any project
    # and region, and every import rebuilds the daily usage of the days it touches.
    def unit(self) -> JobImportRunQuerySet:
        return JobImportRun.objects.all()

    def unit_name(self) -> str:
        return str(_("the job history"))

    def lock_key(self) -> locks.Key:
        return locks.key(locks.JOB_HISTORY, 0)


class BigQueryJob(models.Model):
    """One row of INFORMATION_SCHEMA.JOBS, as imported."""

    class Pricing(models.TextChoices):
        ON_DEMAND = "on_demand", _("On-demand (bytes billed)")
        CAPACITY = "capacity", _("Capacity (slot-hours)")

    project_id = models.CharField(_("project"), max_length=128)
    job_id = models.CharField(_("job id"), max_length=1024)
    location = models.CharField(_("region"), max_length=64, blank=True)
    creation_time = models.DateTimeField(_("created"))
    start_time = models.DateTimeField(_("started"), null=True, blank=True)
    end_time = models.DateTimeField(_("ended"), null=True, blank=True)
    user = models.ForeignKey(
        JobUser, on_delete=models.PROTECT, related_name="jobs", verbose_name=_("user")
    )
    job_type = models.CharField(_("job type"), max_length=16, blank=True)
    statement_type = models.CharField(_("statement type"), max_length=40, blank=True)
    state = models.CharField(_("state"), max_length=16, blank=True)
    priority = models.CharField(_("priority"), max_length=16, blank=True)
    total_bytes_processed = models.BigIntegerField(_("bytes processed"), default=0)
    total_bytes_billed = models.BigIntegerField(_("bytes billed"), default=0)
    total_slot_ms = models.BigIntegerField(_("slot-ms"), default=0)
    cache_hit = models.BooleanField(_("cache hit"), default=False)
    table_set = models.ForeignKey(
        TableSet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name=_("referenced tables"),
    )
    destination_table = models.ForeignKey(
        BigQueryTable,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("destination table"),
    )
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    reservation_id = models.CharField(_("reservation"), max_length=256, blank=True)
    parent_job_id = models.CharField(_("parent job (SCRIPT)"), max_length=1024, blank=True)
    error_reason = models.CharField(_("error reason"), max_length=64, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    query_hash = models.CharField(
        _("query hash"), max_length=64, blank=True, help_text=_("SHA-256 of the query text.")
    )
    query_text = models.TextField(
        _("query text"), blank=True, help_text=_("Kept only if QUARTERDECK_JOBS_KEEP_QUERY_TEXT.")
    )
    pricing = models.CharField(_("pricing"), max_length=10, choices=Pricing.choices)
    cost_nanos = models.BigIntegerField(
        _("allocated cost (USD billionths)"),
        default=0,
        help_text=_("An allocation from list prices, not an invoice amount."),
    )
    run = models.ForeignKey(
        JobImportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    digest = models.CharField(
        _("row digest"), max_length=32, help_text=_("Tells a re-imported job that changed.")
    )

    class Meta:
        ordering = ["-creation_time"]
        verbose_name = _("BigQuery job")
        verbose_name_plural = _("BigQuery jobs")
        constraints = [
            models.UniqueConstraint(fields=["project_id", "job_id"], name="bq_job_unique")
        ]
        indexes = [
            models.Index(fields=["creation_time"], name="bq_job_created"),
            models.Index(fields=["query_hash"], name="bq_job_query_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.job_id}"

    @property
    def cost(self) -> Decimal:
        return to_decimal(self.cost_nanos)

    @property
    def currency(self) -> str:
        return USD

    @property
    def is_script_parent(self) -> bool:
        """A SCRIPT's own row repeats the cost of its child jobs: usage counts the children."""
        return self.statement_type == "SCRIPT"


class JobUsageDay(models.Model):
    """Jobs of one UTC day, project, user and table set (null: jobs that read no table),
    summed. SCRIPT parent rows are left out; their children are counted."""

    day = models.DateField(_("day (UTC)"))
    project_id = models.CharField(_("project"), max_length=128)
    user = models.ForeignKey(JobUser, on_delete=models.PROTECT, related_name="+")
    table_set = models.ForeignKey(
        TableSet, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    queries = models.IntegerField(_("jobs"))
    cache_hits = models.IntegerField(_("cache hits"), default=0)
    bytes_processed = models.BigIntegerField(_("bytes processed"), default=0)
    bytes_billed = models.BigIntegerField(_("bytes billed"), default=0)
    slot_ms = models.BigIntegerField(_("slot-ms"), default=0)
    cost_nanos = models.BigIntegerField(_("allocated cost (USD billionths)"), default=0)
    last_seen = models.DateTimeField(_("last job"))
    # A raw INSERT (cost.usage.runs.rebuild_usage_days) leaves it out: a database default.
    location = models.CharField(
        _("summed in region"),
        max_length=64,
        blank=True,
        db_default="",
        help_text=_(
            "Set when BigQuery summed the day (pull_usage): the region it was read from. "
            "Blank when the day was summed from the jobs stored here."
        ),
    )

    class Meta:
        ordering = ["day"]
        verbose_name = _("daily job usage")
        verbose_name_plural = _("daily job usage")
        indexes = [
            models.Index(fields=["day"], name="job_usage_day"),
            models.Index(fields=["table_set", "day"], name="job_usage_set_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id} {self.table_set_id}: {self.queries}"

    @property
    def cost(self) -> Decimal:
        return to_decimal(self.cost_nanos)

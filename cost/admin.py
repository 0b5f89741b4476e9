from django.contrib import admin
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from cost.billing.allocation import reallocate_all
from cost.models import (
    AllocationRule,
    BigQueryJob,
    BigQueryTable,
    BillingMonth,
    BillingSource,
    CostCredit,
    CostFact,
    ImportRun,
    JobImportRun,
    JobUsageDay,
    JobUser,
    Label,
    LabelSet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Imported data is changed by imports only; the admin shows it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A deleted fact or month would leave the rollups and the cached reports stale.
        return False


@admin.register(BillingSource)
class BillingSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "shape", "table", "created_at"]
    search_fields = ["name", "table"]
    readonly_fields = ["watermarks", "created_at"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "source",
        "status",
        "started_at",
        "finished_at",
        "rows_read",
        "facts_written",
        "started_by_name",
    ]
    list_filter = ["status", "source"]
    search_fields = ["error", "started_by_name"]


@admin.register(BillingMonth)
class BillingMonthAdmin(ReadOnlyAdmin):
    list_display = ["source", "invoice_month", "valid_from", "valid_to", "fact_count",
                    "row_count", "run", "superseded_by"]  # fmt: skip
    list_filter = ["source", "invoice_month"]


class CostCreditInline(admin.TabularInline):
    model = CostCredit
    extra = 0
    can_delete = False
    readonly_fields = ["credit_type", "amount_nanos", "amount_usd_nanos"]


@admin.register(CostFact)
class CostFactAdmin(ReadOnlyAdmin):
    list_display = ["usage_date", "invoice_month", "project_id", "service_description",
                    "sku_description", "currency", "cost_nanos", "credits_nanos",
                    "allocation_rule"]  # fmt: skip
    list_filter = ["invoice_month", "currency", "cost_type", "is_correction"]
    search_fields = ["project_id", "sku_description", "service_description", "resource"]
    list_select_related = ["allocation_rule"]
    inlines = [CostCreditInline]
    show_full_result_count = False


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0
    can_delete = False
    readonly_fields = ["scope", "key", "value"]


@admin.register(LabelSet)
class LabelSetAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "digest"]
    search_fields = ["items__key", "items__value"]
    inlines = [LabelInline]


@admin.register(AllocationRule)
class AllocationRuleAdmin(SimpleHistoryAdmin):
    list_display = ["position", "name", "match_project", "match_label_key", "match_label_value",
                    "match_service", "match_sku", "team", "roadmap_item"]  # fmt: skip
    list_display_links = ["name"]
    autocomplete_fields = ["team", "roadmap_item"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        reallocate_all()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        reallocate_all()

    @transaction.atomic
    def delete_queryset(self, request, queryset) -> None:
        """The bulk delete: the cost goes to the next matching rule, or 'unallocated'."""
        super().delete_queryset(request, queryset)
        reallocate_all()


# --- Job history ---------------------------------------------------------------------


@admin.register(JobImportRun)
class JobImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "rows_read",
        "jobs_written",
        "rows_skipped",
        "first_day",
        "last_day",
        "started_by_name",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["error", "started_by_name", "project_id"]


@admin.register(BigQueryTable)
class BigQueryTableAdmin(ReadOnlyAdmin):
    list_display = ["project_id", "dataset_id", "table_id"]
    list_filter = ["project_id"]
    search_fields = ["project_id", "dataset_id", "table_id"]


@admin.register(JobUser)
class JobUserAdmin(admin.ModelAdmin):
    """The team of each BigQuery user: who to interview before a table is retired."""

    list_display = ["email", "is_service_account", "team", "created_at"]
    list_filter = ["is_service_account", "team"]
    list_editable = ["team"]
    list_select_related = ["team"]
    search_fields = ["email"]
    readonly_fields = ["created_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # their jobs and daily usage point at them

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "team":
            # Read once: the list's forms are copies of this field, and each row's select
            # would otherwise query the teams again (two queries a row).
            field.choices = list(field.choices)
        return field


@admin.register(BigQueryJob)
class BigQueryJobAdmin(ReadOnlyAdmin):
    list_display = [
        "creation_time",
        "project_id",
        "job_id",
        "user",
        "statement_type",
        "total_bytes_billed",
        "total_slot_ms",
        "cache_hit",
        "pricing",
        "cost",
    ]
    list_filter = ["job_type", "statement_type", "pricing", "cache_hit"]
    search_fields = ["job_id", "user__email", "query_hash"]
    list_select_related = ["user"]
    date_hierarchy = "creation_time"
    show_full_result_count = False


@admin.register(JobUsageDay)
class JobUsageDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "project_id", "user", "table_set", "queries", "cache_hits",
                    "bytes_billed", "cost"]  # fmt: skip
    list_select_related = ["user", "table_set"]
    date_hierarchy = "day"
    show_full_result_count = False

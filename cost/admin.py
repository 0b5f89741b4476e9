from django.contrib import admin

from cost.allocation import reallocate_all
from cost.models import (
    AllocationRule,
    BillingMonth,
    BillingSource,
    CostCredit,
    CostFact,
    ImportRun,
    Label,
    LabelSet,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Imported data is changed by imports only; the admin shows it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BillingSource)
class BillingSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "table", "created_at"]
    search_fields = ["name", "table"]
    readonly_fields = ["watermarks", "created_at"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "status", "started_at", "finished_at", "rows_read",
                    "facts_written", "started_by_name"]  # fmt: skip
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
    search_fields = ["project_id", "sku_description", "service_description"]
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
class AllocationRuleAdmin(admin.ModelAdmin):
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

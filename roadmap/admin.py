from django.contrib import admin
from django.db.models import F
from simple_history.admin import SimpleHistoryAdmin

from roadmap.models import (
    Commitment,
    DataProduct,
    Decision,
    Incident,
    ItemTable,
    Quarter,
    ReviewComment,
    ReviewItem,
    ReviewPack,
    ReviewSession,
    RoadmapItem,
    StakeholderInterview,
    TeamCapacity,
    Theme,
)


class TeamCapacityInline(admin.TabularInline):
    model = TeamCapacity
    extra = 1


@admin.register(Quarter)
class QuarterAdmin(admin.ModelAdmin):
    list_display = ["code", "start_date", "end_date"]
    readonly_fields = ["year", "number", "start_date", "end_date"]
    search_fields = ["code"]
    inlines = [TeamCapacityInline]


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "colour", "position"]
    list_editable = ["position"]
    search_fields = ["name"]


@admin.register(TeamCapacity)
class TeamCapacityAdmin(admin.ModelAdmin):
    list_display = ["quarter", "team", "person_weeks"]
    list_filter = ["team", "quarter"]
    autocomplete_fields = ["quarter", "team"]


@admin.register(RoadmapItem)
class RoadmapItemAdmin(SimpleHistoryAdmin):
    list_display = [
        "title", "rank", "status", "theme", "team", "target_quarter", "delivered_on", "owner"
    ]  # fmt: skip
    list_filter = ["status", "theme", "team", "target_quarter", "delivered_on"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["theme", "team", "start_quarter", "target_quarter", "depends_on"]
    filter_horizontal = ["requesting_teams"]
    readonly_fields = ["version", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change) -> None:
        # An admin edit is a new version too, so a manager's open edit form notices it.
        if change:
            # From the stored version, not the object's: "revert" builds the object from
            # an old record whose version number is long gone.
            RoadmapItem.objects.filter(pk=obj.pk).update(version=F("version") + 1)
            obj.version = RoadmapItem.objects.values_list("version", flat=True).get(pk=obj.pk)
        super().save_model(request, obj, form, change)


# --- Review sessions: the pages are the way to run them; the admin is for looking and for
# fixing a title, a date or the invitations. Snapshots, comments and decisions are read-only
# here, so the admin cannot rewrite what a review recorded.


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReviewSession)
class ReviewSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "quarter", "meeting_date", "status", "opened_at", "closed_at"]
    list_filter = ["status", "quarter"]
    search_fields = ["title"]
    fields = ["title", "quarter", "meeting_date", "reviewers", "status", "created_by",
              "opened_at", "held_at", "closed_at"]  # fmt: skip
    readonly_fields = ["quarter", "status", "created_by", "opened_at", "held_at", "closed_at"]
    filter_horizontal = ["reviewers"]

    def has_add_permission(self, request) -> bool:
        return False  # a session starts on its page (/roadmap/reviews/new/)

    def save_model(self, request, obj, form, change) -> None:
        # Only the editable fields: a full save would write back a status, times and a
        # snapshot read before an open or close made meanwhile.
        obj.save(update_fields=["title", "meeting_date"])


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "session", "rank", "status"]
    list_filter = ["session"]
    search_fields = ["title"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["session", "review_item", "author", "kind", "created_at", "edited_at",
                    "deleted_at", "resolved_at"]  # fmt: skip
    list_filter = ["session", "kind"]
    search_fields = ["body"]


@admin.register(Decision)
class DecisionAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["review_item", "session", "outcome", "decided_by", "decided_at"]
    list_filter = ["session", "outcome"]


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyAdmin):
    list_display = ["description", "item", "owner", "promised_status", "due_quarter"]
    list_filter = ["due_quarter"]


@admin.register(ReviewPack)
class ReviewPackAdmin(ReadOnlyAdmin):
    list_display = ["session", "version", "created_by", "created_at", "data_as_of", "content_hash"]
    list_filter = ["session"]
    exclude = ["html", "markdown", "pdf"]  # downloaded from the session page


@admin.register(DataProduct)
class DataProductAdmin(SimpleHistoryAdmin):
    list_display = ["name", "kind", "owner", "incidents_allowed", "budget_period"]
    search_fields = ["name", "slug", "tables"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["consumers", "reliability_items"]


@admin.register(Incident)
class IncidentAdmin(SimpleHistoryAdmin):
    list_display = ["title", "detected_at", "resolved_at", "severity", "impact"]
    list_filter = ["severity", "impact", "products"]
    search_fields = ["title", "cause"]
    date_hierarchy = "detected_at"
    filter_horizontal = ["products"]
    raw_id_fields = ["caused_by", "follow_up"]


# --- Evidence: an item's tables and the stakeholder interviews.


@admin.register(ItemTable)
class ItemTableAdmin(admin.ModelAdmin):
    list_display = ["item", "table", "role"]
    list_filter = ["role"]
    search_fields = ["item__title", "table__dataset_id", "table__table_id"]
    raw_id_fields = ["item", "table"]


@admin.register(StakeholderInterview)
class StakeholderInterviewAdmin(SimpleHistoryAdmin):
    list_display = ["date", "team", "people", "created_by"]
    # Named: by default only the foreign keys that cannot be empty are followed.
    list_select_related = ["team", "created_by"]
    list_filter = ["team"]
    search_fields = ["people", "notes", "pain_points"]
    date_hierarchy = "date"
    filter_horizontal = ["items"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

from django.contrib import admin
from django.db.models import F
from simple_history.admin import SimpleHistoryAdmin

from roadmap.models import Quarter, RoadmapItem, Team, TeamCapacity, Theme


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


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "weekly_rate", "currency"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]


@admin.register(TeamCapacity)
class TeamCapacityAdmin(admin.ModelAdmin):
    list_display = ["quarter", "team", "person_weeks"]
    list_filter = ["team", "quarter"]
    autocomplete_fields = ["quarter", "team"]


@admin.register(RoadmapItem)
class RoadmapItemAdmin(SimpleHistoryAdmin):
    list_display = ["title", "rank", "status", "theme", "team", "target_quarter", "owner"]
    list_filter = ["status", "theme", "team", "target_quarter"]
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

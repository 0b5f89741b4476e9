import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from roadmap.models import Quarter, RoadmapItem, Theme


class ItemFilter(django_filters.FilterSet):
    """Filters of the ranked list; every one is optional and combinable."""

    q = django_filters.CharFilter(method="search", label=_("Search"))
    theme = django_filters.ModelChoiceFilter(queryset=Theme.objects.all(), label=_("Theme"))
    status = django_filters.MultipleChoiceFilter(
        choices=RoadmapItem.Status.choices,
        label=_("Status"),
        widget=forms.CheckboxSelectMultiple,
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.filter(owned_roadmap_items__isnull=False).distinct(),
        label=_("Owner"),
    )
    quarter = django_filters.ModelChoiceFilter(
        queryset=Quarter.objects.all(),
        field_name="target_quarter",
        to_field_name="code",
        label=_("Target quarter"),
    )

    class Meta:
        model = RoadmapItem
        fields = ["q", "theme", "status", "owner", "quarter"]

    def search(self, queryset, name: str, value: str):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))

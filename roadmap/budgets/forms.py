"""Forms of the error budgets: data products and incidents."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import DATETIME_LOCAL_INPUT, FieldsetsMixin, UserChoiceField, unix_newlines
from core.models import Team
from roadmap.models import DataProduct, Incident, RoadmapItem


class DataProductForm(FieldsetsMixin, forms.ModelForm):
    fieldset_names = [
        (_("Product"), ["name", "slug", "kind", "owner", "description", "consumers", "tables"]),
        (_("Objectives"), ["incidents_allowed", "budget_period", "ready_by", "late_days_allowed"]),
        (_("Reliability work"), ["reliability_items"]),
    ]
    wide_fields = frozenset({"description", "consumers", "tables", "reliability_items"})

    class Meta:
        model = DataProduct
        fields = [
            "name", "slug", "kind", "description", "owner", "consumers", "tables",
            "incidents_allowed", "budget_period", "ready_by", "late_days_allowed",
            "reliability_items",
        ]  # fmt: skip
        field_classes = {"owner": UserChoiceField}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "tables": forms.Textarea(attrs={"rows": 3}),
            "consumers": forms.CheckboxSelectMultiple,
            "reliability_items": forms.SelectMultiple(attrs={"size": 6}),
            "incidents_allowed": forms.NumberInput(attrs={"min": 0}),
            "late_days_allowed": forms.NumberInput(attrs={"min": 0}),
            "ready_by": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Offer active users and items not dropped, plus whatever the product already
        # points at, so saving an untouched form drops nothing.
        users = Q(is_active=True)
        items = ~Q(status=RoadmapItem.Status.DROPPED)
        if self.instance.pk:
            users |= Q(pk=self.instance.owner_id)
            current = self.instance.reliability_items.values_list("pk", flat=True)
            items |= Q(pk__in=list(current))
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]  # a model choice field
            get_user_model().objects.filter(users).order_by("first_name", "username")
        )
        self.fields["consumers"].queryset = Team.objects.order_by("name")  # type: ignore[attr-defined]  # a model choice field
        self.fields["reliability_items"].queryset = RoadmapItem.objects.filter(items).order_by(  # type: ignore[attr-defined]  # a model choice field
            "rank", "id"
        )

    def clean(self) -> dict:
        cleaned = unix_newlines(super().clean())
        ready_by, late_days = cleaned.get("ready_by"), cleaned.get("late_days_allowed")
        # Only when both fields were read: a badly typed time is already reported.
        if "ready_by" not in self.errors and "late_days_allowed" not in self.errors:
            if ready_by is not None and late_days is None:
                self.add_error(
                    "late_days_allowed",
                    _("A freshness objective needs the late days allowed as well (0 or more)."),
                )
            elif late_days is not None and ready_by is None:
                self.add_error(
                    "ready_by",
                    _("A freshness objective needs the time the data is ready by as well."),
                )
        return cleaned


class IncidentForm(FieldsetsMixin, forms.ModelForm):
    fieldset_names = [
        (_("What happened"), ["title", "severity", "impact", "detected_at", "resolved_at"]),
        (_("Products affected"), ["products"]),
        (_("Cause"), ["cause", "caused_by", "follow_up"]),
    ]
    wide_fields = frozenset({"title", "products", "cause"})

    class Meta:
        model = Incident
        fields = [
            "title", "detected_at", "resolved_at", "severity", "impact", "products", "cause",
            "caused_by", "follow_up",
        ]  # fmt: skip
        widgets = {
            "detected_at": DATETIME_LOCAL_INPUT,
            "resolved_at": DATETIME_LOCAL_INPUT,
            "products": forms.CheckboxSelectMultiple,
            "cause": forms.Textarea(attrs={"rows": 4}),
        }
        error_messages = {
            "products": {
                "required": _("Tick at least one data product: the incident spends its budget.")
            },
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("detected_at", now)
        self.fields["products"].queryset = DataProduct.objects.order_by("name")  # type: ignore[attr-defined]  # a model choice field
        items = RoadmapItem.objects.order_by("title")
        self.fields["caused_by"].queryset = items  # type: ignore[attr-defined]  # a model choice field
        self.fields["follow_up"].queryset = items  # type: ignore[attr-defined]  # a model choice field

    def clean(self) -> dict:
        cleaned = unix_newlines(super().clean())
        detected, resolved = cleaned.get("detected_at"), cleaned.get("resolved_at")
        if detected and detected > timezone.now():
            # It would spend no budget until that day, yet show in the quarter's list.
            self.add_error("detected_at", _("An incident cannot be detected in the future."))
        if resolved and resolved > timezone.now():
            self.add_error("resolved_at", _("Leave it empty while the incident is open."))
        if detected and resolved and resolved < detected:
            self.add_error(
                "resolved_at", _("An incident cannot be resolved before it was detected.")
            )
        return cleaned

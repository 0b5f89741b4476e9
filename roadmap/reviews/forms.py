"""Forms of the review sessions: the session itself, comments, votes, change reasons,
decisions and the commitments they make."""

from typing import Any, overload

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import UserChoiceField
from core.roles import Role
from roadmap.items.forms import QuarterField
from roadmap.models import (
    ChangeReason,
    Commitment,
    Decision,
    Quarter,
    ReviewComment,
    ReviewSession,
)

# --- Review sessions -------------------------------------------------------------------------


class UsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


@overload
def saved_quarter(quarter: Quarter) -> Quarter: ...
@overload
def saved_quarter(quarter: Quarter | None) -> Quarter | None: ...
def saved_quarter(quarter: Quarter | None) -> Quarter | None:
    return None if quarter is None else Quarter.objects.for_code(quarter.code)


class ReviewSessionForm(forms.ModelForm):
    quarter = QuarterField(label=_("Quarter"), help_text=_("The quarter this review is held in."))
    reviewers = UsersField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Invited reviewers"),
        help_text=_("VPs and peer managers (users with the Reviewer role)."),
    )

    class Meta:
        model = ReviewSession
        # The quarter is set in save(): a quarter not used yet is only created then.
        fields = ["title", "meeting_date", "reviewers"]
        widgets = {"meeting_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = (  # type: ignore[attr-defined]  # a model choice field
            get_user_model()
            .objects.filter(is_active=True, groups__name=Role.REVIEWER)
            .order_by("first_name", "last_name", "username")
            .distinct()
        )
        self.order_fields(["title", "quarter", "meeting_date", "reviewers"])
        if self.instance.pk:
            self.initial.setdefault("quarter", self.instance.quarter.code)
        if self.instance.pk and self.instance.is_frozen:
            # The snapshot is of the quarter's roadmap: the quarter cannot change after it.
            self.fields["quarter"].disabled = True

    def clean_quarter(self) -> Quarter:
        quarter = self.cleaned_data["quarter"]
        if quarter is None:
            raise ValidationError(_("Choose the quarter."))
        return quarter

    def clean_title(self) -> str:
        title = self.cleaned_data["title"]
        if any(ord(c) < 32 or ord(c) == 127 for c in title):
            raise ValidationError(_("A title is one line of text, without control characters."))
        return title

    def save(self, commit: bool = True):
        self.instance.quarter = saved_quarter(self.cleaned_data["quarter"])
        return super().save(commit=commit)


class CommentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", "—"), *ReviewComment.Kind.choices], required=False
    )
    body = forms.CharField(
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=10_000,
        help_text=_("Markdown. Mention someone with @username."),
    )
    review_item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # noqa: S101 -- Form.clean returns cleaned_data
        if not data.get("parent") and not data.get("kind"):
            self.add_error("kind", _("Say what kind of comment this is."))
        return data


class CommentEditForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", "—"), *ReviewComment.Kind.choices], required=False
    )
    body = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000
    )


class ResolveForm(forms.Form):
    reply = forms.CharField(
        label=_("Answer"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
        max_length=10_000,
    )  # fmt: skip


SCALE = [(n, str(n)) for n in range(1, 6)]


class VoteForm(forms.Form):
    value = forms.TypedChoiceField(label=_("Value"), choices=SCALE, coerce=int)
    urgency = forms.TypedChoiceField(label=_("Urgency"), choices=SCALE, coerce=int)


class ChangeReasonForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Reason"), choices=[("", "—"), *ChangeReason.Kind.choices], required=False
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), choices=Decision.Outcome.choices)
    rationale = forms.CharField(
        label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        help_text=_("Markdown."),
    )  # fmt: skip


class CommitmentForm(forms.Form):
    description = forms.CharField(label=_("What will be delivered"), max_length=300)
    owner = UserChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        label=_("By whom"),
    )
    promised_status = forms.ChoiceField(
        label=_("Promised status"),
        choices=Commitment.Promise.choices,
        initial=Commitment.Promise.DONE,
    )
    due_quarter = QuarterField(label=_("By the end of"))

    def clean_due_quarter(self) -> Quarter:
        quarter = self.cleaned_data["due_quarter"]
        if quarter is None:
            raise ValidationError(_("Choose the quarter."))
        return quarter


CommitmentFormSet = forms.formset_factory(CommitmentForm, extra=2, can_delete=True)

"""Pages of review sessions. Managers run sessions; Reviewers read the sessions they are
invited to (once opened), comment and vote, and can change nothing else. Each view
states its roles with `allowed_roles`; the session itself is checked by `_session`."""

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views import View

from core.roles import MANAGERS, PARTICIPANTS, REVIEWERS, RoleRequiredMixin, signed_in_user
from roadmap.models import ReviewComment, ReviewItem, ReviewPack, ReviewSession
from roadmap.reviews.forms import (
    ChangeReasonForm,
    CommentEditForm,
    CommentForm,
    CommitmentFormSet,
    DecisionForm,
    ResolveForm,
    ReviewSessionForm,
    VoteForm,
    saved_quarter,
)
from roadmap.reviews.packs.render import build_review_pack
from roadmap.reviews.page import build_session_page
from roadmap.reviews.rules import (
    CommitmentInput,
    ReviewRefused,
    ReviewStateError,
    add_comment,
    advance_session,
    can_view,
    cast_vote,
    delete_comment,
    edit_comment,
    is_manager,
    record_decision,
    resolve_thread,
    set_change_reason,
)
from roadmap.reviews.track_record import all_commitments, check_commitments, track_record


def _session(request: HttpRequest, pk: int) -> ReviewSession:
    """The session, if this user may see it: 404 when there is none, 403 when not invited."""
    session = get_object_or_404(ReviewSession.objects.select_related("quarter"), pk=pk)
    if not can_view(session, request.user):
        raise PermissionDenied
    return session


@transaction.atomic
def save_session_details(*, form: ReviewSessionForm) -> ReviewSession:
    """Write only what the form edits, under the session's lock: a full save of the copy
    the form loaded would undo an open or a close made meanwhile."""
    ReviewSession.objects.select_for_update().filter(pk=form.instance.pk).exists()
    session = form.save(commit=False)
    session.save(update_fields=["title", "meeting_date", "quarter"])
    form.save_m2m()
    return session


def _back(session: ReviewSession, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(session.get_absolute_url() + anchor)


class ReviewActionMixin(RoleRequiredMixin):
    """POST-only actions: refusals become 403, a wrong state a message on the page."""

    http_method_names: Sequence[str] = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)
        except ReviewRefused as refused:
            raise PermissionDenied(str(refused)) from None
        except ReviewStateError as error:
            messages.error(request, str(error))
            return _back(_session(request, kwargs["pk"]))


class ReviewListView(RoleRequiredMixin, View):
    """Managers: every session. Reviewers: the sessions they are invited to, once opened."""

    allowed_roles = PARTICIPANTS

    def get(self, request: HttpRequest) -> HttpResponse:
        sessions = (
            ReviewSession.objects.visible_to(signed_in_user(request))
            .select_related("quarter")
            .prefetch_related("reviewers")
        )
        record = track_record(check_commitments(all_commitments()))
        return render(request, "roadmap/reviews/list.html",
                      {"sessions": sessions, "record": record})  # fmt: skip


class ReviewFormView(RoleRequiredMixin, View):
    """Managers: create a session (GET/POST /reviews/new/) or change its title, date and
    reviewers (GET/POST /reviews/<pk>/edit/) until it is closed."""

    allowed_roles = MANAGERS

    def _instance(self, pk: int | None) -> ReviewSession | None:
        if pk is None:
            return None
        session = get_object_or_404(ReviewSession, pk=pk)
        if session.status == ReviewSession.Status.CLOSED:
            raise PermissionDenied(_("A closed session cannot change."))
        return session

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        session = self._instance(pk)
        form = ReviewSessionForm(instance=session)
        return render(request, "roadmap/reviews/form.html", {"form": form, "session": session})

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        session = self._instance(pk)
        form = ReviewSessionForm(data=request.POST, instance=session)
        if not form.is_valid():
            return render(
                request, "roadmap/reviews/form.html", {"form": form, "session": session}, status=400
            )
        if session is None:
            form.instance.created_by = request.user
            saved = form.save()
        else:
            saved = save_session_details(form=form)
        messages.success(request, _("Review session saved."))
        return HttpResponseRedirect(saved.get_absolute_url())


class ReviewDetailView(RoleRequiredMixin, View):
    """Managers, and the invited reviewers once the session is open: the frozen roadmap,
    changes since the previous review, comments, votes and decisions. `?show=` filters
    the items (see roadmap.reviews.page); a filter not offered to this reader is a 400
    that still shows every item, so a mistyped link reads as such, not as "no items"."""

    allowed_roles = PARTICIPANTS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = _session(request, pk)
        page = build_session_page(session=session, user=signed_in_user(request),
                                  show=request.GET.get("show", "").strip())  # fmt: skip
        return render(
            request,
            "roadmap/reviews/detail.html",
            {
                "page": page,
                "session": session,
                "comment_form": CommentForm(),
                "vote_form": VoteForm(),
                "reason_form": ChangeReasonForm(),
            },
            status=400 if page.unknown_filter else 200,
        )


class ReviewAdvanceView(ReviewActionMixin, View):
    """Managers: open (freeze the snapshot), mark held, close."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = advance_session(
            session_id=_session(request, pk).pk,
            from_status=request.POST.get("from_status", ""),
            by=signed_in_user(request),
        )
        messages.success(
            request,
            _("The session is now %(status)s.") % {"status": session.get_status_display().lower()},
        )
        return _back(session)


class CommentCreateView(ReviewActionMixin, View):
    """Managers and invited reviewers: a comment or a reply, while the session is open."""

    allowed_roles = PARTICIPANTS

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = _session(request, pk)
        form = CommentForm(request.POST)
        if not form.is_valid():
            problems = [f"{form.fields[name].label}: {' '.join(errors)}"  # type: ignore[arg-type]
                        for name, errors in form.errors.items() if name in form.fields]  # fmt: skip
            raise ReviewStateError(" ".join(problems) or _("The comment could not be read."))
        data = form.cleaned_data
        review_item = parent = None
        if data.get("review_item"):
            review_item = get_object_or_404(ReviewItem, pk=data["review_item"], session=session)
        if data.get("parent"):
            parent = get_object_or_404(ReviewComment, pk=data["parent"], session=session)
        comment = add_comment(session=session, author=signed_in_user(request), body=data["body"],
                              kind=data.get("kind", ""), review_item=review_item,
                              parent=parent)  # fmt: skip
        return _back(session, f"#comment-{comment.pk}")


class CommentEditView(RoleRequiredMixin, View):
    """The comment's author: change it while the session is open (history is kept)."""

    allowed_roles = PARTICIPANTS

    def _comment(self, request: HttpRequest, pk: int, comment_pk: int) -> ReviewComment:
        session = _session(request, pk)
        comment = get_object_or_404(ReviewComment, pk=comment_pk, session=session)
        if comment.author_id != request.user.pk:
            raise PermissionDenied(_("You can only change your own comments."))
        return comment

    def get(self, request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
        comment = self._comment(request, pk, comment_pk)
        form = CommentEditForm(initial={"body": comment.body, "kind": comment.kind})
        return render(request, "roadmap/reviews/comment_form.html",
                      {"form": form, "comment": comment, "session": comment.session})  # fmt: skip

    def post(self, request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
        comment = self._comment(request, pk, comment_pk)
        form = CommentEditForm(request.POST)
        context = {"form": form, "comment": comment, "session": comment.session}
        if not form.is_valid():
            return render(request, "roadmap/reviews/comment_form.html", context, status=400)
        try:
            edit_comment(comment=comment, by=signed_in_user(request),
                         body=form.cleaned_data["body"],
                         kind=form.cleaned_data["kind"])  # fmt: skip
        except ReviewStateError as error:
            form.add_error(None, str(error))
            return render(request, "roadmap/reviews/comment_form.html", context, status=409)
        return _back(comment.session, f"#comment-{comment.pk}")


class CommentDeleteView(ReviewActionMixin, View):
    """The comment's author, while the session is open: hide it (it is kept)."""

    allowed_roles = PARTICIPANTS

    def post(self, request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
        session = _session(request, pk)
        comment = get_object_or_404(ReviewComment, pk=comment_pk, session=session)
        delete_comment(comment=comment, by=signed_in_user(request))
        messages.success(request, _("Comment deleted."))
        return _back(session)


class CommentResolveView(ReviewActionMixin, View):
    """Managers: resolve a thread, with an optional answer."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, pk: int, comment_pk: int) -> HttpResponse:
        session = _session(request, pk)
        comment = get_object_or_404(ReviewComment, pk=comment_pk, session=session)
        form = ResolveForm(request.POST)
        if not form.is_valid():  # never resolve without the answer the manager wrote
            # An ErrorList yields its messages (str), whatever its stubs say.
            raise ReviewStateError(" ".join(form.errors.get("reply", [])))  # type: ignore[arg-type]
        thread = resolve_thread(
            comment=comment, by=signed_in_user(request), reply=form.cleaned_data["reply"]
        )
        return _back(session, f"#comment-{thread.pk}")


class VoteView(ReviewActionMixin, View):
    """Invited reviewers, while the session is open: value and urgency of one item."""

    allowed_roles = REVIEWERS

    def post(self, request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
        session = _session(request, pk)
        review_item = get_object_or_404(ReviewItem, pk=item_pk, session=session)
        form = VoteForm(request.POST)
        if not form.is_valid():
            raise ReviewStateError(_("Value and urgency go from 1 to 5."))
        cast_vote(review_item=review_item, reviewer=signed_in_user(request), **form.cleaned_data)
        messages.success(
            request, _("Your vote on “%(title)s” is saved.") % {"title": review_item.title}
        )
        return _back(session, f"#item-{review_item.pk}")


class ChangeReasonView(ReviewActionMixin, View):
    """Managers: why an item changed since the previous review."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, pk: int, item_key: int) -> HttpResponse:
        session = _session(request, pk)
        form = ChangeReasonForm(request.POST)
        if not form.is_valid():
            raise ReviewStateError(_("Choose a reason from the list."))
        set_change_reason(session=session, item_key=item_key, by=signed_in_user(request),
                          **form.cleaned_data)  # fmt: skip
        return _back(session, f"#change-{item_key}")


class DecisionView(RoleRequiredMixin, View):
    """Managers, while the session is open or held: the decision on an item, its rationale
    and commitments."""

    allowed_roles = MANAGERS

    def _item(self, request: HttpRequest, pk: int, item_pk: int) -> ReviewItem:
        session = _session(request, pk)
        return get_object_or_404(ReviewItem.objects.select_related("session"), pk=item_pk,
                                 session=session)  # fmt: skip

    def _render(self, request, review_item, form, commitments, status=200) -> HttpResponse:
        return render(request, "roadmap/reviews/decision.html",
                      {"form": form, "commitments": commitments, "review_item": review_item,
                       "session": review_item.session}, status=status)  # fmt: skip

    def get(self, request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
        review_item = self._item(request, pk, item_pk)
        decision = getattr(review_item, "decision", None)
        initial, rows = {}, []
        if decision is not None:
            initial = {"outcome": decision.outcome, "rationale": decision.rationale}
            rows = [{"description": c.description, "owner": c.owner_id,
                     "promised_status": c.promised_status, "due_quarter": c.due_quarter.code}
                    for c in decision.commitments.select_related("due_quarter")]  # fmt: skip
        return self._render(request, review_item, DecisionForm(initial=initial),
                            CommitmentFormSet(initial=rows, prefix="c"))  # fmt: skip

    def post(self, request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
        review_item = self._item(request, pk, item_pk)
        form = DecisionForm(request.POST)
        commitments = CommitmentFormSet(request.POST, prefix="c")
        if not (form.is_valid() and commitments.is_valid()):
            return self._render(request, review_item, form, commitments, status=400)
        promised = [
            CommitmentInput(
                description=row["description"],
                due_quarter=saved_quarter(row["due_quarter"]),
                owner=row.get("owner"),
                promised_status=row["promised_status"],
            )
            for row in commitments.cleaned_data
            if row and not row.get("DELETE")
        ]
        try:
            record_decision(review_item=review_item, outcome=form.cleaned_data["outcome"],
                            rationale=form.cleaned_data["rationale"], commitments=promised,
                            by=signed_in_user(request))  # fmt: skip
        except ReviewStateError as error:
            form.add_error(None, str(error))
            return self._render(request, review_item, form, commitments, status=409)
        messages.success(request, _("Decision recorded."))
        return _back(review_item.session, f"#item-{review_item.pk}")


class PackBuildView(ReviewActionMixin, View):
    """Managers: build the session's review pack (a new kept version, HTML, PDF and
    Markdown, from the snapshot and the cost data as of now)."""

    allowed_roles = MANAGERS

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        session = _session(request, pk)
        pack = build_review_pack(session=session, by=signed_in_user(request))
        messages.success(
            request,
            _("Review pack version %(version)s is ready: web page, PDF, Markdown and slides.")
            % {"version": pack.version},
        )
        return _back(session, "#packs")


class PackView(RoleRequiredMixin, View):
    """Managers, and the reviewers invited to the session once it is open: one kept
    version of its pack, as HTML (in the browser), PDF, Markdown or slides (downloads)."""

    allowed_roles = PARTICIPANTS
    TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
             "md": "text/markdown; charset=utf-8",
             "pptx": "application/vnd.openxmlformats-officedocument.presentationml"
                     ".presentation"}  # fmt: skip

    def get(self, request: HttpRequest, pk: int, version: int, fmt: str) -> HttpResponse:
        session = _session(request, pk)
        if fmt not in self.TYPES:
            raise Http404
        packs = ReviewPack.objects.select_related("session__quarter")
        if not is_manager(signed_in_user(request)):
            packs = packs.from_snapshot()  # a draft's pack is the manager's working copy
        pack = get_object_or_404(packs, session=session, version=version)
        body = {"html": pack.html, "pdf": bytes(pack.pdf), "md": pack.markdown,
                "pptx": bytes(pack.pptx)}[fmt]  # fmt: skip
        if not body:
            raise Http404  # slides of a version built before packs had them
        response = HttpResponse(body, content_type=self.TYPES[fmt])
        disposition = "inline" if fmt == "html" else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{pack.file_name(fmt)}"'
        response["X-Content-Hash"] = pack.content_hash
        return response

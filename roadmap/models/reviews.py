"""Review sessions: the quarterly alignment review, its frozen snapshot of the roadmap,
the reviewers' comments and votes, and the decisions and commitments taken."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from roadmap.models.items import Quarter, RoadmapItem


class FrozenSnapshotError(Exception):
    """A snapshot row is never changed once written."""


class ReviewSessionQuerySet(models.QuerySet["ReviewSession"]):
    def visible_to(self, user: User) -> "ReviewSessionQuerySet":
        """Managers see every session; a reviewer sees the sessions they are invited to,
        once opened (a draft is the manager's work in progress)."""
        from core.roles import MANAGERS, has_role

        if has_role(user, MANAGERS):
            return self
        return self.filter(reviewers=user).exclude(status=ReviewSession.Status.DRAFT)


class ReviewSession(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for review")
        HELD = "held", _("Held")
        CLOSED = "closed", _("Closed")

    quarter = models.ForeignKey(
        Quarter, on_delete=models.PROTECT, related_name="review_sessions", verbose_name=_("quarter")
    )
    title = models.CharField(_("title"), max_length=200)
    meeting_date = models.DateField(_("meeting date"))
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="review_sessions",
        verbose_name=_("invited reviewers"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices,
                              default=Status.DRAFT)  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True, editable=False)
    held_at = models.DateTimeField(_("held"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    # Written once, when the session opens: the quarters with capacity and planned effort.
    snapshot = models.JSONField(_("snapshot"), default=dict, blank=True, editable=False)

    objects = ReviewSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-meeting_date", "-id"]
        verbose_name = _("review session")
        verbose_name_plural = _("review sessions")
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="review_title_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "open", "held", "closed"]),
                name="review_status_known",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(opened_at__isnull=False),
                name="review_opened_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.quarter})"

    def get_absolute_url(self) -> str:
        return reverse("roadmap:review-detail", args=[self.pk])

    @property
    def is_frozen(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def accepts_comments(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def accepts_decisions(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.HELD)

    def next_status(self) -> str | None:
        order: list[str] = [
            self.Status.DRAFT,
            self.Status.OPEN,
            self.Status.HELD,
            self.Status.CLOSED,
        ]
        index = order.index(self.status)
        return order[index + 1] if index + 1 < len(order) else None


class ReviewItem(models.Model):
    """One roadmap item as it stood when its session opened. Never changed afterwards."""

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="items")
    # The live item, while it exists; item_key keeps its id after a deletion.
    item = models.ForeignKey(
        RoadmapItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="review_items"
    )
    item_key = models.PositiveIntegerField(_("item id"))
    position = models.PositiveIntegerField(_("position in the document"))
    rank = models.PositiveIntegerField(_("priority rank"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=RoadmapItem.Status.choices)
    data = models.JSONField(_("every field, as it stood"))

    class Meta:
        ordering = ["session", "position"]
        verbose_name = _("reviewed item")
        verbose_name_plural = _("reviewed items")
        constraints = [
            models.UniqueConstraint(fields=["session", "item_key"], name="review_item_once"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise FrozenSnapshotError(f"{self} belongs to a snapshot and cannot change")
        super().save(*args, **kwargs)


class ChangeReason(models.Model):
    """Why an item changed since the previous review, in the manager's words."""

    class Kind(models.TextChoices):
        SCOPE_GREW = "scope_grew", _("Scope grew")
        ESTIMATE_REFINED = "estimate_refined", _("Estimate refined")
        CUT = "cut", _("Cut")
        NEW_REQUEST = "new_request", _("New request")
        DEPENDENCY = "dependency", _("Dependency moved")
        PRIORITIES = "priorities", _("Priorities changed")
        DELIVERED = "delivered", _("Delivered")
        OTHER = "other", _("Other")

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="reasons")
    item_key = models.PositiveIntegerField(_("item id"))
    kind = models.CharField(_("reason"), max_length=20, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords()  # a pack shows the reasons as they read at its moment

    class Meta:
        verbose_name = _("change reason")
        verbose_name_plural = _("change reasons")
        constraints = [
            models.UniqueConstraint(fields=["session", "item_key"], name="change_reason_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.note}"


class ReviewComment(models.Model):
    """A comment on an item of a session, or on the session as a whole (no item).
    Replies point at the thread's first comment. Edits keep the previous text (history);
    deleting hides the comment and keeps it."""

    class Kind(models.TextChoices):
        QUESTION = "question", _("Question")
        CONCERN = "concern", _("Concern")
        SUGGESTION = "suggestion", _("Suggestion")
        SUPPORT = "support", _("Support")

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="comments")
    review_item = models.ForeignKey(
        ReviewItem, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_comments"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, blank=True)
    body = models.TextField(_("comment"), help_text=_("Markdown; @username mentions someone."))
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="review_mentions"
    )
    created_at = models.DateTimeField(_("written"), auto_now_add=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("review comment")
        verbose_name_plural = _("review comments")
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="comment_body_not_empty"),
            models.CheckConstraint(
                condition=Q(parent__isnull=False) | ~Q(kind=""), name="comment_thread_has_kind"
            ),
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | Q(resolved_at__isnull=True),
                name="comment_only_threads_resolve",
            ),
        ]
        indexes = [models.Index(fields=["session", "review_item"], name="comment_session_item")]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:40]}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PriorityVote(models.Model):
    """A reviewer's pre-read score of one item: value and urgency, 1 to 5 each."""

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="votes")
    review_item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="priority_votes"
    )
    value = models.PositiveSmallIntegerField(_("value"), choices=[(n, n) for n in range(1, 6)])
    urgency = models.PositiveSmallIntegerField(_("urgency"), choices=[(n, n) for n in range(1, 6)])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("priority vote")
        verbose_name_plural = _("priority votes")
        constraints = [
            models.UniqueConstraint(fields=["review_item", "reviewer"], name="vote_once"),
            models.CheckConstraint(condition=Q(value__gte=1, value__lte=5), name="vote_value_1_5"),
            models.CheckConstraint(
                condition=Q(urgency__gte=1, urgency__lte=5), name="vote_urgency_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.review_item}: {self.value}/{self.urgency}"

    @property
    def score(self) -> int:
        return self.value + self.urgency


class Decision(models.Model):
    class Outcome(models.TextChoices):
        APPROVED = "approved", _("Approved")
        APPROVED_WITH_CHANGES = "approved_with_changes", _("Approved with changes")
        DEFERRED = "deferred", _("Deferred")
        REJECTED = "rejected", _("Rejected")
        NEEDS_INFORMATION = "needs_information", _("Needs more information")

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="decisions")
    review_item = models.OneToOneField(
        ReviewItem, on_delete=models.CASCADE, related_name="decision"
    )
    outcome = models.CharField(_("decision"), max_length=24, choices=Outcome.choices)
    rationale = models.TextField(_("rationale"), blank=True, help_text=_("Markdown."))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    decided_at = models.DateTimeField(_("decided"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.review_item}: {self.get_outcome_display()}"


class Commitment(models.Model):
    """What will be delivered, by whom, by which quarter: checked at the next review."""

    class Promise(models.TextChoices):
        IN_PROGRESS = "in_progress", _("Started")
        DONE = "done", _("Done")

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="commitments")
    item = models.ForeignKey(
        RoadmapItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="commitments"
    )
    description = models.CharField(_("what will be delivered"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commitments",
        verbose_name=_("by whom"),
    )
    promised_status = models.CharField(
        _("promised status"), max_length=20, choices=Promise.choices, default=Promise.DONE
    )
    due_quarter = models.ForeignKey(
        Quarter, on_delete=models.PROTECT, related_name="commitments_due", verbose_name=_("by")
    )

    history = HistoricalRecords()  # revised commitments replace these: packs read history

    class Meta:
        ordering = ["due_quarter__start_date", "id"]
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")

    def __str__(self) -> str:
        return f"{self.description} ({self.due_quarter})"


class ReviewPackQuerySet(models.QuerySet["ReviewPack"]):
    def from_snapshot(self) -> "ReviewPackQuerySet":
        """Packs built once their session was open, from its frozen snapshot: the ones
        reviewers read. A pack built while the session was a draft shows the live
        roadmap, a working copy for the manager."""
        return self.filter(session__opened_at__isnull=False,
                           created_at__gte=models.F("session__opened_at"))  # fmt: skip


class ReviewPack(models.Model):
    """One generated version of a session's review pack, in its four formats. Never
    changed: generating again makes a new version."""

    class Format(models.TextChoices):
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"
        MARKDOWN = "md", "Markdown"
        PPTX = "pptx", "PowerPoint"

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="packs")
    version = models.PositiveIntegerField(_("version"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("generated"), auto_now_add=True)
    data_as_of = models.DateTimeField(
        _("data as of"), help_text=_("Comments, decisions and cost as they were at this moment.")
    )
    content_hash = models.CharField(
        _("content hash"), max_length=64, help_text=_("SHA-256 of the content, without the time.")
    )
    html = models.TextField(editable=False)
    markdown = models.TextField(editable=False)
    pdf = models.BinaryField(editable=False)
    # Slides from the same content as the HTML and Markdown (so the content hash covers
    # them too). Empty for a version built before packs had slides.
    pptx = models.BinaryField(editable=False, default=b"")

    objects = ReviewPackQuerySet.as_manager()

    class Meta:
        ordering = ["session", "-version"]
        verbose_name = _("review pack")
        verbose_name_plural = _("review packs")
        constraints = [
            models.UniqueConstraint(fields=["session", "version"], name="pack_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.session.title} pack v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise FrozenSnapshotError(f"{self} is a kept version and cannot change")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("roadmap:pack", args=[self.session_id, self.version, "html"])

    @property
    def is_draft(self) -> bool:
        """Built before its session opened, from the live roadmap (see `from_snapshot`)."""
        opened = self.session.opened_at
        return opened is None or self.created_at < opened

    def file_name(self, fmt: str) -> str:
        return f"review-pack-{self.session.quarter.code}-v{self.version}.{fmt}"

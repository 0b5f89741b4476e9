from django.urls import path

from roadmap import budget_views as budgets
from roadmap import evidence_views as evidence
from roadmap import review_views as reviews
from roadmap import views

app_name = "roadmap"

urlpatterns = [
    path("", views.BoardView.as_view(), name="board"),
    path("capacity/", views.CapacityView.as_view(), name="capacity"),
    path("items/", views.ItemListView.as_view(), name="item-list"),
    path("items/new/", views.ItemCreateView.as_view(), name="item-create"),
    path("items/export.csv", views.ItemExportView.as_view(), name="item-export"),
    path("items/import/", views.ItemImportView.as_view(), name="item-import"),
    path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item-detail"),
    path("items/<int:pk>/edit/", views.ItemUpdateView.as_view(), name="item-edit"),
    path("items/<int:pk>/move/", views.ItemMoveView.as_view(), name="item-move"),
    # Evidence: an item's tables, their usage, stakeholder interviews
    path("items/<int:pk>/tables/", evidence.ItemTablesView.as_view(), name="item-tables"),
    path(
        "items/<int:pk>/evidence/",
        evidence.ItemEvidenceApplyView.as_view(),
        name="item-evidence-apply",
    ),
    path("interviews/", evidence.InterviewListView.as_view(), name="interview-list"),
    path("interviews/new/", evidence.InterviewFormView.as_view(), name="interview-create"),
    path("interviews/<int:pk>/edit/", evidence.InterviewFormView.as_view(), name="interview-edit"),
    # Review sessions
    path("reviews/", reviews.ReviewListView.as_view(), name="review-list"),
    path("reviews/new/", reviews.ReviewFormView.as_view(), name="review-create"),
    path("reviews/<int:pk>/", reviews.ReviewDetailView.as_view(), name="review-detail"),
    path("reviews/<int:pk>/edit/", reviews.ReviewFormView.as_view(), name="review-edit"),
    path("reviews/<int:pk>/advance/", reviews.ReviewAdvanceView.as_view(), name="review-advance"),
    path("reviews/<int:pk>/comments/", reviews.CommentCreateView.as_view(), name="comment-create"),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/edit/",
        reviews.CommentEditView.as_view(),
        name="comment-edit",
    ),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/delete/",
        reviews.CommentDeleteView.as_view(),
        name="comment-delete",
    ),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/resolve/",
        reviews.CommentResolveView.as_view(),
        name="comment-resolve",
    ),
    path("reviews/<int:pk>/items/<int:item_pk>/vote/", reviews.VoteView.as_view(), name="vote"),
    path(
        "reviews/<int:pk>/items/<int:item_pk>/decision/",
        reviews.DecisionView.as_view(),
        name="decision",
    ),
    path("reviews/<int:pk>/packs/", reviews.PackBuildView.as_view(), name="pack-build"),
    path(
        "reviews/<int:pk>/packs/<int:version>/<str:fmt>/",
        reviews.PackView.as_view(),
        name="pack",
    ),
    path(
        "reviews/<int:pk>/reasons/<int:item_key>/",
        reviews.ChangeReasonView.as_view(),
        name="change-reason",
    ),
    # Error budgets
    path("budgets/", budgets.BudgetListView.as_view(), name="budget-list"),
    path("budgets/products/new/", budgets.ProductFormView.as_view(), name="product-create"),
    path("budgets/products/<int:pk>/", budgets.ProductDetailView.as_view(), name="product-detail"),
    path("budgets/products/<int:pk>/edit/", budgets.ProductFormView.as_view(), name="product-edit"),
    path("budgets/incidents/new/", budgets.IncidentFormView.as_view(), name="incident-create"),
    path(
        "budgets/incidents/<int:pk>/edit/",
        budgets.IncidentFormView.as_view(),
        name="incident-edit",
    ),
]

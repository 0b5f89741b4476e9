"""URLs of the roadmap's reviews, under /roadmap/ in the `roadmap` namespace."""

from django.urls import path

from roadmap.reviews import views

urlpatterns = [
    path("reviews/", views.ReviewListView.as_view(), name="review-list"),
    path("reviews/new/", views.ReviewFormView.as_view(), name="review-create"),
    path("reviews/<int:pk>/", views.ReviewDetailView.as_view(), name="review-detail"),
    path("reviews/<int:pk>/edit/", views.ReviewFormView.as_view(), name="review-edit"),
    path("reviews/<int:pk>/advance/", views.ReviewAdvanceView.as_view(), name="review-advance"),
    path("reviews/<int:pk>/comments/", views.CommentCreateView.as_view(), name="comment-create"),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/edit/",
        views.CommentEditView.as_view(),
        name="comment-edit",
    ),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/delete/",
        views.CommentDeleteView.as_view(),
        name="comment-delete",
    ),
    path(
        "reviews/<int:pk>/comments/<int:comment_pk>/resolve/",
        views.CommentResolveView.as_view(),
        name="comment-resolve",
    ),
    path("reviews/<int:pk>/items/<int:item_pk>/vote/", views.VoteView.as_view(), name="vote"),
    path(
        "reviews/<int:pk>/items/<int:item_pk>/decision/",
        views.DecisionView.as_view(),
        name="decision",
    ),
    path("reviews/<int:pk>/packs/", views.PackBuildView.as_view(), name="pack-build"),
    path(
        "reviews/<int:pk>/packs/<int:version>/<str:fmt>/",
        views.PackView.as_view(),
        name="pack",
    ),
    path(
        "reviews/<int:pk>/reasons/<int:item_key>/",
        views.ChangeReasonView.as_view(),
        name="change-reason",
    ),
]

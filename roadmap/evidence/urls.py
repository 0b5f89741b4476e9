"""URLs of the roadmap's evidence, under /roadmap/ in the `roadmap` namespace."""

from django.urls import path

from roadmap.evidence import views

urlpatterns = [
    path("items/<int:pk>/tables/", views.ItemTablesView.as_view(), name="item-tables"),
    path(
        "items/<int:pk>/evidence/",
        views.ItemEvidenceApplyView.as_view(),
        name="item-evidence-apply",
    ),
    path("items/<int:pk>/retirement/", views.ItemRetirementView.as_view(), name="item-retirement"),
    path(
        "items/<int:pk>/retirement/readers.svg",
        views.ItemRetirementChartView.as_view(),
        name="item-retirement-chart",
    ),
    path(
        "items/<int:pk>/retirement/readers.csv",
        views.ItemRetirementReadersView.as_view(),
        name="item-retirement-readers",
    ),
    path("interviews/", views.InterviewListView.as_view(), name="interview-list"),
    path("interviews/new/", views.InterviewFormView.as_view(), name="interview-create"),
    path("interviews/<int:pk>/edit/", views.InterviewFormView.as_view(), name="interview-edit"),
]

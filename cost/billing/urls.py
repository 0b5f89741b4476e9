"""URLs of cost's billing pages, under /cost/ in the `cost` namespace."""

from django.urls import path

from cost.billing import views

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("chart.svg", views.ChartView.as_view(), name="chart"),
    path("imports/", views.ImportListView.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportDetailView.as_view(), name="import-detail"),
    path("rules/", views.RuleListView.as_view(), name="rule-list"),
    path("rules/new/", views.RuleCreateView.as_view(), name="rule-create"),
    path("rules/<int:pk>/edit/", views.RuleUpdateView.as_view(), name="rule-edit"),
    path("rules/<int:pk>/delete/", views.RuleDeleteView.as_view(), name="rule-delete"),
    path("rules/<int:pk>/move/", views.RuleMoveView.as_view(), name="rule-move"),
]

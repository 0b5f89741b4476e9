from django.urls import path

from cost import usage_views as usage
from cost import views

app_name = "cost"

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
    # Job history (INFORMATION_SCHEMA.JOBS): usage reports and users' teams.
    path("usage/", usage.TableUsageView.as_view(), name="usage-tables"),
    path("usage/curve.svg", usage.TableUsageCurveView.as_view(), name="usage-curve"),
    path("usage/tables/<int:pk>/", usage.TableUsersView.as_view(), name="usage-table"),
    path(
        "usage/tables/<int:pk>/users.csv", usage.TableUsersCsvView.as_view(), name="usage-table-csv"
    ),
    path("usage/joined/", usage.JoinedView.as_view(), name="usage-joined"),
    path("usage/cost/", usage.QueryCostView.as_view(), name="usage-cost"),
    path("usage/imports/", usage.JobImportListView.as_view(), name="usage-imports"),
    path("usage/users/", usage.JobUserListView.as_view(), name="job-user-list"),
    path("usage/users/<int:pk>/", usage.JobUserEditView.as_view(), name="job-user-edit"),
    path("usage/users/import/", usage.JobUserImportView.as_view(), name="job-user-import"),
    path("usage/users/teams.csv", usage.JobUserExportView.as_view(), name="job-user-export"),
]

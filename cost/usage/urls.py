"""URLs of cost's usage pages, under /cost/ in the `cost` namespace."""

from django.urls import path

from cost.usage import views

urlpatterns = [
    path("usage/", views.TableUsageView.as_view(), name="usage-tables"),
    path("usage/curve.svg", views.TableUsageCurveView.as_view(), name="usage-curve"),
    path("usage/tables/<int:pk>/", views.TableUsersView.as_view(), name="usage-table"),
    path(
        "usage/tables/<int:pk>/users.csv", views.TableUsersCsvView.as_view(), name="usage-table-csv"
    ),
    path("usage/joined/", views.JoinedView.as_view(), name="usage-joined"),
    path("usage/cost/", views.QueryCostView.as_view(), name="usage-cost"),
    path("usage/imports/", views.JobImportListView.as_view(), name="usage-imports"),
    path("usage/users/", views.JobUserListView.as_view(), name="job-user-list"),
    path("usage/users/<int:pk>/", views.JobUserEditView.as_view(), name="job-user-edit"),
    path("usage/users/import/", views.JobUserImportView.as_view(), name="job-user-import"),
    path("usage/users/teams.csv", views.JobUserExportView.as_view(), name="job-user-export"),
]

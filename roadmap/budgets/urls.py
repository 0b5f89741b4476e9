"""URLs of the roadmap's budgets, under /roadmap/ in the `roadmap` namespace."""

from django.urls import path

from roadmap.budgets import views

urlpatterns = [
    path("budgets/", views.BudgetListView.as_view(), name="budget-list"),
    path("budgets/products/new/", views.ProductFormView.as_view(), name="product-create"),
    path("budgets/products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("budgets/products/<int:pk>/edit/", views.ProductFormView.as_view(), name="product-edit"),
    path("budgets/incidents/new/", views.IncidentFormView.as_view(), name="incident-create"),
    path(
        "budgets/incidents/<int:pk>/edit/",
        views.IncidentFormView.as_view(),
        name="incident-edit",
    ),
]

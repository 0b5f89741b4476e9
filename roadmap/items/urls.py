"""URLs of the roadmap's items, under /roadmap/ in the `roadmap` namespace."""

from django.urls import path

from roadmap.items import views

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
]

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.api import api_views, router
from core.languages import ChooseLanguageView
from core.openapi import DocsView, SchemaView
from roadmap.items.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", ChooseLanguageView.as_view(), name="language"),
    path("roadmap/", include("roadmap.urls")),
    path("cost/", include("cost.urls")),
    path("api/v1/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/v1/docs/", DocsView.as_view(), name="api-docs"),
    *[path(f"api/v1/{route}", view.as_view(), name=name) for route, view, name in api_views],
    path("api/v1/", include(router.urls)),
    path("admin/", admin.site.urls),
]

handler404 = "config.api.not_found"

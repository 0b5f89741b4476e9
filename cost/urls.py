from django.urls import path  # noqa: F401 - routes arrive with the cost pages

app_name = "cost"

urlpatterns: list = []

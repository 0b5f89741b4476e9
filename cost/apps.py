from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CostConfig(AppConfig):
    name = "cost"
    verbose_name = _("BigQuery cost")

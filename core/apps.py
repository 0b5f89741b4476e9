from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Quarterdeck")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from core.history import record_display_name

        post_save.connect(
            record_display_name, sender=get_user_model(), dispatch_uid="core.display_name"
        )

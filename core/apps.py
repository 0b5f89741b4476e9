from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Quarterdeck")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from core.history import record_display_name
        from core.languages import restore_language_at_sign_in

        post_save.connect(
            record_display_name, sender=get_user_model(), dispatch_uid="core.display_name"
        )
        # Every way of signing in (password, admin, single sign-on) sends user_logged_in:
        # the one place the stored language can be restored whichever path was taken.
        user_logged_in.connect(restore_language_at_sign_in, dispatch_uid="core.language")

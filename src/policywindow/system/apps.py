from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "policywindow.system"
    label = "system"
    verbose_name = "系统管理"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, post_save

        from . import (
            identity,
            params,
            tasks,  # noqa: F401 — registers the session sweep
        )
        from .bootstrap import sync_builtin_data
        from .models import SystemParameter

        post_migrate.connect(sync_builtin_data, sender=self)
        identity.connect_invalidation()
        post_save.connect(params.forget_request_values, sender=SystemParameter)

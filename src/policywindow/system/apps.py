from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "policywindow.system"
    label = "system"
    verbose_name = "系统管理"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from .bootstrap import sync_builtin_data

        post_migrate.connect(sync_builtin_data, sender=self)

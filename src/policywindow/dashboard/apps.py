from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "policywindow.dashboard"
    label = "dashboard"
    verbose_name = "数据看板"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import tasks  # noqa: F401 — registers the compaction of the rollups

        post_migrate.connect(_install_rollups, sender=self)


def _install_rollups(using: str, **kwargs) -> None:
    """The rollup triggers after every ``migrate`` (installed and recounted when missing)."""
    from .rollups import ensure_installed

    ensure_installed(using)

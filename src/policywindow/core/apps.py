from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "policywindow.core"
    label = "core"
    verbose_name = "共享内核"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import tasks  # noqa: F401 — registers the periodic jobs

        post_migrate.connect(_seed_calendar, sender=self)


def _seed_calendar(**_kwargs) -> None:
    """A fresh database knows the official holidays; later edits are never overwritten."""
    from .calendar import seed_from_chinese_calendar
    from .models import CalendarDay

    if not CalendarDay.objects.exists():
        seed_from_chinese_calendar()

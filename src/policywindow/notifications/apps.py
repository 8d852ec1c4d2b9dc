from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "policywindow.notifications"
    label = "notifications"
    verbose_name = "消息通知"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 — registers the periodic jobs

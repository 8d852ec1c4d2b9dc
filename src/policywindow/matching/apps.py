from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "policywindow.matching"
    label = "matching"
    verbose_name = "政策匹配"

    def ready(self) -> None:
        from policywindow.notifications.models import register_kind_labels

        from . import subscribers, tasks  # noqa: F401 — tasks registers the background tasks
        from .grants import GRANT_KIND
        from .services import PUSH_KIND

        register_kind_labels({PUSH_KIND: "政策推送", GRANT_KIND: "免申即享"})
        subscribers.connect()

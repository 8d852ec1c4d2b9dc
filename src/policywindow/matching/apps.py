from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "policywindow.matching"
    label = "matching"
    verbose_name = "政策匹配"

    def ready(self) -> None:
        from policywindow.notifications.models import KIND_LABELS

        from . import tasks  # noqa: F401 — registers the background tasks
        from .grants import GRANT_KIND
        from .services import PUSH_KIND

        KIND_LABELS.update({PUSH_KIND: "政策推送", GRANT_KIND: "免申即享"})

from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "policywindow.finance"
    label = "finance"
    verbose_name = "财政报送"

    def ready(self) -> None:
        from policywindow.applications.transitions import register_step_labels
        from policywindow.core.audit import register_action_labels
        from policywindow.notifications.models import register_kind_labels

        from . import (
            deadline_tracking,
            subscribers,
            tasks,  # noqa: F401 — registers the end-of-publicity sweep
        )
        from .labels import AUDIT_LABELS, NOTIFICATION_LABELS, TIMELINE_LABELS

        register_step_labels(TIMELINE_LABELS)
        register_action_labels(AUDIT_LABELS)
        register_kind_labels(NOTIFICATION_LABELS)
        deadline_tracking.register()
        subscribers.subscribe()

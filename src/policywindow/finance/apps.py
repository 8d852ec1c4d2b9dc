from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "policywindow.finance"
    label = "finance"
    verbose_name = "财政报送"

    def ready(self) -> None:
        from policywindow.applications import transitions
        from policywindow.core import audit
        from policywindow.notifications.models import KIND_LABELS

        from . import (
            deadline_tracking,
            tasks,  # noqa: F401 — registers the end-of-publicity sweep
        )
        from .labels import AUDIT_LABELS, NOTIFICATION_LABELS, TIMELINE_LABELS

        # The publicity steps read on the case timeline and in the operation log alike.
        transitions.ACTION_LABELS.update(TIMELINE_LABELS)
        audit.ACTION_LABELS.update(
            {f"application.{action}": label for action, label in TIMELINE_LABELS.items()}
        )
        audit.ACTION_LABELS.update(AUDIT_LABELS)
        KIND_LABELS.update(NOTIFICATION_LABELS)
        deadline_tracking.register()

from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "policywindow.applications"
    label = "applications"
    verbose_name = "申报与受理"

    def ready(self) -> None:
        from policywindow.core import audit
        from policywindow.notifications.models import KIND_LABELS

        from . import deadline_tracking
        from .notices import KIND_LABELS as NOTICE_LABELS
        from .transitions import ACTION_LABELS

        # The operation log names each application step as the timeline does.
        audit.ACTION_LABELS.update(
            {f"application.{action}": label for action, label in ACTION_LABELS.items()}
        )
        KIND_LABELS.update(NOTICE_LABELS)
        deadline_tracking.register()

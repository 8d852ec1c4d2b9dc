from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "policywindow.applications"
    label = "applications"
    verbose_name = "申报与受理"

    def ready(self) -> None:
        from policywindow.notifications.models import register_kind_labels

        from . import deadline_tracking, review, transitions
        from .notices import KIND_LABELS as NOTICE_LABELS

        transitions.register_step_labels(transitions.APPLICATION_STEP_LABELS)
        register_kind_labels(NOTICE_LABELS)
        review.register()
        deadline_tracking.register()

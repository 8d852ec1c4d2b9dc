from django.apps import AppConfig


class ReformsConfig(AppConfig):
    name = "policywindow.reforms"
    label = "reforms"
    verbose_name = "改革任务督办"

    def ready(self) -> None:
        from policywindow.core.audit import register_action_labels

        from . import (
            deadline_tracking,
            review,
            tasks,  # noqa: F401  registers the reminder sweep with the scheduler
        )
        from .services.reports import AUDIT_LABELS

        register_action_labels(AUDIT_LABELS)
        deadline_tracking.register()
        review.register()  # progress reports are a workflow subject (督办审核)

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "policywindow.workflow"
    label = "workflow"
    verbose_name = "审批工作流"

    def ready(self) -> None:
        from policywindow.core.audit import register_action_labels

        from . import (
            deadline_tracking,
            tasks,  # noqa: F401  registers the SLA sweep with the scheduler
        )
        from .services.runtime import AUDIT_LABELS

        register_action_labels(AUDIT_LABELS)
        deadline_tracking.register()

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "policywindow.workflow"
    label = "workflow"
    verbose_name = "审批工作流"

    def ready(self) -> None:
        from policywindow.applications import transitions
        from policywindow.core import audit

        from . import (
            deadline_tracking,
            tasks,  # noqa: F401  registers the SLA sweep with the scheduler
        )
        from .services.runtime import AUDIT_LABELS, TIMELINE_LABELS

        # Workflow steps read on the case timeline and in the operation log alike.
        transitions.ACTION_LABELS.update(TIMELINE_LABELS)
        audit.ACTION_LABELS.update(
            {f"application.{action}": label for action, label in TIMELINE_LABELS.items()}
        )
        audit.ACTION_LABELS.update(AUDIT_LABELS)
        deadline_tracking.register()

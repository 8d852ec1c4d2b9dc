from django.apps import AppConfig

AUDIT_LABELS = {"space.document.issue": "出具法人空间文书"}


class SpaceConfig(AppConfig):
    name = "policywindow.space"
    label = "space"
    verbose_name = "法人空间"

    def ready(self) -> None:
        from policywindow.core.audit import register_action_labels

        from . import tasks  # noqa: F401  registers the document sweep with the scheduler

        register_action_labels(AUDIT_LABELS)

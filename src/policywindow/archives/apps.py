from django.apps import AppConfig

TIMELINE_LABELS = {"archive": "归档办结"}
AUDIT_LABELS = {
    "archive.create": "办件归档",
    "archivebatch.create": "批量归档",
}


class ArchivesConfig(AppConfig):
    name = "policywindow.archives"
    label = "archives"
    verbose_name = "办件归档"

    def ready(self) -> None:
        from policywindow.applications.transitions import register_step_labels
        from policywindow.core.audit import register_action_labels

        from . import tasks  # noqa: F401 — registers the sweep of stalled batch runs

        register_step_labels(TIMELINE_LABELS)
        register_action_labels(AUDIT_LABELS)

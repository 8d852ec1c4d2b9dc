from django.apps import AppConfig

TIMELINE_LABELS = {"archive": "归档办结"}
AUDIT_LABELS = {
    "archive.create": "办件归档",
    "archivebatch.create": "批量归档",
    "application.archive": "办件归档",
}


class ArchivesConfig(AppConfig):
    name = "policywindow.archives"
    label = "archives"
    verbose_name = "办件归档"

    def ready(self) -> None:
        from policywindow.applications import transitions
        from policywindow.core import audit

        from . import tasks  # noqa: F401 — registers the sweep of stalled batch runs

        transitions.ACTION_LABELS.update(TIMELINE_LABELS)
        audit.ACTION_LABELS.update(AUDIT_LABELS)

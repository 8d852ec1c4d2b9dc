from django.apps import AppConfig

TIMELINE_LABELS = {"fund_form": "出具经费审批表"}
AUDIT_LABELS = {
    "fundform.issue": "出具经费审批表",
    "formbatch.issue": "出具经费审批汇总表",
}


class FundformsConfig(AppConfig):
    name = "policywindow.fundforms"
    label = "fundforms"
    verbose_name = "经费审批表"

    def ready(self) -> None:
        from policywindow.applications import transitions
        from policywindow.core import audit

        from . import tasks  # noqa: F401 — registers the sweep of stalled file runs

        transitions.ACTION_LABELS.update(TIMELINE_LABELS)
        audit.ACTION_LABELS.update(AUDIT_LABELS)

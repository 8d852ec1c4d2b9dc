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
        from policywindow.applications.transitions import register_step_labels
        from policywindow.core.audit import register_action_labels

        from . import tasks  # noqa: F401 — registers the sweep of stalled file runs

        register_step_labels(TIMELINE_LABELS)
        register_action_labels(AUDIT_LABELS)

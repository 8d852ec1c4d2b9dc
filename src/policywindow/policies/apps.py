from django.apps import AppConfig

AUDIT_LABELS = {
    "policy.publish": "发布政策",
    "policy.withdraw": "撤回政策",
    "policy.expire": "政策失效",
    "ruleversion.publish": "发布细则版本",
    "ruleversion.reorder_items": "调整要件顺序",
}


class PoliciesConfig(AppConfig):
    name = "policywindow.policies"
    label = "policies"
    verbose_name = "政策库"

    def ready(self) -> None:
        from policywindow.core.audit import register_action_labels

        register_action_labels(AUDIT_LABELS)

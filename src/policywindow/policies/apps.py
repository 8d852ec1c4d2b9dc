from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policywindow.policies"
    label = "policies"
    verbose_name = "政策库"

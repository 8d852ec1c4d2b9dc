from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "policywindow.applications"
    label = "applications"
    verbose_name = "申报与受理"

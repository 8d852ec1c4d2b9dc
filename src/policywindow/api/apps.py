from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "policywindow.api"
    label = "api"
    verbose_name = "接口"

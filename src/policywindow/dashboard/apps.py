from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "policywindow.dashboard"
    label = "dashboard"
    verbose_name = "数据看板"

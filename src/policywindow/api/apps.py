from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "policywindow.api"
    label = "api"
    verbose_name = "接口"

    def ready(self) -> None:
        from . import tasks  # noqa: F401 — registers the periodic jobs

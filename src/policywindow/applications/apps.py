from django.apps import AppConfig


class ApplicationsConfig(AppConfig):
    name = "policywindow.applications"
    label = "applications"
    verbose_name = "申报与受理"

    def ready(self) -> None:
        from policywindow.core import audit

        from .transitions import ACTION_LABELS

        # The operation log names each application step as the timeline does.
        audit.ACTION_LABELS.update(
            {f"application.{action}": label for action, label in ACTION_LABELS.items()}
        )

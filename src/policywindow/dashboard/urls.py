from .views import urlpatterns

app_name = "dashboard"

__all__ = ["urlpatterns"]

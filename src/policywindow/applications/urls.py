from .views import filing, intake, status

app_name = "applications"

urlpatterns = [pattern for module in (filing, intake, status) for pattern in module.urlpatterns]

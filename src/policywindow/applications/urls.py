from .views import filing, intake, review, status

app_name = "applications"

urlpatterns = [
    pattern for module in (filing, intake, review, status) for pattern in module.urlpatterns
]

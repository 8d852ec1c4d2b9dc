from .views import portal, registry

app_name = "enterprises"

urlpatterns = [pattern for module in (registry, portal) for pattern in module.urlpatterns]

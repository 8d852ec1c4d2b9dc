from .views import manage, public

app_name = "policies"

urlpatterns = [pattern for module in (manage, public) for pattern in module.urlpatterns]

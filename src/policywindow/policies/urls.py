from .views import manage, public, rules

app_name = "policies"

urlpatterns = [pattern for module in (manage, rules, public) for pattern in module.urlpatterns]

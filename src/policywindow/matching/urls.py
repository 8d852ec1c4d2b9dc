from .views import calculator, runs

app_name = "matching"

urlpatterns = [*calculator.urlpatterns, *runs.urlpatterns]

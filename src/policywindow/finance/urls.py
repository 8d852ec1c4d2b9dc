from .views import budgets, objections, publicity

app_name = "finance"

urlpatterns = [*budgets.urlpatterns, *publicity.urlpatterns, *objections.urlpatterns]

from .views import programme, tasks

app_name = "reforms"

urlpatterns = [*programme.urlpatterns, *tasks.urlpatterns]

from .views import approvals, designer

app_name = "workflow"

urlpatterns = [*designer.urlpatterns, *approvals.urlpatterns]

from .views import budgets, disbursements, objections, publicity, submissions

app_name = "finance"

urlpatterns = [
    *budgets.urlpatterns,
    *publicity.urlpatterns,
    *objections.urlpatterns,
    *submissions.urlpatterns,
    *disbursements.urlpatterns,
]

from django.urls import path

from . import views

app_name = "fundforms"

urlpatterns = [
    path("fundforms/", views.case_list, name="case_list"),
    path("fundforms/batches/", views.batch_list, name="batch_list"),
    path("fundforms/batches/create/", views.batch_create, name="batch_create"),
    path("fundforms/batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("fundforms/batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("fundforms/batches/<int:pk>/pdf/", views.batch_pdf, name="batch_pdf"),
    path("fundforms/batches/<int:pk>/xlsx/", views.batch_xlsx, name="batch_xlsx"),
    path("fundforms/forms/<int:pk>/", views.form_detail, name="form_detail"),
    path("fundforms/forms/<int:pk>/pdf/", views.form_pdf, name="form_pdf"),
    path("fundforms/verify/", views.verify, name="verify"),
]

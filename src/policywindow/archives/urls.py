from django.urls import path

from . import views

app_name = "archives"

urlpatterns = [
    path("archives/", views.case_list, name="case_list"),
    path("archives/archived/", views.archive_list, name="archive_list"),
    path("archives/create/", views.archive_create, name="archive_create"),
    path("archives/batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("archives/batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("archives/<int:pk>/download/", views.download, name="download"),
    path("portal/archives/", views.my_list, name="my_list"),
    path("portal/archives/<int:pk>/download/", views.my_download, name="my_download"),
]

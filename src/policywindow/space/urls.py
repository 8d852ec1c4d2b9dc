from django.urls import path

from . import views

app_name = "space"

urlpatterns = [
    path("portal/space/", views.index, name="index"),
    path("portal/space/documents/<int:pk>/", views.document, name="document"),
    path("portal/space/applications/<int:pk>/documents/<str:kind>/", views.issue, name="issue"),
    path("portal/space/fund-forms/<int:pk>/pdf/", views.fund_form_pdf, name="fund_form_pdf"),
    path(
        "portal/space/fund-forms/<int:pk>/verification/",
        views.fund_form_verification,
        name="fund_form_verification",
    ),
]

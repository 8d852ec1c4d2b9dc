from django.urls import include, path

from policywindow.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("policywindow.api.urls")),
    path("", include("policywindow.system.urls")),
]

handler400 = "policywindow.core.views.handler400"
handler403 = "policywindow.core.views.handler403"
handler404 = "policywindow.core.views.handler404"
handler500 = "policywindow.core.views.handler500"

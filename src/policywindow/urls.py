from django.urls import include, path
from django.views.i18n import set_language

from policywindow.core.access import public
from policywindow.core.views import favicon, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("api/v1/", include("policywindow.api.urls")),
    path("", include("policywindow.policies.urls")),
    path("", include("policywindow.enterprises.urls")),
    path("", include("policywindow.applications.urls")),
    path("", include("policywindow.notifications.urls")),
    path("", include("policywindow.workflow.urls")),
    path("", include("policywindow.finance.urls")),
    path("", include("policywindow.fundforms.urls")),
    path("", include("policywindow.archives.urls")),
    path("", include("policywindow.reforms.urls")),
    path("", include("policywindow.matching.urls")),
    path("", include("policywindow.space.urls")),
    path("", include("policywindow.dashboard.urls")),
    path("", include("policywindow.system.urls")),
]

handler400 = "policywindow.core.views.handler400"
handler403 = "policywindow.core.views.handler403"
handler404 = "policywindow.core.views.handler404"
handler500 = "policywindow.core.views.handler500"

"""A throwaway NinjaAPI with our conventions, mounted by tests with ``pytest.mark.urls``.

Its operations fail on purpose so that each kind of error can be checked
without breaking the real endpoints.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.urls import include, path
from ninja import NinjaAPI

from policywindow.api.root import apply_conventions
from policywindow.api.security import public
from policywindow.core.access import delegated

probe = apply_conventions(NinjaAPI(urls_namespace="probe"))


@probe.get("/undeclared")
def undeclared(request):
    return {"reached": True}


@probe.get("/declared")
@public
def declared(request):
    return {"reached": True}


@probe.get("/boom")
@public
def boom(request):
    raise RuntimeError("secret internal detail")


@probe.get("/db-down")
@public
def db_down(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')


@probe.get("/db-down-then-error")
@public
def db_down_then_error(request):
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        raise RuntimeError("cleanup after the lost connection failed")  # noqa: B904


@probe.get("/model-invalid")
@public
def model_invalid(request):
    raise DjangoValidationError({"mobile": ["请输入正确的11位手机号码"]})


_patterns, _, _namespace = probe.urls
for _pattern in _patterns:
    _pattern.callback = delegated("probe")(_pattern.callback)
urlpatterns = [path("api/probe/", include((_patterns, "probe"), namespace="probe"))]

from policywindow.core.access import delegated

from .errors import json_method_not_allowed
from .root import api

urlpatterns, _, app_name = api.urls  # app_name "api": the namespace django-ninja reverses in
# Each operation declares its own access (see security.py); the URL layer delegates to it.
for pattern in urlpatterns:
    pattern.callback = delegated("每个接口操作自行声明权限")(
        json_method_not_allowed(pattern.callback)
    )

from policywindow.system.access import delegated

from .root import api

# Each operation declares its own permission (see security.py); the URL layer delegates.
urlpatterns = api.urls[0]
for pattern in urlpatterns:
    pattern.callback = delegated("每个接口操作自行声明权限")(pattern.callback)
app_name = api.urls[1]

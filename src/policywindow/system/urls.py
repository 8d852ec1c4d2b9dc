from .views import (
    admin_requests,
    auth,
    calendar,
    departments,
    dicts,
    home,
    logs,
    menus,
    online,
    params,
    posts,
    roles,
    second_factor,
    users,
)

app_name = "system"

PAGE_MODULES = (
    auth,
    home,
    second_factor,
    users,
    departments,
    posts,
    roles,
    menus,
    dicts,
    params,
    calendar,
    online,
    logs,
    admin_requests,
)

urlpatterns = [pattern for module in PAGE_MODULES for pattern in module.urlpatterns]

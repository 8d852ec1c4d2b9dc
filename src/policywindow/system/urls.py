from .views import (
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
    users,
)

app_name = "system"

PAGE_MODULES = (
    auth,
    home,
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
)

urlpatterns = [pattern for module in PAGE_MODULES for pattern in module.urlpatterns]

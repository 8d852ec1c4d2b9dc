"""Template context: the sidebar drawn from the menus the user's roles grant, cached with the
user's identity (``system.identity``), so it changes when a grant or a menu does."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def navigation(request) -> dict:
    # Lazy so error pages rendered while the database is down never touch it.
    from .auth import password_change_owed
    from .identity import chrome
    from .selectors import sidebar_for

    def menus():
        user = request.user
        # Until a forced password change is done, every menu would only bounce back to it.
        if user.is_authenticated and password_change_owed(user):
            return []
        return chrome(user, "sidebar", lambda: sidebar_for(user))

    return {
        "sidebar": SimpleLazyObject(menus),
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "app_version": settings.APP_VERSION,
    }

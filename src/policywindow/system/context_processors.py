"""Template context: the sidebar drawn from the menus the user's roles grant."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def navigation(request) -> dict:
    # Lazy so error pages rendered while the database is down never touch it.
    from .auth import password_expired
    from .selectors import sidebar_for

    def menus():
        user = request.user
        # Until a forced password change is done, every menu would only bounce back to it.
        if user.is_authenticated and (user.must_change_password or password_expired(user)):
            return []
        return sidebar_for(user)

    return {
        "sidebar": SimpleLazyObject(menus),
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "app_version": settings.APP_VERSION,
    }

"""Template context: the sidebar drawn from the menus the user's roles grant."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject


def navigation(request) -> dict:
    # Lazy so error pages rendered while the database is down never touch it.
    from .selectors import sidebar_for

    return {
        "sidebar": SimpleLazyObject(lambda: sidebar_for(request.user)),
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "app_version": settings.APP_VERSION,
    }

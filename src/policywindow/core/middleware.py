"""Cross-cutting middleware of the shared kernel."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from .requestctx import client_ip, reset_current_ip, set_current_ip


class RequestContextMiddleware:
    """Remember the client address so audit events written deep in services carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_current_ip(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            reset_current_ip(token)


class LanguageMiddleware:
    """Chinese unless the user chose English with the language switch.

    Django's LocaleMiddleware follows the browser's Accept-Language, which would show an
    English interface to every official whose browser happens to be set to English.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response

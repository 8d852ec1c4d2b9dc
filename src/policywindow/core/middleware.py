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


NUL_IN_QUERY_MESSAGE = "查询参数含有空字符（\\u0000），请删除后重试。"


class RejectNulInQueryMiddleware:
    """A NUL character in the query string is refused with 400 before any view reads it.

    PostgreSQL cannot hold NUL in text, so a search such as ``?q=%00`` would fail deep in a
    query as a server error. Form fields are covered by Django's own validator; the query
    string is read directly by list and search pages, so it is checked here once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or "\x00" in value for key, value in _query_items(request)):
            from .views import error_response  # views import the access layer, loaded later

            return error_response(request, 400, "bad_request", NUL_IN_QUERY_MESSAGE)
        return self.get_response(request)


def _query_items(request):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value

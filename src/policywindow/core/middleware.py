"""Cross-cutting middleware of the shared kernel."""

from __future__ import annotations

import logging
from types import MethodType

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils import translation
from django.utils.datastructures import ImmutableList

from . import inputs
from .files import climbs_directories, shown_file_name, traversal_in_file_name
from .requestctx import client_ip, reset_current_ip, set_current_ip

log = logging.getLogger(__name__)


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
NUL_IN_PATH_MESSAGE = "请求地址含有空字符（\\u0000），请检查地址后重试。"
# Bodies Django parses into request.POST; any other body may be JSON to the API's parser, which
# does not look at the content type.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class RejectUnsafeInputMiddleware:
    """Input no field can hold (``core.inputs``) is refused with 400 before any view reads it.

    PostgreSQL cannot hold NUL in text, so ``?q=%00`` or ``/rules/a%00b`` would fail deep in a
    query as a server error; a JSON body with a lone surrogate, ``NaN`` or a 30-digit integer
    would fail in the database, the rule engine or the response. The path and the query string
    are checked here once; a JSON body is checked whole and every offending field is named in
    ``details``, as any other field error. Form fields are checked by the forms
    (``inputs.RefuseUnsafeTextMixin``), which show the message on the field; a value a view
    reads without a form and sends to PostgreSQL with a NUL is answered 400, not 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .views import error_response  # views import the access layer, loaded later

        if "\x00" in request.path_info:
            return error_response(request, 400, "bad_request", NUL_IN_PATH_MESSAGE)
        if any("\x00" in key or "\x00" in value for key, value in _query_items(request)):
            return error_response(request, 400, "bad_request", NUL_IN_QUERY_MESSAGE)
        if problems := _json_body_problems(request):
            return error_response(
                request, 400, "validation_error", inputs.INVALID_INPUT_MESSAGE, problems
            )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DataError) and "NUL" in str(exception):
            from .views import error_response

            log.warning("NUL refused by the database: %s %s", request.method, request.path)
            return error_response(request, 400, "bad_request", f"提交的内容{inputs.NUL_MESSAGE}")
        return None


def _query_items(request):
    for key, values in request.GET.lists():
        for value in values:
            yield key, value


def _json_body_problems(request: HttpRequest) -> dict[str, list[str]]:
    if request.method in ("GET", "HEAD", "OPTIONS") or request.content_type in FORM_TYPES:
        return {}
    try:
        _, problems = inputs.parse_json(request.body)
    except (RequestDataTooBig, ValueError, RecursionError):
        return {}  # too large or not JSON: answered where the body is read, as before
    return problems


TRAVERSAL_NAME_MESSAGE = "文件名“{name}”含有路径跳转（..），不能上传；请将文件改名后重新上传"
DISGUISED_PATH_MESSAGE = (
    "文件名“{name}”在路径中夹带控制字符（疑似路径跳转），不能上传；请将文件改名后重新上传"
)


class TraversalFileName(MultiPartParserError):
    """An upload's file name tries path traversal. A MultiPartParserError, so Django marks
    the body as unparseable (request.POST stays empty) and answers 400 wherever it escapes."""

    def __init__(self, file_name: str):
        super().__init__("upload file name tries path traversal")
        self.file_name = file_name

    @property
    def message(self) -> str:
        template = (
            TRAVERSAL_NAME_MESSAGE if climbs_directories(self.file_name) else DISGUISED_PATH_MESSAGE
        )
        return template.format(name=shown_file_name(self.file_name))


class TraversalRefusingMultiPartParser(MultiPartParser):
    """Django's parser, except that a traversal name is refused instead of cut to its last
    segment: Django strips the directory part before any of our code sees the name."""

    def sanitize_file_name(self, file_name: str) -> str | None:
        if traversal_in_file_name(file_name):
            raise TraversalFileName(file_name)
        return super().sanitize_file_name(file_name)

    IE_sanitize = sanitize_file_name


def _parse_file_upload(request: HttpRequest, META: dict, post_data) -> tuple:
    """HttpRequest.parse_file_upload (Django 5.2) with the refusing parser."""
    request.upload_handlers = ImmutableList(
        request.upload_handlers,
        warning="You cannot alter upload handlers after the upload has been processed.",
    )
    parser = TraversalRefusingMultiPartParser(
        META, post_data, request.upload_handlers, request.encoding
    )
    try:
        return parser.parse()
    except TraversalFileName as exc:
        request._traversal_refusal = exc
        raise


class RejectTraversalUploadNamesMiddleware:
    """An upload whose file name tries path traversal is refused with 400 and a Chinese message.

    The body is still parsed lazily, where Django would (CsrfViewMiddleware, the view, the
    API's parameters), so nothing is read early and other body errors answer as before. The
    refusal may surface as an exception anywhere below, which Django or the API turns into
    its generic 400; this middleware answers with the real reason instead. Registered before
    CsrfViewMiddleware, whose check is the first to read request.POST on pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.content_type == "multipart/form-data":
            request.parse_file_upload = MethodType(_parse_file_upload, request)
        try:
            response = self.get_response(request)
        except TraversalFileName as exc:  # only when an inner layer lets it escape
            request._traversal_refusal = exc
        refusal = getattr(request, "_traversal_refusal", None)
        if refusal is None:
            return response
        log.warning(
            "upload refused, path traversal in file name %r: %s %s",
            refusal.file_name,
            request.method,
            request.path,
        )
        from .views import error_response  # views import the access layer, loaded later

        return error_response(request, 400, "bad_request", refusal.message)


class DomainErrorPageMiddleware:
    """A domain error a page view leaves to escape is answered as the API answers it: its own
    status and Chinese message (a PDF that cannot be made, a site address not configured, an
    object out of scope), never as "系统内部错误" or a traceback. Refusals are logged as
    ``access.denied`` events, as the API's are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from .denials import record_denial
        from .errors import DomainError
        from .views import error_response

        if not isinstance(exception, DomainError):
            return None
        status, message = exception.http_status, exception.message
        signed_in = getattr(getattr(request, "user", None), "is_authenticated", False)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, message)
        elif status == 403 or (status == 404 and signed_in):
            record_denial(request, f"{status} {message}")
        return error_response(request, status, exception.code, message, exception.details)

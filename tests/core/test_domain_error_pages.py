"""A domain error a page view lets escape is answered with its own status and message, as the
API answers it (core.middleware.DomainErrorPageMiddleware), never "系统内部错误"."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory

from policywindow.core.errors import NotFound, PermissionDenied
from policywindow.core.middleware import DomainErrorPageMiddleware
from policywindow.core.models import AuditEvent
from policywindow.core.pdf_render import PdfNotRendered

pytestmark = pytest.mark.django_db


def _answer(exception, user=None, accept: str = "text/html"):
    request = RequestFactory().get("/somewhere/", HTTP_ACCEPT=accept)
    if user is not None:
        request.user = user
    middleware = DomainErrorPageMiddleware(lambda request: None)
    return middleware.process_exception(request, exception)


def test_a_server_side_failure_shows_its_message_and_status(caplog):
    response = _answer(PdfNotRendered("受理回执 ZC1 未生成：缺少字体"))
    assert response.status_code == 500
    text = response.content.decode()
    assert "受理回执 ZC1 未生成：缺少字体" in text and "系统内部错误" not in text
    assert any(r.levelname == "ERROR" and "/somewhere/" in r.getMessage() for r in caplog.records)


def test_a_refusal_is_logged_as_a_denial_as_on_the_api(make_user):
    user = make_user("clerk9", "window_clerk")
    assert _answer(PermissionDenied("无权办理"), user).status_code == 403
    assert _answer(NotFound("该文书尚未出具"), user).status_code == 404
    denied = AuditEvent.objects.filter(action="access.denied")
    assert denied.count() == 2


def test_json_callers_get_the_error_body():
    response = _answer(NotFound("该文书尚未出具"), accept="application/json")
    assert response.status_code == 404
    assert json.loads(response.content) == {
        "code": "not_found",
        "message": "该文书尚未出具",
        "details": {},
    }


def test_other_exceptions_are_left_alone():
    assert _answer(RuntimeError("bug")) is None

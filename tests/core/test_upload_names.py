"""Upload file names that try path traversal are refused (400 with the reason); plain full
paths that old browsers send are still accepted and cut to their last segment."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpResponse
from django.test import RequestFactory

from policywindow.core.files import shown_file_name, traversal_in_file_name
from policywindow.core.middleware import RejectTraversalUploadNamesMiddleware, TraversalFileName
from tests.hostile.payloads import PDF, raw_multipart


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("../../etc/passwd.pdf", True),
        ("..\\..\\Windows\\System32\\drivers\\etc\\hosts.pdf", True),
        ("uploads/../../x.pdf", True),
        ("a\\..\\b.pdf", True),
        ("reports/..", True),  # a trailing parent segment
        ("..", True),
        (".. /x.pdf", True),  # padded with a space
        ("&#46;&#46;/x.pdf", True),  # html-escaped, as Django unescapes it
        ("&period;&period;&sol;x.pdf", True),
        (".\x00./x.pdf", True),  # NUL hiding the segment
        (".\u200b./x.pdf", True),  # an invisible character hiding it
        ("evil\x00/x.pdf", True),  # a control character together with a separator
        ("x.pdf\x1f\\y.pdf", True),
        ("营业执照.pdf", False),
        ("C:\\Users\\张三\\Desktop\\营业执照.pdf", False),  # old browsers send the full path
        ("/var/www/html/shell.php.pdf", False),
        ("./x.pdf", False),
        ("evil\x00.php.pdf", False),  # control character without a path: cleaned, accepted
        ("..%2f..%2fescape.pdf", False),  # never percent-decoded, so a plain name
        ("年度..报告.pdf", False),
        ("...pdf", False),
        ("..pdf", False),
        ("v1..2/说明.pdf", False),
    ],
)
def test_traversal_in_file_name(name, refused):
    assert traversal_in_file_name(name) is refused


def test_the_shown_name_makes_invisible_characters_visible_and_stays_short():
    assert shown_file_name("a\x00/../b.pdf") == "a\\u0000/../b.pdf"
    assert shown_file_name("&#46;&#46;/x.pdf") == "../x.pdf"
    long_name = "../" + "长" * 300 + ".pdf"
    assert len(shown_file_name(long_name)) == 120 and shown_file_name(long_name).endswith("…")


def test_the_middleware_is_registered_before_csrf_which_reads_the_body_first():
    middleware = settings.MIDDLEWARE
    ours = middleware.index("policywindow.core.middleware.RejectTraversalUploadNamesMiddleware")
    assert ours < middleware.index("django.middleware.csrf.CsrfViewMiddleware")
    assert ours > middleware.index("policywindow.core.middleware.RequestContextMiddleware")


def _multipart_request(file_name: str):
    body, content_type = raw_multipart({"item": "evidence"}, [("files", file_name, PDF)])
    return RequestFactory().generic("POST", "/api/v1/x", body, content_type)


def test_the_body_is_parsed_lazily_where_django_would():
    seen = {}

    def view(request):
        seen["read_before"] = request._read_started or "_post" in request.__dict__
        seen["name"] = request.FILES["files"].name
        seen["item"] = request.POST["item"]
        with pytest.raises(AttributeError, match="after the upload has been processed"):
            request.upload_handlers.insert(0, MemoryFileUploadHandler(request))
        return HttpResponse("ok")

    response = RejectTraversalUploadNamesMiddleware(view)(
        _multipart_request("C:\\Users\\张三\\营业执照.pdf")
    )
    assert response.status_code == 200
    assert seen == {"read_before": False, "name": "营业执照.pdf", "item": "evidence"}


def test_other_bodies_are_left_to_django():
    request = RequestFactory().post(
        "/x", "q=..%2Fa", content_type="application/x-www-form-urlencoded"
    )
    response = RejectTraversalUploadNamesMiddleware(lambda r: HttpResponse(r.POST["q"]))(request)
    assert "parse_file_upload" not in request.__dict__
    assert response.content == b"../a"


def test_a_refusal_caught_below_still_answers_with_the_reason():
    """Django and the API turn the parse error into their generic 400; the reason wins."""

    def view(request):
        with pytest.raises(TraversalFileName):
            request.POST  # noqa: B018 (the access parses the body)
        assert not request.POST and not request.FILES  # Django marked the body unparseable
        return HttpResponse("generic 400", status=400)

    response = RejectTraversalUploadNamesMiddleware(view)(_multipart_request("../../x.pdf"))
    assert response.status_code == 400
    assert json.loads(response.content) == {
        "code": "bad_request",
        "message": "文件名“../../x.pdf”含有路径跳转（..），不能上传；请将文件改名后重新上传",
        "details": {},
    }


def test_a_refusal_escaping_as_an_exception_answers_with_the_reason():
    def view(request):
        return HttpResponse(request.FILES["files"].name)

    response = RejectTraversalUploadNamesMiddleware(view)(_multipart_request("evil\x00/x.pdf"))
    assert response.status_code == 400
    message = json.loads(response.content)["message"]
    assert message.startswith("文件名“evil\\u0000/x.pdf”在路径中夹带控制字符")

"""法人空间 pages: the enterprise's landing page, its documents and its fund forms' verification.

Every object is read through ``selectors`` from the user's own enterprise: another
enterprise's document, form or file is a 404.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from policywindow.core.access import permission
from policywindow.core.errors import NotFound
from policywindow.core.files import send_file
from policywindow.core.money import to_chinese_capital
from policywindow.fundforms import rendering as fundform_rendering
from policywindow.fundforms import services as fundform_services

from . import documents, selectors, services

PDF = "application/pdf"


@permission("portal:space:view")
def index(request: HttpRequest) -> HttpResponse:
    space = selectors.space_of(request.user)
    if space is None:
        return render(request, "space/not_linked.html")
    return render(request, "space/index.html", {"space": space})


@permission("portal:space:view")
def document(request: HttpRequest, pk: int) -> HttpResponse:
    """A receipt or notice as it was issued (the file whose SHA-256 the space shows)."""
    stored = selectors.own_document(request.user, pk)
    return send_file(stored.file, documents.filename(stored.application, stored.kind))


@permission("portal:space:view")
def issue(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """A receipt or notice earned but not issued yet: issued now, then sent like any other."""
    application = selectors.own_application(request.user, pk)
    try:
        issued = services.issue(
            application, kind, actor=request.user, base_url=request.build_absolute_uri("/")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return send_file(issued.file, documents.filename(application, kind))


def _form_bytes(form) -> bytes:
    try:
        return fundform_services.form_file(form)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@permission("portal:space:view")
def fund_form_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The enterprise's own signed fund approval form."""
    form = selectors.own_fund_form(request.user, pk)
    name = f"{fundform_rendering.FORM_TITLE}-{form.number}.pdf"
    return send_file(_form_bytes(form), name, PDF)


@permission("portal:space:view")
def fund_form_verification(request: HttpRequest, pk: int) -> HttpResponse:
    """The verification of the stored form: our signature, whole file, SHA-256 as recorded."""
    from policywindow.fundforms.verification import verify  # pyHanko is heavy

    form = selectors.own_fund_form(request.user, pk)
    context = {
        "fundform": form,
        "verdict": verify(_form_bytes(form)),
        "amount_capital": to_chinese_capital(form.approved_amount),
    }
    return render(request, "space/fund_form_verification.html", context)

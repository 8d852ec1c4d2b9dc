"""一口受理: the clerk's queue and the case intake page with 受理 / 补正告知 / 不予受理, and the
notices the clerk prints and hands over (受理通知书, 补正告知书, 不予受理决定书, 回执)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from policywindow.core.files import send_file
from policywindow.core.forms import BootstrapFormMixin
from policywindow.space import documents
from policywindow.space import services as space_services

from .. import selectors
from ..forms import ItemSpec
from ..models import Application
from ..models import ApplicationStatus as S
from ..services import intake
from ..services.intake import CheckResult

PAGE_SIZE = 20


class ChecklistForm(BootstrapFormMixin, forms.Form):
    """One completeness check (and comment) per required item, plus the clerk's opinion.

    The same form serves 受理 (all 齐全) and 补正告知 (the items marked 缺失/不符合).
    """

    revision = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label="受理意见 / 补正总体说明",
        required=False,
        max_length=intake.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="受理时作为受理意见；补正时作为告知书的总体说明。",
    )

    def __init__(self, *args: Any, items: list[ItemSpec], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            key, label = item.key, item.label
            self.fields[f"check_{key}"] = forms.ChoiceField(
                label=label, choices=CheckResult.choices, required=False, widget=forms.RadioSelect
            )
            self.fields[f"comment_{key}"] = forms.CharField(
                label=f"{label}说明",
                required=False,
                max_length=intake.MAX_COMMENT,
                widget=forms.Textarea(
                    attrs={
                        "class": "form-control form-control-sm",
                        "rows": 2,
                        "placeholder": "缺失或不符合时写明补正要求",
                    }
                ),
            )

    def sections(
        self, sections: list[selectors.AnswerSection]
    ) -> list[tuple[str, list[tuple[selectors.AnswerRow, forms.BoundField, forms.BoundField]]]]:
        """The filed form's sections, each answer row with its check and comment fields."""
        return [
            (
                section.title,
                [
                    (row, self[f"check_{row.key}"], self[f"comment_{row.key}"])
                    for row in section.rows
                ],
            )
            for section in sections
        ]

    def checklist(self) -> list[dict[str, str]]:
        data = self.cleaned_data
        return [
            {
                "key": item.key,
                "result": data[f"check_{item.key}"],
                "comment": data[f"comment_{item.key}"],
            }
            for item in self.items
            if data[f"check_{item.key}"]
        ]

    def items_to_fix(self) -> list[dict[str, str]]:
        return [
            {"key": check["key"], "comment": check["comment"]}
            for check in self.checklist()
            if check["result"] != CheckResult.COMPLETE
        ]

    def add_service_error(self, error: ValidationFailed) -> None:
        """The service's message on top, its ``checklist.<key>`` / ``items.<key>`` details on
        their rows."""
        self.add_error(None, error.message)
        for name, errors in error.details.items():
            prefix, _, key = name.partition(".")
            field = {"checklist": f"check_{key}", "items": f"comment_{key}"}.get(prefix, name)
            for message in errors:
                self.add_error(field if field in self.fields else None, message)


class RefuseForm(BootstrapFormMixin, forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="不予受理理由",
        max_length=intake.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写不予受理的理由"},
        help_text="理由将告知申报企业。",
    )


@permission("window:intake:list")
def intake_queue(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.intake_queue(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "applications/intake_queue.html", {"page": page, "querystring": ""})


def _render_case(
    request: HttpRequest,
    application: Application,
    checklist_form: ChecklistForm | None = None,
    refuse_form: RefuseForm | None = None,
) -> HttpResponse:
    checklist_form = checklist_form or ChecklistForm(
        items=selectors.form_items(application), initial={"revision": application.revision}
    )
    sections = selectors.answer_sections(application)
    context = {
        "app": application,
        "sections": sections,
        "check_sections": checklist_form.sections(sections),
        "eligibility": selectors.eligibility_of(application),
        "timeline": selectors.timeline(application),
        "notices": selectors.supplement_notices(application),
        "due_date": selectors.due_date(application),
        "deadline": selectors.deadline_marks([application]).get(application.pk),
        "amount": selectors.money_text(application.requested_amount),
        "actionable": application.status == S.SUBMITTED,
        "checklist_form": checklist_form,
        "refuse_form": refuse_form or RefuseForm(initial={"revision": application.revision}),
        "refuse_open": refuse_form is not None,
        "documents": documents.due_documents(application),
    }
    return render(request, "applications/intake_case.html", context)


@permission("window:intake:list")
def intake_case(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_case(request, selectors.staff_case(request.user, pk))


def _decide(
    request: HttpRequest,
    application: Application,
    form: ChecklistForm | RefuseForm,
    act: Callable[[], Application],
    done: str,
) -> HttpResponse:
    """Run one intake decision; a stale page goes back to the fresh case with the reason."""
    if form.is_valid():
        try:
            act()
        except ValidationFailed as exc:
            if isinstance(form, ChecklistForm):
                form.add_service_error(exc)
            else:
                form.add_domain_error(exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("applications:intake_case", application.pk)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            # Back to the case, where the clerk prints the notice to hand over (受理通知书 …).
            messages.success(request, done)
            return redirect("applications:intake_case", application.pk)
    if isinstance(form, RefuseForm):
        return _render_case(request, application, refuse_form=form)
    return _render_case(request, application, checklist_form=form)


@require_POST
@permission("window:intake:accept")
def intake_accept(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.staff_case(request.user, pk)
    form = ChecklistForm(request.POST, items=selectors.form_items(application))
    return _decide(
        request,
        application,
        form,
        lambda: intake.accept(
            request.user,
            application,
            form.checklist(),
            form.cleaned_data["note"],
            expected_revision=form.cleaned_data["revision"],
        ),
        f"已受理申报 {application.number}，进入审核",
    )


@require_POST
@permission("window:intake:supplement")
def intake_supplement(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.staff_case(request.user, pk)
    form = ChecklistForm(request.POST, items=selectors.form_items(application))
    return _decide(
        request,
        application,
        form,
        lambda: intake.request_supplement(
            request.user,
            application,
            form.items_to_fix(),
            form.cleaned_data["note"],
            expected_revision=form.cleaned_data["revision"],
        ),
        f"已向企业一次性告知申报 {application.number} 需补正的全部事项",
    )


@require_POST
@permission("window:intake:refuse")
def intake_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    application = selectors.staff_case(request.user, pk)
    form = RefuseForm(request.POST)
    return _decide(
        request,
        application,
        form,
        lambda: intake.refuse(
            request.user,
            application,
            form.cleaned_data["reason"],
            expected_revision=form.cleaned_data["revision"],
        ),
        f"申报 {application.number} 已不予受理",
    )


@permission("window:intake:list")
def intake_document(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """A receipt or notice of the case opened for printing: issued once, then the very file the
    enterprise downloads from its space (same number, same SHA-256)."""
    application = selectors.staff_case(request.user, pk)
    try:
        issued = space_services.issue(
            application, kind, actor=request.user, base_url=request.build_absolute_uri("/")
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    name = documents.filename(application, kind)
    return send_file(issued.file, name, "application/pdf", inline=True)


urlpatterns = [
    path("window/intake/", intake_queue, name="intake_queue"),
    path("window/intake/<int:pk>/", intake_case, name="intake_case"),
    path("window/intake/<int:pk>/accept/", intake_accept, name="intake_accept"),
    path("window/intake/<int:pk>/supplement/", intake_supplement, name="intake_supplement"),
    path("window/intake/<int:pk>/refuse/", intake_refuse, name="intake_refuse"),
    path("window/intake/<int:pk>/documents/<str:kind>/", intake_document, name="intake_document"),
]

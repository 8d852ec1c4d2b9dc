"""审批流程配置: the rules with their workflow state, and the level editor of one workflow: a
rule's, or a subject type's own (``services.designer.Owner``; e.g. the reform progress reports').

The editor runs in the browser (``static/workflow/designer.js``) on the spec as JSON; it posts
the spec to the preview URL on every change for the live diagram and the problem list, and to
the editor's URL to save the draft. A rule's workflow: viewing needs ``policy:workflow:list``;
saving and copying ``policy:workflow:update``; publishing ``policy:workflow:publish``. A subject
type's: the three ``design_permissions`` of its subject, checked inside (the URL names the type).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from policywindow.core import inputs
from policywindow.core.access import authenticated, permission, require_permission
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.models import Rule
from policywindow.policies.selectors import rules_for, with_heads
from policywindow.policies.views.paging import list_context

from .. import selectors_designer as selectors
from .. import spec as specs
from ..definition import DefinitionError
from ..models import WorkflowDefinition
from ..services import designer as services

LIST = "policy:workflow:list"
UPDATE = "policy:workflow:update"
PUBLISH = "policy:workflow:publish"


@dataclass(frozen=True)
class Owner:
    """Whose workflow the editor draws, and what its page says and where it posts."""

    key: services.Owner  # what the designer services take
    heading: str
    code: str  # a rule's code, shown before its title; empty for a subject type
    name: str
    cases: str  # what its cases are called in sentences ("申报")
    page_url: str
    preview_url: str
    publish_url: str
    permissions: tuple[str, str, str]  # list, update, publish
    list_url: str = ""  # the list it is chosen from (rules)
    copy_url: str = ""  # only rules copy each other's workflows

    @property
    def rule(self) -> Rule | None:
        return self.key if isinstance(self.key, Rule) else None


def _rule_owner(rule: Rule) -> Owner:
    return Owner(
        key=rule,
        heading="绘制工作流",
        code=rule.code,
        name=selectors.rule_title(rule),
        cases=selectors.cases_called(rule),
        page_url=reverse("workflow:designer", args=[rule.pk]),
        preview_url=reverse("workflow:designer_preview", args=[rule.pk]),
        publish_url=reverse("workflow:designer_publish", args=[rule.pk]),
        permissions=(LIST, UPDATE, PUBLISH),
        list_url=reverse("workflow:designer_list"),
        copy_url=reverse("workflow:designer_copy", args=[rule.pk]),
    )


def _type_owner(request: HttpRequest, subject_type: str, need: int) -> Owner:
    """The subject type's own workflow; 404 for a type without one, 403 without its
    ``design_permissions[need]`` (0 list, 1 update, 2 publish)."""
    try:
        subject = services.subject_of(subject_type)
    except ValidationFailed as exc:
        raise Http404(exc.message) from exc
    require_permission(request.user, subject.design_permissions[need])
    return Owner(
        key=subject.type,
        heading="审批流程配置",
        code="",
        name=subject.label,
        cases=selectors.cases_called(subject.type),
        page_url=reverse("workflow:type_designer", args=[subject.type]),
        preview_url=reverse("workflow:type_designer_preview", args=[subject.type]),
        publish_url=reverse("workflow:type_designer_publish", args=[subject.type]),
        permissions=subject.design_permissions,
    )


# --------------------------------------------------------------------------- rules
@permission(LIST)
def designer_list(request: HttpRequest) -> HttpResponse:
    rules = selectors.rules_with_workflows(
        request.user, q=request.GET.get("q", ""), state=request.GET.get("state", "")
    )
    context = list_context(request, rules, extra={"states": selectors.STATES})
    context["rules"] = with_heads(context["page"])
    return render(request, "workflow/designer_list.html", context)


def _visible_rule(request: HttpRequest, pk: int) -> Rule:
    return get_object_or_404(rules_for(request.user), pk=pk)


@permission(LIST)
def designer(request: HttpRequest, rule_pk: int) -> HttpResponse:
    """The editor; a POST saves what was drawn as the draft (needs the update permission)."""
    return _editor(request, _rule_owner(_visible_rule(request, rule_pk)))


@require_POST
@permission(UPDATE)
def designer_preview(request: HttpRequest, rule_pk: int) -> HttpResponse:
    return _preview(request, _rule_owner(_visible_rule(request, rule_pk)))


@require_POST
@permission(PUBLISH)
def designer_publish(request: HttpRequest, rule_pk: int) -> HttpResponse:
    return _publish(request, _rule_owner(_visible_rule(request, rule_pk)))


@require_POST
@permission(UPDATE)
def designer_copy(request: HttpRequest, rule_pk: int) -> HttpResponse:
    rule = _visible_rule(request, rule_pk)
    source_pk = request.POST.get("source", "")
    source = rules_for(request.user).filter(pk=source_pk).first() if source_pk.isdigit() else None
    if source is None:
        messages.error(request, "请选择要复制的细则")
        return redirect("workflow:designer", rule.pk)
    try:
        draft = services.copy_from(request.user, rule, source)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"已将细则 {source.code} 的工作流复制为本细则的草稿（第 {draft.version} 版）"
        )
    return redirect("workflow:designer", rule.pk)


# --------------------------------------------------------------------------- subject types
@authenticated
def type_designer(request: HttpRequest, subject_type: str) -> HttpResponse:
    """The editor of a subject type's own workflow; a POST saves the draft."""
    owner = _type_owner(request, subject_type, 0)
    return _editor(request, owner)


@require_POST
@authenticated
def type_designer_preview(request: HttpRequest, subject_type: str) -> HttpResponse:
    return _preview(request, _type_owner(request, subject_type, 1))


@require_POST
@authenticated
def type_designer_publish(request: HttpRequest, subject_type: str) -> HttpResponse:
    return _publish(request, _type_owner(request, subject_type, 2))


# --------------------------------------------------------------------------- either owner
def _editor(request: HttpRequest, owner: Owner) -> HttpResponse:
    if request.method != "POST":
        return _render(request, owner)
    require_permission(request.user, owner.permissions[1])
    try:
        data = inputs.loads_checked(request.POST.get("spec", ""))
    except (ValueError, RecursionError):
        return _render(request, owner, error="工作流数据无法读取，请刷新页面后重试")
    try:
        draft = services.save_draft(request.user, owner.key, data, request.POST.get("note", ""))
    except ValidationFailed as exc:
        return _render(request, owner, error=exc.message, drawn=data)
    messages.success(request, f"已保存工作流草稿（第 {draft.version} 版）")
    return redirect(owner.page_url)


def _preview(request: HttpRequest, owner: Owner) -> HttpResponse:
    preview = selectors.preview(request.POST.get("spec", ""), owner.key)
    return render(request, "workflow/designer_preview.html", {"preview": preview})


def _publish(request: HttpRequest, owner: Owner) -> HttpResponse:
    try:
        published = services.publish(request.user, owner.key)
    except ValidationFailed as exc:
        problems = exc.details.get("problems") or [exc.message]
        return _render(request, owner, error=exc.message, publish_problems=problems)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"已发布工作流第 {published.version} 版：此后受理的{owner.cases}按此版本审批，"
            f"审批中的{owner.cases}仍按原版本办理",
        )
    return redirect(owner.page_url)


def _render(
    request: HttpRequest,
    owner: Owner,
    *,
    error: str = "",
    drawn: Any = None,
    publish_problems: list[str] | None = None,
) -> HttpResponse:
    """The editor page; ``drawn`` is a refused drawing, shown again so nothing is lost."""
    history = selectors.versions(owner.key)
    draft = _first(history, WorkflowDefinition.Status.DRAFT)
    published = _first(history, WorkflowDefinition.Status.PUBLISHED)
    shown = draft or published
    editing = drawn if drawn is not None else (shown.spec if shown else None)
    spec_data = editing if _looks_like_spec(editing) else {"levels": []}
    can_update = request.user.has_permission_code(owner.permissions[1])
    context = {
        "owner": owner,
        "draft": draft,
        "published": published,
        "history": history,
        "published_svg": _published_svg(published),
        "preview": selectors.preview(json.dumps(spec_data), owner.key),
        "editor": {
            "spec": spec_data,
            "choices": selectors.editor_choices(),
            "unsaved": drawn is not None,
        },
        "fact_groups": selectors.condition_fact_groups(owner.key),
        "copy_sources": (
            selectors.copy_sources(request.user, owner.rule)
            if owner.copy_url and can_update
            else []
        ),
        "can_update": can_update,
        "can_publish": request.user.has_permission_code(owner.permissions[2]),
        "error": error,
        "publish_problems": publish_problems or [],
    }
    return render(request, "workflow/designer.html", context)


def _first(history: list[WorkflowDefinition], status: str) -> WorkflowDefinition | None:
    return next((row for row in history if row.status == status), None)


def _looks_like_spec(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("levels"), list)


def _published_svg(published: WorkflowDefinition | None) -> Any:
    if published is None:
        return None
    try:
        return selectors.diagram(specs.parse(published.spec))
    except DefinitionError:
        return None


urlpatterns = [
    path("policy/workflows/", designer_list, name="designer_list"),
    path("policy/workflows/<int:rule_pk>/", designer, name="designer"),
    path("policy/workflows/<int:rule_pk>/preview/", designer_preview, name="designer_preview"),
    path("policy/workflows/<int:rule_pk>/publish/", designer_publish, name="designer_publish"),
    path("policy/workflows/<int:rule_pk>/copy/", designer_copy, name="designer_copy"),
    path("workflow/designer/types/<str:subject_type>/", type_designer, name="type_designer"),
    path(
        "workflow/designer/types/<str:subject_type>/preview/",
        type_designer_preview,
        name="type_designer_preview",
    ),
    path(
        "workflow/designer/types/<str:subject_type>/publish/",
        type_designer_publish,
        name="type_designer_publish",
    ),
]

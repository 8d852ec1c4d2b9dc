"""审批流程配置: the rules with their workflow state, and the level editor of one rule's workflow.

The editor runs in the browser (``static/workflow/designer.js``) on the spec as JSON; it posts
the spec to ``designer_preview`` on every change for the live diagram and the problem list, and
to ``designer`` to save the draft. Viewing needs ``policy:workflow:list``; saving and copying
``policy:workflow:update``; publishing ``policy:workflow:publish``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core import inputs
from policywindow.core.access import permission
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.models import Rule
from policywindow.policies.selectors import rules_for, with_heads
from policywindow.policies.views.paging import list_context

from .. import selectors_designer as selectors
from .. import spec as specs
from ..definition import DefinitionError
from ..models import WorkflowDefinition
from ..services import designer as services

UPDATE = "policy:workflow:update"
PUBLISH = "policy:workflow:publish"


@permission("policy:workflow:list")
def designer_list(request: HttpRequest) -> HttpResponse:
    rules = selectors.rules_with_workflows(
        request.user, q=request.GET.get("q", ""), state=request.GET.get("state", "")
    )
    context = list_context(request, rules, extra={"states": selectors.STATES})
    context["rules"] = with_heads(context["page"])
    return render(request, "workflow/designer_list.html", context)


def _visible_rule(request: HttpRequest, pk: int) -> Rule:
    return get_object_or_404(rules_for(request.user), pk=pk)


@permission("policy:workflow:list")
def designer(request: HttpRequest, rule_pk: int) -> HttpResponse:
    """The editor; a POST saves what was drawn as the draft (needs the update permission)."""
    rule = _visible_rule(request, rule_pk)
    if request.method != "POST":
        return _render(request, rule)
    if not request.user.has_permission_code(UPDATE):
        raise PermissionDenied(f"保存工作流需要权限 {UPDATE}")
    try:
        data = inputs.loads_checked(request.POST.get("spec", ""))
    except (ValueError, RecursionError):
        return _render(request, rule, error="工作流数据无法读取，请刷新页面后重试")
    try:
        draft = services.save_draft(request.user, rule, data, request.POST.get("note", ""))
    except ValidationFailed as exc:
        return _render(request, rule, error=exc.message, drawn=data)
    messages.success(request, f"已保存工作流草稿（第 {draft.version} 版）")
    return redirect("workflow:designer", rule.pk)


@require_POST
@permission(UPDATE)
def designer_preview(request: HttpRequest, rule_pk: int) -> HttpResponse:
    rule = _visible_rule(request, rule_pk)
    preview = selectors.preview(request.POST.get("spec", ""), rule)
    return render(request, "workflow/designer_preview.html", {"preview": preview})


@require_POST
@permission(PUBLISH)
def designer_publish(request: HttpRequest, rule_pk: int) -> HttpResponse:
    rule = _visible_rule(request, rule_pk)
    try:
        published = services.publish(request.user, rule)
    except ValidationFailed as exc:
        problems = exc.details.get("problems") or [exc.message]
        return _render(request, rule, error=exc.message, publish_problems=problems)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"已发布工作流第 {published.version} 版：此后受理的申报按此版本审批，"
            "审批中的申报仍按原版本办理",
        )
    return redirect("workflow:designer", rule.pk)


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


# --------------------------------------------------------------------------- rendering
def _render(
    request: HttpRequest,
    rule: Rule,
    *,
    error: str = "",
    drawn: Any = None,
    publish_problems: list[str] | None = None,
) -> HttpResponse:
    """The editor page; ``drawn`` is a refused drawing, shown again so nothing is lost."""
    history = selectors.versions(rule)
    draft = _first(history, WorkflowDefinition.Status.DRAFT)
    published = _first(history, WorkflowDefinition.Status.PUBLISHED)
    shown = draft or published
    editing = drawn if drawn is not None else (shown.spec if shown else None)
    spec_data = editing if _looks_like_spec(editing) else {"levels": []}
    context = {
        "rule": rule,
        "title": selectors.rule_title(rule),
        "draft": draft,
        "published": published,
        "history": history,
        "published_svg": _published_svg(published),
        "preview": selectors.preview(json.dumps(spec_data), rule),
        "editor": {
            "spec": spec_data,
            "choices": selectors.editor_choices(),
            "unsaved": drawn is not None,
        },
        "fact_groups": selectors.condition_fact_groups(rule),
        "copy_sources": selectors.copy_sources(request.user, rule),
        "can_update": request.user.has_permission_code(UPDATE),
        "can_publish": request.user.has_permission_code(PUBLISH),
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
]

"""细则管理: rules, their versions (edit the draft, publish, new version, history) and items."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed

from .. import engine, files, selectors, services
from ..forms import RequiredItemForm, RuleCreateForm, RuleVersionForm, item_initial
from ..models import RequiredItem, Rule, RuleVersion
from .paging import list_context

RULE_STATES = [("published", "已发布"), ("unpublished", "未发布"), ("draft", "有草稿版本")]


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@permission("policy:rule:list")
def rule_list(request):
    params = request.GET
    visible = selectors.rules_for(request.user)
    rules = selectors.search_rules(
        visible,
        q=params.get("q", ""),
        policy_id=_int_or_none(params.get("policy")),
        state=params.get("state", ""),
    )
    context = list_context(
        request,
        rules,
        extra={
            "policies": selectors.policies_for(request.user).order_by("-id"),
            "states": RULE_STATES,
        },
    )
    context["rules"] = selectors.with_heads(context["page"])
    return render(request, "policies/rule_list.html", context)


@permission("policy:rule:create")
def rule_create(request):
    initial = {"policy": _int_or_none(request.GET.get("policy"))}
    form = RuleCreateForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        policy = data.pop("policy")
        try:
            rule = services.create_rule(request.user, policy, **data)
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已新增细则 {rule.code}，请继续添加要件项后发布")
            return redirect("policies:rule_detail", rule.pk)
    context = {"form": form, "attributes": selectors.available_attributes(None)}
    return render(request, "policies/rule_create.html", context)


def _visible_rule(request, pk: int) -> Rule:
    return get_object_or_404(selectors.rules_for(request.user), pk=pk)


def _visible_version(request, pk: int) -> RuleVersion:
    return get_object_or_404(selectors.versions_for(request.user), pk=pk)


def _visible_item(request, pk: int) -> RequiredItem:
    return get_object_or_404(selectors.items_for(request.user), pk=pk)


@permission("policy:rule:list")
def rule_detail(request, pk: int):
    rule = _visible_rule(request, pk)
    version = selectors.version_of(rule, _int_or_none(request.GET.get("v")))
    context = {
        "rule": rule,
        "version": version,
        "items": list(version.items.all()),
        "versions": list(rule.versions.order_by("-version")),
        "has_draft": rule.versions.filter(status=RuleVersion.Status.DRAFT).exists(),
        "window": selectors.application_window(version),
        "public": selectors.published_rules().filter(pk=rule.pk).exists(),
        "conditions": selectors.condition_lines(version),
        "editable": version.status == RuleVersion.Status.DRAFT,
        "fact_labels": engine.fact_labels(),
    }
    return render(request, "policies/rule_detail.html", context)


@permission("policy:rule:list")
def rule_history(request, pk: int):
    rule = _visible_rule(request, pk)
    context = {"rule": rule, "entries": selectors.version_history(rule)}
    return render(request, "policies/rule_history.html", context)


def _frozen(request, version: RuleVersion):
    """Pages that edit a version answer a frozen one with the way forward."""
    messages.error(
        request,
        f"第 {version.version} 版{version.get_status_display()}，不能修改；请使用“创建新版本”",
    )
    return redirect("policies:rule_detail", version.rule_id)


@permission("policy:rule:update")
def version_update(request, pk: int):
    version = _visible_version(request, pk)
    if version.status != RuleVersion.Status.DRAFT:
        return _frozen(request, version)
    form = RuleVersionForm(request.POST or None, instance=version)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_version(request.user, version, **form.cleaned_data)
        except DomainError as exc:
            if not isinstance(exc, ValidationFailed):
                return _frozen(request, version)
            form.add_domain_error(exc)
        else:
            messages.success(request, f"已保存第 {version.version} 版")
            return redirect("policies:rule_detail", version.rule_id)
    context = {
        "form": form,
        "version": version,
        "rule": version.rule,
        "attributes": selectors.available_attributes(version),
        "item_labels": selectors.item_labels(version),
    }
    return render(request, "policies/version_form.html", context)


@require_POST
@permission("policy:rule:publish")
def version_publish(request, pk: int):
    version = _visible_version(request, pk)
    try:
        services.publish_version(request.user, version)
    except ValidationFailed as exc:
        problems = [m for ms in exc.details.values() for m in ms] or [exc.message]
        messages.error(request, f"{exc.message}：{'；'.join(problems)}")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已发布第 {version.version} 版，企业现在可以申报")
    return redirect("policies:rule_detail", version.rule_id)


@require_POST
@permission("policy:rule:update")
def rule_new_version(request, pk: int):
    rule = _visible_rule(request, pk)
    try:
        version = services.create_new_version(request.user, rule)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("policies:rule_detail", rule.pk)
    messages.success(request, f"已创建第 {version.version} 版草稿，修改后发布即可替代现行版本")
    return redirect("policies:rule_detail", rule.pk)


def _item_page(request, version: RuleVersion, form: RequiredItemForm, item=None):
    context = {"form": form, "version": version, "rule": version.rule, "item": item}
    return render(request, "policies/item_form.html", context)


@permission("policy:rule:update")
def item_create(request, pk: int):
    version = _visible_version(request, pk)
    if version.status != RuleVersion.Status.DRAFT:
        return _frozen(request, version)
    form = RequiredItemForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.add_item(
                request.user,
                version,
                template=form.cleaned_data["template"],
                **form.service_fields(),
            )
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError:
            return _frozen(request, version)
        else:
            messages.success(request, f"已添加要件项“{item.label}”")
            return redirect("policies:rule_detail", version.rule_id)
    return _item_page(request, version, form)


@permission("policy:rule:update")
def item_update(request, pk: int):
    item = _visible_item(request, pk)
    version = item.rule_version
    if version.status != RuleVersion.Status.DRAFT:
        return _frozen(request, version)
    form = RequiredItemForm(request.POST or None, request.FILES or None, initial=item_initial(item))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_item(
                request.user,
                item,
                template=form.cleaned_data["template"],
                clear_template=form.cleaned_data["clear_template"],
                **form.service_fields(),
            )
        except ValidationFailed as exc:
            form.add_domain_error(exc)
        except DomainError:
            return _frozen(request, version)
        else:
            messages.success(request, f"已保存要件项“{form.cleaned_data['label']}”")
            return redirect("policies:rule_detail", version.rule_id)
    return _item_page(request, version, form, item)


def _item_action(request, pk: int, action, *args):
    item = _visible_item(request, pk)
    try:
        action(request.user, item, *args)
    except DomainError as exc:
        messages.error(request, exc.message)
    return item


@require_POST
@permission("policy:rule:update")
def item_delete(request, pk: int):
    item = _item_action(request, pk, services.remove_item)
    if not RequiredItem.objects.filter(pk=item.pk).exists():
        messages.success(request, f"已删除要件项“{item.label}”")
    return redirect("policies:rule_detail", item.rule_version.rule_id)


@require_POST
@permission("policy:rule:update")
def item_move(request, pk: int):
    offset = -1 if request.POST.get("direction") == "up" else 1
    item = _item_action(request, pk, services.move_item, offset)
    return redirect("policies:rule_detail", item.rule_version.rule_id)


@permission("policy:rule:list")
def item_template(request, pk: int):
    item = _visible_item(request, pk)
    return files.send_file(item.template_file, item.template_name)


urlpatterns = [
    path("policy/rules/", rule_list, name="rule_list"),
    path("policy/rules/new/", rule_create, name="rule_create"),
    path("policy/rules/<int:pk>/", rule_detail, name="rule_detail"),
    path("policy/rules/<int:pk>/history/", rule_history, name="rule_history"),
    path("policy/rules/<int:pk>/new-version/", rule_new_version, name="rule_new_version"),
    path("policy/versions/<int:pk>/edit/", version_update, name="version_update"),
    path("policy/versions/<int:pk>/publish/", version_publish, name="version_publish"),
    path("policy/versions/<int:pk>/items/new/", item_create, name="item_create"),
    path("policy/items/<int:pk>/edit/", item_update, name="item_update"),
    path("policy/items/<int:pk>/delete/", item_delete, name="item_delete"),
    path("policy/items/<int:pk>/move/", item_move, name="item_move"),
    path("policy/items/<int:pk>/template/", item_template, name="item_template"),
]

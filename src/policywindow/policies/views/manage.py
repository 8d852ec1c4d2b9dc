"""政策管理: list with search and filters; create, edit, publish, withdraw, expire; attachments."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core.access import permission
from policywindow.core.errors import DomainError, ValidationFailed

from .. import files, selectors, services
from ..forms import AttachmentForm, PolicyForm, WithdrawForm, policy_initial
from ..models import Policy
from .paging import list_context


@permission("policy:policy:list")
def policy_list(request):
    params = request.GET
    policies = selectors.search_policies(
        selectors.policies_for(request.user),
        q=params.get("q", ""),
        status=params.get("status", ""),
        theme=params.get("theme", ""),
    ).prefetch_related("rules")
    context = list_context(
        request,
        policies,
        extra={
            "statuses": Policy.Status.choices,
            "themes": selectors.theme_choices(),
            "theme_labels": selectors.theme_labels(),
        },
    )
    return render(request, "policies/policy_list.html", context)


def _visible_policy(request, pk: int) -> Policy:
    return get_object_or_404(selectors.policies_for(request.user), pk=pk)


def _save_policy_form(request, form: PolicyForm, policy: Policy | None):
    data = form.cleaned_data
    try:
        if policy is None:
            policy = services.create_policy(request.user, **data)
        else:
            policy = services.update_policy(request.user, policy, **data)
    except ValidationFailed as exc:
        form.add_domain_error(exc)
        return None
    messages.success(request, f"已保存政策“{policy.title}”")
    return redirect("policies:policy_detail", policy.pk)


@permission("policy:policy:create")
def policy_create(request):
    form = PolicyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        response = _save_policy_form(request, form, None)
        if response:
            return response
    return render(request, "policies/policy_form.html", {"form": form, "creating": True})


@permission("policy:policy:update")
def policy_update(request, pk: int):
    policy = _visible_policy(request, pk)
    form = PolicyForm(request.POST or None, user=request.user, initial=policy_initial(policy))
    if request.method == "POST" and form.is_valid():
        response = _save_policy_form(request, form, policy)
        if response:
            return response
    return render(
        request, "policies/policy_form.html", {"form": form, "creating": False, "target": policy}
    )


@permission("policy:policy:list")
def policy_detail(request, pk: int):
    policy = _visible_policy(request, pk)
    context = {
        "policy": policy,
        "rules": selectors.policy_rules(policy),
        "theme_labels": selectors.theme_labels(),
        "withdraw_form": WithdrawForm(),
        "attachment_form": AttachmentForm(),
    }
    return render(request, "policies/policy_detail.html", context)


def _policy_action(request, pk: int, action, done: str, *args):
    """Run ``action(actor, policy, *args)``; ``done`` is the success message with ``{title}``."""
    policy = _visible_policy(request, pk)
    try:
        action(request.user, policy, *args)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(title=policy.title))
    return redirect("policies:policy_detail", policy.pk)


@require_POST
@permission("policy:policy:publish")
def policy_publish(request, pk: int):
    return _policy_action(request, pk, services.publish_policy, "已发布政策“{title}”")


@require_POST
@permission("policy:policy:publish")
def policy_withdraw(request, pk: int):
    reason = request.POST.get("reason", "")
    return _policy_action(request, pk, services.withdraw_policy, "已撤回政策“{title}”", reason)


@require_POST
@permission("policy:policy:publish")
def policy_expire(request, pk: int):
    return _policy_action(request, pk, services.expire_policy, "已将政策“{title}”设为失效")


@require_POST
@permission("policy:policy:update")
def attachment_upload(request, pk: int):
    policy = _visible_policy(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = services.add_attachment(request.user, policy, form.cleaned_data["file"])
        except ValidationFailed as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"已上传附件“{attachment.original_name}”")
    else:
        messages.error(request, form.errors["file"][0])
    return redirect("policies:policy_detail", policy.pk)


@permission("policy:policy:list")
def attachment_download(request, pk: int):
    attachment = get_object_or_404(selectors.attachments_for(request.user), pk=pk)
    return files.send_file(attachment.file, attachment.original_name)


@require_POST
@permission("policy:policy:update")
def attachment_delete(request, pk: int):
    attachment = get_object_or_404(selectors.attachments_for(request.user), pk=pk)
    services.remove_attachment(request.user, attachment)
    messages.success(request, f"已删除附件“{attachment.original_name}”")
    return redirect("policies:policy_detail", attachment.policy_id)


urlpatterns = [
    path("policy/policies/", policy_list, name="policy_list"),
    path("policy/policies/new/", policy_create, name="policy_create"),
    path("policy/policies/<int:pk>/", policy_detail, name="policy_detail"),
    path("policy/policies/<int:pk>/edit/", policy_update, name="policy_update"),
    path("policy/policies/<int:pk>/publish/", policy_publish, name="policy_publish"),
    path("policy/policies/<int:pk>/withdraw/", policy_withdraw, name="policy_withdraw"),
    path("policy/policies/<int:pk>/expire/", policy_expire, name="policy_expire"),
    path("policy/policies/<int:pk>/attachments/", attachment_upload, name="attachment_upload"),
    path("policy/attachments/<int:pk>/", attachment_download, name="attachment_download"),
    path("policy/attachments/<int:pk>/delete/", attachment_delete, name="attachment_delete"),
]

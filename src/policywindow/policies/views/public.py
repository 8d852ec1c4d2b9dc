"""Public pages (no sign-in): the policy library, a policy, a rule's application guide."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path

from policywindow.core.access import public

from .. import files, selectors
from .paging import list_context


@public
def public_list(request):
    params = request.GET
    policies = selectors.search_published_policies(
        q=params.get("q", ""), theme=params.get("theme", "")
    )
    context = list_context(
        request,
        policies,
        extra={"themes": selectors.theme_choices(), "theme_labels": selectors.theme_labels()},
    )
    if params.get("q", "").strip():
        context["matching_rules"] = selectors.search_published_rules(q=params["q"])[:10]
    return render(request, "policies/public_list.html", context)


@public
def public_detail(request, pk: int):
    policy = selectors.public_policy(pk)
    rules = list(selectors.public_rules_of(policy))
    context = {
        "policy": policy,
        "rules": [(rule, selectors.application_window(rule.current)) for rule in rules],
        "attachments": list(policy.attachments.all()),
        "theme_labels": selectors.theme_labels(),
    }
    return render(request, "policies/public_detail.html", context)


@public
def public_rule(request, code: str):
    rule = selectors.rule_by_code(code)
    version = rule.current
    context = {
        "rule": rule,
        "version": version,
        "policy": rule.policy,
        "items": list(version.items.all()),
        "window": selectors.application_window(version),
    }
    return render(request, "policies/public_rule.html", context)


@public
def public_attachment(request, pk: int, attachment_pk: int):
    attachment = selectors.public_attachment(pk, attachment_pk)
    return files.send_file(attachment.file, attachment.original_name)


@public
def public_item_template(request, code: str, item_pk: int):
    item = selectors.public_item(code, item_pk)
    return files.send_file(item.template_file, item.template_name)


urlpatterns = [
    path("policies/", public_list, name="public_list"),
    path("policies/<int:pk>/", public_detail, name="public_detail"),
    path(
        "policies/<int:pk>/attachments/<int:attachment_pk>/",
        public_attachment,
        name="public_attachment",
    ),
    path("policies/rules/<str:code>/", public_rule, name="public_rule"),
    path(
        "policies/rules/<str:code>/items/<int:item_pk>/template/",
        public_item_template,
        name="public_item_template",
    ),
]

"""政策计算器 (the enterprise's own and the public one) and the enterprise's 免申即享 cases."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from policywindow.core import ratelimit
from policywindow.core.access import permission, public
from policywindow.core.errors import DomainError
from policywindow.core.requestctx import client_ip
from policywindow.enterprises.selectors import enterprise_of

from .. import grants, selectors
from ..forms import CalculatorForm, fact_fields, shown_fact, used_facts

PUBLIC_LIMIT = 30
PUBLIC_WINDOW_SECONDS = 600


@permission("portal:calculator:view")
def calculator(request: HttpRequest) -> HttpResponse:
    enterprise = enterprise_of(request.user)
    applied = selectors.applied_this_year(enterprise) if enterprise else {}
    matches = selectors.enterprise_matches(enterprise, applied) if enterprise else []
    context = {
        "enterprise": enterprise,
        "rows": [(m, applied.get(m.rule.pk)) for m in matches],
        "summary": selectors.summary(matches),
        "grants": list(selectors.auto_grants_of(enterprise)[:20]),
    }
    return render(request, "matching/calculator.html", context)


def _over_limit(request: HttpRequest) -> bool:
    key = f"matching:public-calculator:{ratelimit.address_key(client_ip(request))}"
    return ratelimit.over_limit(key, PUBLIC_LIMIT, PUBLIC_WINDOW_SECONDS)


@public
def public_calculator(request: HttpRequest) -> HttpResponse:
    versions = selectors.published_versions()
    facts = fact_fields(used_facts(versions))
    asked = "calculate" in request.GET
    form = CalculatorForm(facts, request.GET if asked else None)
    context = {"form": form, "rows": None, "limited": False}
    if asked and _over_limit(request):
        context["limited"] = True
        minutes = PUBLIC_WINDOW_SECONDS // 60
        context["limit_message"] = (
            f"测算过于频繁：每 {minutes} 分钟最多测算 {PUBLIC_LIMIT} 次，请稍后再试"
        )
        return render(request, "matching/public_calculator.html", context, status=429)
    if asked and form.is_valid():
        matches = selectors.calculate(form.fact_values(), versions)
        context.update(rows=[(m, None) for m in matches], summary=selectors.summary(matches))
    return render(request, "matching/public_calculator.html", context)


@permission("portal:application:list")
def auto_grant(request: HttpRequest, pk: int) -> HttpResponse:
    grant = selectors.auto_grant_of(enterprise_of(request.user), pk)
    used = fact_fields(used_facts([grant.rule_version]))
    proof = [(fact.label, shown_fact(fact, grant.facts.get(fact.name))) for fact in used]
    return render(request, "matching/auto_grant.html", {"grant": grant, "proof": proof})


@require_POST
@permission("portal:apply:create")
def auto_grant_decline(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        grants.decline(request.user, pk, request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "已放弃该免申即享事项，案件已撤回")
    return redirect("matching:auto_grant", pk)


urlpatterns = [
    path("portal/calculator/", calculator, name="calculator"),
    path("policies/calculator/", public_calculator, name="public_calculator"),
    path("portal/auto-grants/<int:pk>/", auto_grant, name="auto_grant"),
    path("portal/auto-grants/<int:pk>/decline/", auto_grant_decline, name="auto_grant_decline"),
]

"""预算管理: budgets per rule and year with what approvals took and what is left."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from policywindow.core.access import permission
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.models import Rule

from .. import selectors
from ..forms import BudgetForm
from ..services import budgets


def _year(raw: str | None) -> int:
    today = timezone.localdate()
    return int(raw) if raw and raw.isdigit() and 2000 <= int(raw) <= 2100 else today.year


@permission("finance:budget:list")
def budget_list(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year"))
    rows = selectors.budgets_of_year(year)
    context = {
        "year": year,
        "years": selectors.budget_years(timezone.localdate()),
        "rows": rows,
        "totals": selectors.totals(rows),
        "missing": selectors.rules_without_budget(year),
        "can_update": request.user.has_permission_code("finance:budget:update"),
    }
    return render(request, "finance/budget_list.html", context)


def _list_url(year: int) -> str:
    return f"{reverse('finance:budget_list')}?year={year}"


@permission("finance:budget:update")
def budget_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = BudgetForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                budget = budgets.create_budget(
                    request.user, data["rule"], data["year"], data["total"], data["note"]
                )
            except ValidationFailed as exc:
                form.add_domain_error(exc)
            else:
                messages.success(
                    request, f"已新增 {budget.year} 年度细则 {budget.rule.code} 的预算"
                )
                return redirect(_list_url(budget.year))
    else:
        form = BudgetForm(initial=_initial(request))
    return render(request, "finance/budget_form.html", {"form": form, "target": None})


def _initial(request: HttpRequest) -> dict:
    """The list's "set a budget" link names the rule and year: start from the rule's own
    declared annual budget (年度预算 on its current version)."""
    initial: dict = {"year": _year(request.GET.get("year"))}
    raw = request.GET.get("rule", "")
    rule = Rule.objects.select_related("current").filter(pk=raw).first() if raw.isdigit() else None
    if rule is not None:
        initial["rule"] = rule.pk
        if rule.current and rule.current.annual_budget is not None:
            initial["total"] = f"{rule.current.annual_budget:.2f}"
    return initial


@permission("finance:budget:update")
def budget_update(request: HttpRequest, pk: int) -> HttpResponse:
    target = selectors.budget(pk)
    if request.method == "POST":
        form = BudgetForm(request.POST, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                budgets.update_budget(request.user, target.pk, data["total"], data["note"])
            except ValidationFailed as exc:
                form.add_domain_error(exc)
            except Conflict as exc:
                messages.error(request, exc.message)
                return redirect("finance:budget_update", target.pk)
            else:
                messages.success(
                    request, f"已修改 {target.year} 年度细则 {target.rule.code} 的预算"
                )
                return redirect(_list_url(target.year))
    else:
        form = BudgetForm(
            editing=True, initial={"total": f"{target.total:.2f}", "note": target.note}
        )
    return render(request, "finance/budget_form.html", {"form": form, "target": target})


urlpatterns = [
    path("finance/budgets/", budget_list, name="budget_list"),
    path("finance/budgets/new/", budget_create, name="budget_create"),
    path("finance/budgets/<int:pk>/edit/", budget_update, name="budget_update"),
]

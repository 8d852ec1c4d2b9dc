"""数据看板: the page (charts and the tables behind them) and its Excel export, both for the
period chosen and the user's data scope. Reads come from ``selectors``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from policywindow.core.access import permission
from policywindow.core.files import send_file
from policywindow.core.paging import querystring

from . import exporting, selectors
from .charts import chart_data
from .figures import FIGURES
from .forms import PeriodForm, quick_periods

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _board(request: HttpRequest) -> tuple[PeriodForm, selectors.Board]:
    form = PeriodForm(request.GET)
    return form, selectors.board(request.user, form.period())


@permission("stats:dashboard:view")
def board(request: HttpRequest) -> HttpResponse:
    form, found = _board(request)
    context = {
        "form": form,
        "board": found,
        "chart": chart_data(found),
        "stages": selectors.STAGES,
        "figures": FIGURES,
        "quick_periods": quick_periods(),
        "querystring": querystring(request),
    }
    return render(request, "dashboard/board.html", context)


@permission("stats:dashboard:export")
def export(request: HttpRequest) -> HttpResponse:
    _form, found = _board(request)
    body = exporting.workbook(found, request.user)
    period = found.period
    name = f"政策兑现数据看板-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    return send_file(body, name, XLSX)


urlpatterns = [
    path("dashboard/", board, name="board"),
    path("dashboard/export/", export, name="export"),
]

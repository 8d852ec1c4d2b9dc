"""Forms shared by the pages that report on a period (办理时效, 数据看板)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from policywindow.core.forms import BootstrapFormMixin

from .selectors import Period


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )


class PeriodForm(BootstrapFormMixin, forms.Form):
    """Two local dates (Asia/Shanghai). Without a start the period begins at ``default_start``
    of its end; dates given backwards are swapped; an invalid date is shown as a field error
    and left out, so the page still answers."""

    start_label = "日期自"
    start = _date_field("日期自")
    end = _date_field("至")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start"].label = self.start_label

    def default_start(self, end: dt.date) -> dt.date:
        raise NotImplementedError

    def period(self, today: dt.date | None = None) -> Period:
        self.is_valid()
        end = self.cleaned_data.get("end") or today or timezone.localdate()
        start = self.cleaned_data.get("start") or self.default_start(end)
        return Period(*sorted((start, end)))


class DecidedPeriodForm(PeriodForm):
    """办理时效: cases decided in the period; the last 30 days by default."""

    start_label = "办结日期自"
    default_days = 30

    def default_start(self, end: dt.date) -> dt.date:
        return end - dt.timedelta(days=self.default_days - 1)

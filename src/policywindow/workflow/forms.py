"""Forms shared by the pages that report on a period (办理时效, 数据看板)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from policywindow.core.forms import BootstrapFormMixin

from .selectors import Period
from .services.runtime import MAX_OPINION


class DecisionFormBase(BootstrapFormMixin, forms.Form):
    """What every decision form on a workflow task asks: the conclusion (choices set by the
    subject's page) and the opinion (required by the runtime, with its own message). Fields
    are named per task (``auto_id``) so several tasks' forms fit on one page."""

    action = forms.ChoiceField(
        label="审批结论",
        widget=forms.RadioSelect,
        error_messages={"required": "请选择审批结论", "invalid_choice": "请选择审批结论"},
    )
    opinion = forms.CharField(
        label="审批意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_OPINION}),
        help_text=f"必填，不超过 {MAX_OPINION} 个字；驳回、退回时请写明理由。",
    )

    def __init__(self, *args: Any, task: Any, choices: list[tuple[str, str]], **kwargs: Any):
        kwargs.setdefault("auto_id", f"t{task.pk}_%s")
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["action"].choices = choices

    def action_label(self) -> str:
        return dict(self.fields["action"].choices)[self.cleaned_data["action"]]


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

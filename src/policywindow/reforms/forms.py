"""Forms of 改革任务督办: they collect and shape input; the services decide."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django import forms
from django.utils import timezone

from policywindow.core.files import accept_attribute
from policywindow.core.forms import BootstrapFormMixin
from policywindow.system.models import Department, Status
from policywindow.workflow.forms import DecisionFormBase
from policywindow.workflow.services import runtime

from .models import DISPLAY_STATUSES, ReportKind, ReportStatus, Scope
from .selectors import FilterChoices, TaskFilters
from .services import reports
from .services.importing import MAX_DAYS, ImportOptions
from .table import MAX_BYTES

FIGURE_ROWS = reports.MAX_FIGURES


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleUploadField(forms.FileField):
    """Any number of uploads; the service checks their number, type and size."""

    def __init__(self, **kwargs: Any) -> None:
        accept = accept_attribute(reports.EVIDENCE_TYPES)
        super().__init__(
            widget=MultipleFileInput(attrs={"accept": accept}), required=False, **kwargs
        )

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        return [f for f in (data if isinstance(data, list | tuple) else [data]) if f]


class ImportForm(BootstrapFormMixin, forms.Form):
    """The table file and, for a programme imported for the first time, its deadlines."""

    file = forms.FileField(
        label="任务分工表文件",
        required=False,
        help_text="制表符分隔的文本文件（.txt / .tsv，UTF-8 或 GBK 编码），不超过 2 MB",
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,.tsv,text/plain"}),
    )
    title = forms.CharField(
        label="专项名称",
        required=False,
        max_length=200,
        help_text="留空则取文件的标题行，如“中国（辽宁）自由贸易试验区第四批改革创新经验任务分工表”",
    )
    bureau = forms.ModelChoiceField(
        label="督办部门",
        queryset=Department.objects.none(),
        help_text="全省推广事项分解到该部门下属的各市部门（如各市营商局）",
        error_messages={"required": "请选择督办部门"},
    )
    issued_on = forms.DateField(
        label="下达日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写下达日期", "invalid": "请填写正确的日期"},
    )
    province_days = forms.IntegerField(
        label="全省推广事项时限（工作日）",
        min_value=1,
        max_value=MAX_DAYS,
        initial=60,
        error_messages={"required": "请填写时限"},
    )
    ftz_days = forms.IntegerField(
        label="自贸试验区事项时限（工作日）",
        min_value=1,
        max_value=MAX_DAYS,
        initial=30,
        error_messages={"required": "请填写时限"},
    )
    # After a preview the checked text travels back with the confirmation, so the file
    # imported is exactly the file previewed.
    content = forms.CharField(required=False, widget=forms.HiddenInput)
    source_name = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bureau"].queryset = Department.objects.filter(
            status=Status.ENABLED, kind=Department.Kind.PROVINCE
        )
        self.fields["bureau"].label_from_instance = lambda d: d.indented_name
        if not self.is_bound:
            self.initial.setdefault("issued_on", timezone.localdate())
            self.initial.setdefault("bureau", _top_department(user))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > MAX_BYTES:
                self.add_error("file", "文件超过 2 MB，请确认上传的是任务分工表文本文件")
                return data
            data["raw"] = upload.read()
            data["source_name"] = upload.name
        elif data.get("content"):
            try:
                data["raw"] = base64.b64decode(data["content"], validate=True)
            except binascii.Error:
                self.add_error("file", "预览内容已损坏，请重新选择文件")
        else:
            self.add_error("file", "请选择要导入的任务分工表文件")
        return data

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            bureau=data["bureau"],
            issued_on=data["issued_on"],
            province_days=data["province_days"],
            ftz_days=data["ftz_days"],
            title=data["title"],
        )


def _top_department(user) -> Department | None:
    """The root of the user's department tree (省营商局 for its 政策兑现处)."""
    department = getattr(user, "department", None)
    if department is None:
        return None
    root_id = department.path.strip("/").split("/")[0] if department.path else department.pk
    return Department.objects.filter(pk=root_id).first()


class TaskFilterForm(forms.Form):
    """The filter bar of the programme view and the task list (GET)."""

    q = forms.CharField(label="关键字", required=False, max_length=50)
    category = forms.ChoiceField(label="领域", required=False)
    department = forms.TypedChoiceField(
        label="负责部门", required=False, coerce=int, empty_value=None
    )
    locality = forms.TypedChoiceField(
        label="落实地区", required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(
        label="任务状态", required=False, choices=[("", "全部状态"), *DISPLAY_STATUSES]
    )
    scope = forms.ChoiceField(
        label="推广范围", required=False, choices=[("", "全部范围"), *Scope.choices]
    )

    def __init__(self, data: Any, *, choices: FilterChoices) -> None:
        super().__init__(data)
        self.fields["category"].choices = [("", "全部领域")] + [(c, c) for c in choices.categories]
        self.fields["department"].choices = [("", "全部负责部门")] + [
            (str(d.pk), d.name) for d in choices.departments
        ]
        self.fields["locality"].choices = [("", "全部地区")] + [
            (str(d.pk), d.short_name or d.name) for d in choices.localities
        ]

    def filters(self) -> TaskFilters:
        """Valid filters only: a stale or hand-made value is dropped, not an error page."""
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return TaskFilters(
            category=data.get("category") or "",
            department=data.get("department"),
            locality=data.get("locality"),
            status=data.get("status") or "",
            scope=data.get("scope") or "",
            q=(data.get("q") or "").strip(),
        )


class ReportForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="报告类型",
        choices=ReportKind.choices,
        widget=forms.RadioSelect,
        initial=ReportKind.PROGRESS,
        help_text="完成报告经审核采纳后，该任务即完成销号。",
        error_messages={"required": "请选择报告类型"},
    )
    percent = forms.IntegerField(
        label="完成进度（%）",
        min_value=0,
        max_value=100,
        error_messages={"required": "请填写完成进度"},
    )
    text = forms.CharField(
        label="进展情况",
        max_length=reports.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="已采取的措施、取得的成效、存在的问题和下一步安排。",
        error_messages={"required": "请填写进展情况"},
    )
    files = MultipleUploadField(
        label="佐证材料",
        help_text=f"PDF、图片、Word 或 Excel，每个不超过 {reports.EVIDENCE_MB} MB，"
        f"每次最多 {reports.MAX_FILES} 个；完成报告须附至少一份。",
    )

    def __init__(self, *args: Any, report=None, **kwargs: Any) -> None:
        if report is not None:
            kwargs.setdefault("initial", _initial_of(report))
        super().__init__(*args, **kwargs)
        for n in range(1, FIGURE_ROWS + 1):
            self.fields[f"figure_name_{n}"] = forms.CharField(
                label=f"指标{n}名称", required=False, max_length=30
            )
            self.fields[f"figure_value_{n}"] = forms.CharField(
                label=f"指标{n}数值", required=False, max_length=20
            )
            self.fields[f"figure_unit_{n}"] = forms.CharField(
                label=f"指标{n}单位", required=False, max_length=10
            )
        for name, field in self.fields.items():
            if name.startswith("figure_"):
                field.widget.attrs["class"] = "form-control form-control-sm"

    def figure_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"figure_name_{n}"], self[f"figure_value_{n}"], self[f"figure_unit_{n}"])
            for n in range(1, FIGURE_ROWS + 1)
        ]

    def report_input(self) -> reports.ReportInput:
        data = self.cleaned_data
        return reports.ReportInput(
            kind=data["kind"],
            text=data["text"],
            percent=data["percent"],
            figures=[
                (data[f"figure_name_{n}"], data[f"figure_value_{n}"], data[f"figure_unit_{n}"])
                for n in range(1, FIGURE_ROWS + 1)
            ],
            files=data["files"],
        )


def _initial_of(report) -> dict[str, Any]:
    initial = {"kind": report.kind, "percent": report.percent, "text": report.text}
    for n, figure in enumerate(report.figures[:FIGURE_ROWS], start=1):
        initial[f"figure_name_{n}"] = figure["name"]
        initial[f"figure_value_{n}"] = figure["value"]
        initial[f"figure_unit_{n}"] = figure.get("unit", "")
    return initial


class ReviewForm(BootstrapFormMixin, forms.Form):
    comment = forms.CharField(
        label="审核意见",
        required=False,
        max_length=reports.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="退回时必填，写明需要修改或补充的内容。",
    )


# 驳回 as the node's drawing settles it: the report is not adopted, or goes back a level or to
# the department for changes.
REJECT_LABELS = {
    "end": "驳回（不予采纳）",
    "previous_level": "驳回（退回上一级）",
    "supplement": "驳回（退回修改）",
}


class ReportDecisionForm(DecisionFormBase):
    """An approver's decision on a report's workflow task: 通过, 退回修改 (back to the department),
    驳回, 退回上一级 (not on the first level), with the opinion."""

    task = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, task, first_level: bool, on_reject: str, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"task": task.pk})
        choices = [
            ("approve", "通过"),
            ("return_supplement", "退回修改"),
            ("reject", REJECT_LABELS[on_reject]),
        ]
        if not first_level:
            choices.append(("return_previous", "退回上一级"))
        super().__init__(*args, task=task, choices=choices, **kwargs)

    def decision(self) -> runtime.Decision:
        return runtime.Decision(self.cleaned_data["action"], self.cleaned_data["opinion"])


REVIEW_TABS: tuple[tuple[str, str], ...] = (
    (ReportStatus.SUBMITTED, "待审核"),
    (ReportStatus.RETURNED, "已退回"),
    (ReportStatus.ACCEPTED, "已采纳"),
    (ReportStatus.REJECTED, "未采纳"),
    ("", "全部"),
)

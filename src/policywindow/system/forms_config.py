"""Forms of the configuration pages: departments, posts, dictionaries, parameters, calendar.

Forms check the shape of each field; uniqueness and tree rules are the
services' (their ``ValidationFailed`` lands on the same fields).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from policywindow.core import holidays
from policywindow.core.errors import ValidationFailed

from .forms import BootstrapFormMixin, DepartmentChoiceField, order_field
from .models import Department, Status, SystemParameter, User

CODE_HELP = "字母、数字、下划线或短横线，最多 32 位"


def submitted(request: HttpRequest, form: forms.Form, save: Callable, *args) -> bool:
    """True once a POSTed, valid form was accepted by ``save(*args, **cleaned_data)``.

    Otherwise the form carries the errors, the service's rule violations included.
    """
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        save(*args, **form.cleaned_data)
    except ValidationFailed as exc:
        form.add_domain_error(exc)
        return False
    return True


def _text(label: str, max_length: int, *, required: bool = True, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        error_messages={
            "required": f"请输入{label}",
            "max_length": f"{label}不能超过 {max_length} 个字符",
        },
        **kwargs,
    )


def _code(label: str, regex: str, rule: str, max_length: int = 32) -> forms.RegexField:
    return forms.RegexField(
        label=label,
        regex=regex,
        max_length=max_length,
        error_messages={
            "required": f"请输入{label}",
            "invalid": f"{label}{rule}",
            "max_length": f"{label}不能超过 {max_length} 个字符",
        },
    )


def _remark() -> forms.CharField:
    return _text("备注", 200, required=False, widget=forms.Textarea(attrs={"rows": 2}))


# ---------------------------------------------------------------- departments


class LeaderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        dept = f" · {obj.department.name}" if obj.department_id else ""
        return f"{obj.real_name}（{obj.username}）{dept}"


def parent_choices(dept: Department | None) -> QuerySet[Department]:
    """Enabled departments (plus the current parent), never the department or its subtree."""
    qs = Department.objects.filter(status=Status.ENABLED)
    if dept is not None and dept.pk:
        qs = Department.objects.filter(Q(status=Status.ENABLED) | Q(pk=dept.parent_id)).exclude(
            path__startswith=dept.path
        )
    return qs.order_by("path")


def leader_choices(dept: Department | None) -> QuerySet[User]:
    """Active government staff (plus the current leader, so an edit never loses them)."""
    current = dept.leader_id if dept is not None else None
    return (
        User.objects.filter(kind=User.Kind.STAFF)
        .filter(Q(is_active=True) | Q(pk=current))
        .select_related("department")
        .order_by("department__path", "real_name")
    )


class DepartmentForm(BootstrapFormMixin, forms.Form):
    parent = DepartmentChoiceField(
        label="上级部门",
        queryset=Department.objects.none(),
        required=False,
        empty_label="无（顶级部门）",
        error_messages={"invalid_choice": "请选择有效的上级部门，不能选择本部门或其下级部门"},
    )
    name = _text("部门名称", 100)
    short_name = _text("简称", 50, required=False)
    code = _code("部门编码", r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "只能包含字母、数字、下划线和短横线")
    kind = forms.ChoiceField(label="类型", choices=Department.Kind.choices)
    region_code = forms.RegexField(
        label="行政区划代码",
        regex=r"^\d{6}$",
        required=False,
        help_text="6 位数字，如 210000（辽宁省）、210100（沈阳市）",
        error_messages={"invalid": "行政区划代码为 6 位数字"},
    )
    leader = LeaderChoiceField(
        label="负责人",
        queryset=User.objects.none(),
        required=False,
        empty_label="未指定",
        error_messages={"invalid_choice": "负责人须为启用的政府工作人员"},
    )
    phone = forms.RegexField(
        label="联系电话",
        regex=r"^[0-9][0-9\- ]{5,30}$",
        max_length=32,
        required=False,
        error_messages={"invalid": "请输入正确的联系电话，如 024-12345678 或 13812345678"},
    )
    email = forms.EmailField(
        label="邮箱", required=False, error_messages={"invalid": "请输入正确的邮箱地址"}
    )
    order = order_field()

    def __init__(self, *args, dept: Department | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = CODE_HELP
        self.fields["parent"].queryset = parent_choices(dept)
        self.fields["leader"].queryset = leader_choices(dept)


# ---------------------------------------------------------------- posts and dictionaries


class PostForm(BootstrapFormMixin, forms.Form):
    code = _code(
        "岗位编码", r"^[A-Za-z][A-Za-z0-9_-]*$", "须以字母开头，只能包含字母、数字、下划线和短横线"
    )
    name = _text("岗位名称", 50)
    order = order_field()
    remark = _remark()


class DictTypeForm(BootstrapFormMixin, forms.Form):
    code = _code(
        "字典类型",
        r"^[a-z][a-z0-9_]*$",
        "须以小写字母开头，只能包含小写字母、数字和下划线",
        max_length=64,
    )
    name = _text("字典名称", 64)
    remark = _remark()

    def __init__(self, *args, builtin: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = "程序按字典类型读取字典，如 enterprise_size"
        if builtin:
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "内置字典的字典类型被程序引用，不能修改"


class DictItemForm(BootstrapFormMixin, forms.Form):
    label = _text("字典标签", 100, help_text="页面上显示的文字，如 “小型”")
    value = _text("字典键值", 100, help_text="保存在数据中的值，如 “small”；同一字典内不能重复")
    order = order_field()
    remark = _remark()


# ---------------------------------------------------------------- parameters and calendar


def _value_field(param: SystemParameter) -> forms.Field:
    label = "参数值"
    if param.value_type == SystemParameter.ValueType.BOOLEAN:
        return forms.ChoiceField(
            label=label,
            choices=[("true", "是"), ("false", "否")],
            error_messages={"required": "请选择“是”或“否”", "invalid_choice": "请选择“是”或“否”"},
        )
    if param.value_type == SystemParameter.ValueType.INTEGER:
        attrs = {"min": param.min_value, "max": param.max_value, "step": 1}
        return forms.CharField(
            label=label,
            error_messages={"required": "请输入参数值"},
            widget=forms.NumberInput(attrs={k: v for k, v in attrs.items() if v is not None}),
        )
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}), strip=False
    )


class ParameterForm(BootstrapFormMixin, forms.Form):
    """One parameter's value; range and type are checked by the service."""

    def __init__(self, *args, param: SystemParameter, **kwargs):
        # The field depends on the parameter's type; set it before the mixin styles the widgets.
        self.base_fields = {"value": _value_field(param)}
        super().__init__(*args, **kwargs)
        self.fields["value"].help_text = param.remark


class CalendarDayForm(BootstrapFormMixin, forms.Form):
    is_working_day = forms.TypedChoiceField(
        label="当天安排",
        choices=[("1", "工作日（上班）"), ("0", "休息日（放假）")],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={
            "required": "请选择工作日或休息日",
            "invalid_choice": "请选择工作日或休息日",
        },
    )
    note = _text(
        "说明",
        64,
        required=False,
        help_text="如：国庆节、国庆节调休上班、临时休假；会显示在日历中",
    )


class CalendarImportForm(forms.Form):
    year = forms.IntegerField(
        label="年份",
        min_value=1900,
        max_value=2100,
        error_messages={
            "required": "请输入年份",
            "invalid": "年份须为 4 位数字",
            "min_value": "年份须为 4 位数字",
            "max_value": "年份须为 4 位数字",
        },
    )


def _load_year(required: bool, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label="年份",
        required=required,
        min_value=2000,
        max_value=2100,
        help_text=help_text,
        error_messages={
            "required": "请输入年份",
            "invalid": "年份须为 4 位数字",
            "min_value": "年份须在 2000—2100 之间",
            "max_value": "年份须在 2000—2100 之间",
        },
    )


class CalendarNoticeForm(BootstrapFormMixin, forms.Form):
    """按年导入 from the State Council's notice pasted as text (core/holidays.py reads it)."""

    prefix = "notice"  # its page holds the template form too: field ids stay unique

    year = _load_year(False, "通知标题（如“关于2027年部分节假日安排的通知”）含年份时可不填")
    text = _text(
        "通知全文",
        20000,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="粘贴国务院办公厅关于某年部分节假日安排的通知，含标题和各项安排；"
        "各项安排中的星期会与日历核对",
    )


class CalendarTableForm(BootstrapFormMixin, forms.Form):
    """按年导入 from the template: Excel (.xlsx) or CSV, one row per holiday or 调休 day."""

    prefix = "table"

    year = _load_year(True, "文件中的日期须都在这一年")
    file = forms.FileField(
        label="导入文件",
        help_text="下载的导入模板（.xlsx），或同样三列的 CSV 文件；不超过 512 KB",
        error_messages={"required": "请选择要导入的文件", "empty": "文件是空的"},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".xlsx", ".csv")):
            raise forms.ValidationError("请上传 .xlsx 或 .csv 文件（可先下载导入模板）")
        limit = holidays.TABLE_LIMITS.max_bytes
        if upload.size > limit:
            raise forms.ValidationError(
                f"文件超过 {limit // 1024} KB，节假日模板不会这么大，请核对文件"
            )
        return upload

"""Forms of the policy library: field-level validation with Chinese messages.

Forms check the shape of the input; the services check the rules (data scope,
expressions, frozen versions) and their ``ValidationFailed`` lands on the same
fields through ``add_domain_error``.
"""

from __future__ import annotations

from typing import Any

from django import forms

from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.money import MoneyField
from policywindow.enterprises.models import Enterprise, Industry, Region
from policywindow.system.forms import DepartmentChoiceField

from . import engine, files, selectors
from .models import Policy, RequiredItem, Rule, RuleVersion

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATE_ERRORS = {"invalid": "请输入正确的日期，格式为 YYYY-MM-DD"}
MONEY_ERRORS = {
    "invalid": "请输入金额数字，单位为元",
    "max_decimal_places": "金额最多保留两位小数",
    "max_digits": "金额过大",
    "max_whole_digits": "金额过大",
}


def _date(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=DATE_WIDGET, error_messages=DATE_ERRORS
    )


class PolicyForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(
        label="政策名称", max_length=200, error_messages={"required": "请输入政策名称"}
    )
    doc_number = forms.CharField(
        label="文号", max_length=100, required=False, help_text="如 辽政办发〔2026〕12号"
    )
    issuing_department = DepartmentChoiceField(
        label="发文部门",
        queryset=None,
        empty_label="请选择发文部门",
        error_messages={"required": "请选择发文部门", "invalid_choice": "请选择有效的部门"},
    )
    theme = forms.ChoiceField(label="政策主题", required=False)
    publish_date = _date("发布日期")
    effective_from = _date("生效日期")
    effective_to = _date("失效日期")
    sizes = forms.MultipleChoiceField(
        label="适用企业规模",
        choices=Enterprise.Size.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="不选表示不限规模",
    )
    industries = forms.ModelMultipleChoiceField(
        label="适用行业",
        queryset=Industry.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="按住 Ctrl 可多选；不选表示不限行业",
    )
    regions = forms.ModelMultipleChoiceField(
        label="适用地区",
        queryset=Region.objects.all(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="按住 Ctrl 可多选；不选表示全省",
    )
    summary = forms.CharField(
        label="政策摘要", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    full_text = forms.CharField(
        label="政策全文",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "form-control font-monospace"}),
        help_text="可直接粘贴纯文本（按行分段），或使用段落、标题、列表、表格、链接等基本 HTML；"
        "脚本、样式等不安全内容会被自动清除。",
    )
    is_demo = forms.BooleanField(label="演示数据（页面上标注“演示数据”）", required=False)

    def __init__(self, *args: Any, user, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["issuing_department"].queryset = selectors.departments_for(user)
        self.fields["theme"].choices = [("", "请选择主题"), *selectors.theme_choices()]


class RuleVersionForm(BootstrapFormMixin, forms.ModelForm):
    """The guide and rule fields of a version (creating a rule adds policy and code)."""

    lead_department = DepartmentChoiceField(
        label="牵头部门",
        queryset=None,
        empty_label="请选择牵头部门",
        error_messages={"required": "请选择牵头部门", "invalid_choice": "请选择有效的部门"},
    )

    class Meta:
        model = RuleVersion
        field_classes = {"per_enterprise_cap": MoneyField, "annual_budget": MoneyField}
        fields = [
            "title",
            "lead_department",
            "review_days",
            "opens_on",
            "closes_on",
            "per_enterprise_cap",
            "annual_budget",
            "exclusion_group",
            "auto_grant",
            "once_per_year",
            "beneficiaries",
            "conditions_text",
            "standard_text",
            "time_limit_text",
            "address",
            "phone",
            "eligibility_expression",
            "amount_formula",
            "change_note",
        ]
        widgets = {
            "opens_on": DATE_WIDGET,
            "closes_on": DATE_WIDGET,
            "beneficiaries": forms.Textarea(attrs={"rows": 2}),
            "conditions_text": forms.Textarea(attrs={"rows": 3}),
            "standard_text": forms.Textarea(attrs={"rows": 3}),
            "eligibility_expression": forms.Textarea(
                attrs={"rows": 5, "class": "form-control font-monospace", "spellcheck": "false"}
            ),
            "amount_formula": forms.Textarea(
                attrs={"rows": 2, "class": "form-control font-monospace", "spellcheck": "false"}
            ),
        }
        help_texts = {
            "eligibility_expression": "每行一个条件，须全部满足；可在行尾用“ # 说明”写明本细则要求的条件，"
            '如：size != "large" # 属于中小微企业。企业不满足时看到“贵企业的企业规模为大型，'
            "不符合本细则条件：属于中小微企业”",
            "amount_formula": "如 min([rd_spend * 0.1, 5000000])；结果按元四舍五入到分，并受单个企业上限约束",
            "exclusion_group": "同一互斥组的细则，同一企业只能享受其一",
            "review_days": "自受理之日起计算的工作日数",
        }
        error_messages = {
            "title": {"required": "请输入细则名称"},
            "review_days": {"required": "请输入审核时限", "invalid": "审核时限须为整数"},
            "opens_on": DATE_ERRORS,
            "closes_on": DATE_ERRORS,
            "per_enterprise_cap": MONEY_ERRORS,
            "annual_budget": MONEY_ERRORS,
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["lead_department"].queryset = selectors.lead_departments()


class RuleCreateForm(RuleVersionForm):
    policy = forms.ModelChoiceField(
        label="所属政策",
        queryset=None,
        empty_label="请选择政策",
        error_messages={"required": "请选择所属政策", "invalid_choice": "请选择有效的政策"},
    )
    code = forms.CharField(
        label="细则编码",
        max_length=32,
        help_text="唯一编码，如 LN-RD-001；发布后用于申报链接",
        error_messages={"required": "请输入细则编码"},
    )

    field_order = ["policy", "code"]

    def __init__(self, *args: Any, user, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["policy"].queryset = selectors.policies_for(user).order_by("-id")
        self.fields["review_days"].initial = selectors.default_review_days()


NUMBER_ERRORS = {
    "invalid": "请输入数字",
    "max_decimal_places": "最多保留两位小数",
    "max_digits": "数值过大",
    "max_whole_digits": "数值过大",
}
INTEGER_ERRORS = {"invalid": "请输入整数"}


class OptionsField(forms.CharField):
    """One option per line -> a list of strings."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> str:
        return "\n".join(value) if isinstance(value, list) else (value or "")

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        return [line.strip() for line in text.splitlines() if line.strip()]


class RequiredItemForm(BootstrapFormMixin, forms.Form):
    label = forms.CharField(
        label="要件名称", max_length=100, error_messages={"required": "请输入要件名称"}
    )
    key = forms.CharField(
        label="字段标识",
        max_length=50,
        help_text="小写字母开头的英文标识，用于表单与条件表达式，如 rd_amount",
        error_messages={"required": "请输入字段标识"},
    )
    kind = forms.ChoiceField(label="类型", choices=RequiredItem.Kind.choices)
    required = forms.BooleanField(label="必填", required=False, initial=True)
    section = forms.CharField(label="分组", max_length=50, required=False, help_text="如 基本信息")
    help_text = forms.CharField(label="填写说明", max_length=300, required=False)
    min_value = forms.DecimalField(label="最小值", required=False, max_digits=16, decimal_places=2)
    max_value = forms.DecimalField(label="最大值", required=False, max_digits=16, decimal_places=2)
    pattern = forms.CharField(
        label="格式（正则）", max_length=200, required=False, help_text=r"如 ^\d{6}$"
    )
    options = OptionsField(label="选项", required=False, help_text="每行一个选项")
    allowed_types = forms.MultipleChoiceField(
        label="允许的文件类型",
        choices=[(t, t) for t in files.FILE_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    max_size_mb = forms.IntegerField(
        label="单个文件上限（MB）", initial=10, required=False, error_messages=INTEGER_ERRORS
    )
    max_files = forms.IntegerField(
        label="文件数量上限", initial=1, required=False, error_messages=INTEGER_ERRORS
    )
    material_code = forms.CharField(
        label="材料类别",
        max_length=50,
        required=False,
        help_text="同类材料可在不同申报间复用，如 business_license",
    )
    prefill_source = forms.ChoiceField(label="预填来源（企业属性）", required=False)
    template = forms.FileField(
        label="模板文件",
        required=False,
        help_text="供企业下载填写的模板，支持 pdf、doc、docx、xls、xlsx，不超过 10 MB",
    )
    clear_template = forms.BooleanField(label="删除现有模板文件", required=False)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        facts = engine.fact_labels()
        self.fields["prefill_source"].choices = [("", "不预填"), *facts.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name, default in (("max_size_mb", 10), ("max_files", 1)):
            if data.get(name) is None:
                data[name] = default
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("template", None)
        data.pop("clear_template", None)
        return data


class WithdrawForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label="撤回原因", max_length=200, error_messages={"required": "请填写撤回原因"}
    )


class AttachmentForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label="附件", error_messages={"required": "请选择要上传的文件"})


def policy_initial(policy: Policy) -> dict[str, Any]:
    return {
        **{name: getattr(policy, name) for name in PolicyForm.base_fields if hasattr(policy, name)},
        "issuing_department": policy.issuing_department_id,
        "industries": list(policy.industries.all()),
        "regions": list(policy.regions.all()),
    }


def item_initial(item: RequiredItem) -> dict[str, Any]:
    return {
        name: getattr(item, name) for name in RequiredItemForm.base_fields if hasattr(item, name)
    }


def rule_filter_field() -> forms.ModelChoiceField:
    """The "政策细则" filter of list pages: every rule by code, empty for all."""
    return forms.ModelChoiceField(
        label="政策细则",
        queryset=Rule.objects.select_related("current").order_by("code"),
        required=False,
        empty_label="全部细则",
        error_messages={"invalid_choice": "所选细则不存在"},
    )

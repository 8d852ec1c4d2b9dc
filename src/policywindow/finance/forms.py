"""Forms of 财政报送. They check shapes (required, lengths); the services check the rules and
their errors are put back on the fields with ``add_domain_error``."""

from __future__ import annotations

from typing import Any

from django import forms

from policywindow.core.errors import ValidationFailed
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.money import MoneyField
from policywindow.policies.models import Rule

from .services import disbursements, objections, publicity, submissions
from .statement import MAX_MB as STATEMENT_MAX_MB
from .statement import check_statement


class BudgetForm(BootstrapFormMixin, forms.Form):
    rule = forms.ModelChoiceField(
        label="政策细则",
        queryset=Rule.objects.filter(current__isnull=False).select_related("current"),
        empty_label="请选择细则",
        error_messages={"required": "请选择细则", "invalid_choice": "所选细则不存在"},
    )
    year = forms.IntegerField(
        label="预算年度",
        min_value=2000,
        max_value=2100,
        error_messages={"required": "请填写年度", "invalid": "请输入正确的年度"},
    )
    total = MoneyField(label="年度预算（元）", error_messages={"required": "请填写预算总额"})
    note = forms.CharField(label="备注", required=False, max_length=200)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].label_from_instance = lambda r: f"{r.code} {r.current.title}"
        if editing:  # the rule and year of a budget never change
            del self.fields["rule"], self.fields["year"]


class PublishForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(
        label="公示名称", max_length=100, error_messages={"required": "请填写公示名称"}
    )
    days = forms.IntegerField(
        label="公示期（工作日）",
        min_value=1,
        max_value=publicity.MAX_DAYS,
        error_messages={
            "required": "请填写公示期",
            "invalid": "请输入整数",
            "min_value": f"公示期为 1 至 {publicity.MAX_DAYS} 个工作日",
            "max_value": f"公示期为 1 至 {publicity.MAX_DAYS} 个工作日",
        },
        help_text="自发布次日起计算，节假日不计入。",
    )


class ObjectionForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label="姓名", max_length=50, error_messages={"required": "请填写姓名"})
    phone = forms.CharField(
        label="联系电话",
        max_length=20,
        error_messages={"required": "请填写联系电话"},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    content = forms.CharField(
        label="异议内容",
        max_length=objections.MAX_CONTENT,
        error_messages={"required": "请填写异议内容"},
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": objections.MAX_CONTENT}),
        help_text="请写明异议的事实和理由，可提供相关线索；恶意捏造事实的须承担相应责任。",
    )

    def as_input(self) -> objections.ObjectionInput:
        data = self.cleaned_data
        return objections.ObjectionInput(data["name"], data["phone"], data["content"])


class ObjectionDecisionForm(BootstrapFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="处理结论",
        choices=[("uphold", "异议成立，退回重新审核"), ("dismiss", "异议不成立")],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择处理结论", "invalid_choice": "请选择处理结论"},
    )
    note = forms.CharField(
        label="处理意见",
        max_length=objections.MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": objections.MAX_NOTE}),
        error_messages={"required": "请填写处理意见"},
        help_text="写明核查情况与理由；将记入办理记录，企业可见。",
    )


class PaymentForm(BootstrapFormMixin, forms.Form):
    amount = MoneyField(
        label="拨付金额（元）",
        error_messages={"required": "请填写拨付金额"},
        help_text="须与经费审批表核定金额一致，足额拨付。",
    )
    paid_on = forms.DateField(
        label="支付日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写支付日期", "invalid": "请填写正确的日期"},
    )
    voucher = forms.CharField(
        label="凭证号",
        max_length=disbursements.MAX_REFERENCE,
        error_messages={"required": "请填写凭证号"},
        help_text="国库集中支付凭证号或银行回单号。",
    )
    bank_reference = forms.CharField(
        label="银行流水号", required=False, max_length=disbursements.MAX_REFERENCE
    )

    def as_payment(self) -> disbursements.Payment:
        data = self.cleaned_data
        return disbursements.Payment(
            data["amount"], data["paid_on"], data["voucher"], data["bank_reference"]
        )


class ReturnForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label="退回原因",
        max_length=submissions.MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": submissions.MAX_REASON}),
        error_messages={"required": "请填写退回原因"},
        help_text="写明需政策兑现处更正的问题；批次内办件退回“公示通过”，更正后可重新报送。",
    )


class StatementForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="拨付回单（Excel）",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
        error_messages={"required": "请选择要导入的 Excel 文件", "empty": "上传的文件是空的"},
        help_text=(
            "国库或银行导出的 .xlsx 文件，须有“审批表编号”或“统一社会信用代码”列，"
            f"以及“金额”“支付日期”“凭证号”列；不超过 {STATEMENT_MAX_MB} MB。"
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_statement(upload)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message) from exc
        return upload

"""Forms of the enterprise registry: parsing and field-level messages in Chinese.

Business rules (credit code, references, size indicators, uniqueness) live in
``services``; these forms only turn text into typed values.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import forms
from django.db.backends.base.operations import BaseDatabaseOperations
from django.forms.models import fields_for_model

from policywindow.core.codes import normalize_uscc, validate_uscc
from policywindow.core.errors import ValidationFailed
from policywindow.core.forms import BootstrapFormMixin
from policywindow.core.inputs import column_range
from policywindow.core.masking import mask_account
from policywindow.core.money import MoneyField
from policywindow.system.models import mobile_validator, username_validator

from .models import (
    CLERK_EDITABLE_FIELDS,
    ENTERPRISE_EDITABLE_FIELDS,
    Enterprise,
    bank_account_validator,
    not_negative,
    phone_validator,
)
from .selectors import cities, industry_choices, industry_sections, region_choices

# How the clerk's form is laid out: (card title, fields).
FORM_SECTIONS = (
    (
        "基本信息",
        (
            "credit_code",
            "name",
            "legal_representative",
            "registered_capital",
            "established_on",
            "industry",
            "region",
            "address",
        ),
    ),
    (
        "联系方式与开户信息",
        ("contact_name", "contact_phone", "contact_email", "bank_name", "bank_account"),
    ),
    (
        "经营数据（用于企业规模划型与政策匹配）",
        ("employees", "revenue", "total_assets", "rd_spend", "export_value"),
    ),
    ("资质认定", ("high_tech", "high_tech_valid_until", "tech_sme", "specialized")),
)
FIELD_RULES = (phone_validator, bank_account_validator, not_negative)
MONEY_FIELDS = ("revenue", "total_assets", "rd_spend", "export_value")
HELP_TEXTS = {
    "credit_code": "18 位，由数字和大写字母组成（不含 I、O、S、V、Z），末位为校验码",
    "industry": "GB/T 4754-2017 国民经济行业分类大类",
    "employees": "期末从业人员数；留空表示未知",
    "revenue": "留空表示未知（不是 0）",
    "total_assets": "留空表示未知（不是 0）",
    "rd_spend": "留空表示未知（不是 0）",
    "export_value": "留空表示未知（不是 0）",
    "high_tech_valid_until": "仅高新技术企业填写",
}


class CompactCharField(forms.CharField):
    """Text whose spaces carry no meaning (account numbers are often typed in groups)."""

    def to_python(self, value: Any) -> str:
        return "".join(super().to_python(value).split())


def _formfield(field, **kwargs) -> forms.Field:
    name = field.name
    if name in ("industry", "region"):
        return forms.CharField(label=field.verbose_name, widget=forms.Select)
    if name == "credit_code":
        # No length limit here: the credit-code check names the exact problem.
        return forms.CharField(label=field.verbose_name, strip=True)
    if name == "bank_account":
        kwargs["form_class"] = CompactCharField
    if field.get_internal_type() == "DateField":
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    if field.get_internal_type() in BaseDatabaseOperations.integer_field_ranges:
        kwargs["max_value"] = column_range(field.get_internal_type())[1]
    if name in MONEY_FIELDS or name == "registered_capital":
        kwargs["form_class"] = MoneyField
        kwargs["widget"] = forms.NumberInput(attrs={"step": "0.01", "min": "0"})
    formfield = field.formfield(**kwargs)
    # The model's own rules (phone, account, not negative) also check at the form,
    # so every field error shows at once.
    formfield.validators += [v for v in field.validators if v in FIELD_RULES]
    return formfield


@cache
def _base_fields(names: tuple[str, ...]) -> dict[str, forms.Field]:
    fields = fields_for_model(Enterprise, fields=names, formfield_callback=_formfield)
    for name, text in HELP_TEXTS.items():
        if name in fields:
            fields[name].help_text = text
    return fields


class EnterpriseForm(BootstrapFormMixin, forms.Form):
    """What a window clerk maintains. ``choices=False`` skips the option lists (imports)."""

    field_names: tuple[str, ...] = CLERK_EDITABLE_FIELDS

    def __init__(
        self,
        *args: Any,
        enterprise: Enterprise | None = None,
        choices: bool = True,
        **kwargs: Any,
    ):
        self.base_fields = _base_fields(self.field_names)
        if enterprise is not None:
            kwargs.setdefault("initial", initial_of(enterprise, self.field_names))
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        if choices:
            self._fill_choices()
        if enterprise is not None and enterprise.bank_account and "bank_account" in self.fields:
            self.fields[
                "bank_account"
            ].help_text = f"当前账号：{mask_account(enterprise.bank_account)}；留空表示不修改"

    def _fill_choices(self) -> None:
        if "industry" in self.fields:
            self.fields["industry"].widget.choices = [("", "请选择行业"), *industry_choices()]
        if "region" in self.fields:
            self.fields["region"].widget.choices = [("", "请选择地区"), *region_choices()]

    def clean_credit_code(self) -> str:
        """Checked here too, so a wrong code shows together with the other field errors."""
        code = normalize_uscc(self.cleaned_data["credit_code"])
        try:
            validate_uscc(code)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.details["credit_code"]) from exc
        return code

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The form's fields in titled groups (only the groups this form has fields of)."""
        groups = []
        for title, names in FORM_SECTIONS:
            fields = [self[name] for name in names if name in self.fields]
            if fields:
                groups.append((title, fields))
        return groups

    def changes(self) -> dict[str, Any]:
        """Cleaned data for the service; an empty bank account on an edit means "unchanged"."""
        data = dict(self.cleaned_data)
        if self.enterprise is not None and not data.get("bank_account"):
            data.pop("bank_account", None)
        return data


class EnterpriseSelfForm(EnterpriseForm):
    """The fields an enterprise user may change about its own enterprise."""

    field_names = ENTERPRISE_EDITABLE_FIELDS


def initial_of(enterprise: Enterprise, names: tuple[str, ...]) -> dict[str, Any]:
    """Form initial values; the bank account is never sent back to the browser."""
    initial = {}
    for name in names:
        if name in ("industry", "region"):
            initial[name] = getattr(enterprise, f"{name}_id")
        elif name != "bank_account":
            initial[name] = getattr(enterprise, name)
    return initial


class EnterpriseFilterForm(forms.Form):
    """The list page's search bar (GET); the labels name the filters in an export."""

    q = forms.CharField(label="关键字", required=False)
    section = forms.ChoiceField(label="行业门类", required=False)
    size = forms.ChoiceField(label="企业规模", required=False)
    city = forms.ChoiceField(label="所在城市", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sections = [(s.code, f"{s.code} {s.name}") for s in industry_sections()]
        self.fields["section"].choices = [("", "全部门类"), *sections]
        self.fields["size"].choices = [("", "全部规模"), *Enterprise.Size.choices]
        self.fields["city"].choices = [("", "全省"), *((c.code, c.name) for c in cities())]

    def filters(self) -> dict[str, str]:
        """The valid filters (an unknown city or size is left out, the others still apply)."""
        self.is_valid()
        return {name: value.strip() for name, value in self.cleaned_data.items() if value}


class LinkMemberForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(
        label="企业用户名", max_length=150, error_messages={"required": "请输入企业用户的用户名"}
    )
    is_admin = forms.BooleanField(label="设为企业管理员", required=False)


class NewMemberForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=30,
        validators=[username_validator],
        error_messages={"required": "请输入用户名"},
    )
    real_name = forms.CharField(
        label="姓名", max_length=50, error_messages={"required": "请输入经办人姓名"}
    )
    mobile = forms.CharField(
        label="手机号码", max_length=11, required=False, validators=[mobile_validator]
    )
    email = forms.EmailField(
        label="邮箱", required=False, error_messages={"invalid": "请输入正确的邮箱地址"}
    )
    is_admin = forms.BooleanField(label="设为企业管理员", required=False)


class ImportForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="Excel 文件",
        help_text="请使用下载的模板（.xlsx）填写，一次最多 2000 行、5 MB",
        error_messages={"required": "请选择要导入的 Excel 文件", "empty": "上传的文件是空的"},
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )

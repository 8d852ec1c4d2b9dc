"""Forms of the system module: field-level validation with Chinese messages."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from policywindow.core.forms import BootstrapFormMixin

from .models import (
    AdminAccountRequest,
    Department,
    Post,
    Role,
    Status,
    User,
    mobile_validator,
    username_validator,
)


class LoginForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(
        label=_("用户名"), max_length=150, error_messages={"required": _("请输入用户名")}
    )
    password = forms.CharField(
        label=_("密码"),
        widget=forms.PasswordInput(render_value=False),
        error_messages={"required": _("请输入密码")},
    )


TOTP_CODE = re.compile(r"^\d{6}$")
RECOVERY_CODE = re.compile(r"^[A-Za-z0-9]{5}-?[A-Za-z0-9]{5}$")


class TotpForm(BootstrapFormMixin, forms.Form):
    """A 6-digit authenticator code; at sign-in also a recovery code (``recovery=True``)."""

    code = forms.CharField(
        label="动态口令",
        max_length=16,
        error_messages={"required": "请输入 6 位动态口令"},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, recovery: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.recovery = recovery
        if recovery:
            field = self.fields["code"]
            field.label = "动态口令或恢复码"
            field.help_text = (
                "手机不在身边时，可输入一个未用过的恢复码（如 abcde-fghjk），每个只能用一次"
            )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if TOTP_CODE.fullmatch(code) or (self.recovery and RECOVERY_CODE.fullmatch(code)):
            return code
        if self.recovery:
            raise forms.ValidationError("动态口令为 6 位数字，恢复码为 10 位字母和数字")
        raise forms.ValidationError("动态口令为 6 位数字")


class PasswordChangeForm(BootstrapFormMixin, forms.Form):
    old_password = forms.CharField(
        label="原密码", widget=forms.PasswordInput, error_messages={"required": "请输入原密码"}
    )
    new_password = forms.CharField(
        label="新密码", widget=forms.PasswordInput, error_messages={"required": "请输入新密码"}
    )
    confirm_password = forms.CharField(
        label="确认新密码",
        widget=forms.PasswordInput,
        error_messages={"required": "请再次输入新密码"},
    )

    def clean(self):
        data = super().clean()
        if (
            data.get("new_password")
            and data.get("confirm_password")
            and data["new_password"] != data["confirm_password"]
        ):
            self.add_error("confirm_password", "两次输入的新密码不一致")
        return data


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.indented_name


class UserForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=30,
        validators=[username_validator],
        error_messages={"required": "请输入用户名"},
    )
    real_name = forms.CharField(
        label="姓名", max_length=50, error_messages={"required": "请输入姓名"}
    )
    kind = forms.ChoiceField(label="用户类型", choices=User.Kind.choices, initial=User.Kind.STAFF)
    department = DepartmentChoiceField(
        label="所属部门",
        queryset=Department.objects.none(),
        required=False,
        empty_label="请选择部门",
    )
    mobile = forms.CharField(
        label="手机号码",
        max_length=11,
        required=False,
        validators=[mobile_validator],
    )
    email = forms.EmailField(
        label="邮箱", required=False, error_messages={"invalid": "请输入正确的邮箱地址"}
    )
    posts = forms.ModelMultipleChoiceField(
        label="岗位",
        queryset=Post.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    password = forms.CharField(
        label="初始密码",
        widget=forms.PasswordInput,
        required=False,
        help_text="至少 8 位，包含大写字母、小写字母、数字、特殊字符中的至少三类；留空则自动生成。用户首次登录须修改密码。",
    )
    remark = forms.CharField(
        label="备注", max_length=200, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        from .selectors import enabled_departments

        self.fields["department"].queryset = enabled_departments()
        self.fields["posts"].queryset = Post.objects.filter(status=Status.ENABLED)
        if editing:
            for name in ("username", "kind", "password"):
                del self.fields[name]


class RoleAssignForm(forms.Form):
    roles = forms.ModelMultipleChoiceField(
        label="角色",
        queryset=Role.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "所选角色不存在、已停用或不能在此分配（三员角色只能由部署命令 "
            "policywindow create-admins 创建的账号持有）"
        },
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        from .selectors import assignable_roles

        self.fields["roles"].queryset = assignable_roles(user.kind)


def order_field() -> forms.IntegerField:
    """显示顺序 with the same limits and messages on every page."""
    return forms.IntegerField(
        label="显示顺序",
        min_value=0,
        max_value=99999,
        initial=0,
        help_text="数字小的排在前面",
        error_messages={
            "required": "请输入显示顺序",
            "invalid": "显示顺序须为整数",
            "min_value": "显示顺序不能小于 0",
            "max_value": "显示顺序不能大于 99999",
        },
    )


class AdminTargetField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj}（{dict(Role.AdminKind.choices)[obj.admin_kind]}）"


class AdminRequestForm(BootstrapFormMixin, forms.Form):
    """双人审批: what one 三员 asks to be done to another's account, and why."""

    target = AdminTargetField(
        label="三员账号",
        queryset=User.objects.none(),
        empty_label="请选择",
        error_messages={
            "required": "请选择三员账号",
            "invalid_choice": "只能为另外两类三员的账号提出申请",
        },
    )
    action = forms.ChoiceField(
        label="申请事项",
        choices=[("", "请选择"), *AdminAccountRequest.Action.choices],
        error_messages={"required": "请选择申请事项", "invalid_choice": "请选择申请事项"},
    )
    reason = forms.CharField(
        label="申请理由",
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写申请理由"},
        help_text="如：本人遗失手机、密码泄露、人员离岗，将记入操作日志",
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        from .services.admin_requests import eligible_targets

        self.fields["target"].queryset = eligible_targets(actor)

"""Forms of 角色管理, 菜单管理 and the two logs (field-level Chinese messages)."""

from __future__ import annotations

from django import forms

from policywindow.core.models import AuditEvent

from .forms import BootstrapFormMixin, order_field
from .models import Department, Menu, Role, Status
from .selectors import enabled_departments
from .selectors_logs import audit_object_types, menu_parent_choices
from .services.rbac import locked_menu_fields

# ---------------------------------------------------------------- roles


class RoleForm(BootstrapFormMixin, forms.Form):
    code = forms.RegexField(
        label="角色编码",
        regex=r"^[a-z][a-z0-9_]{1,31}$",
        max_length=32,
        help_text="2-32 位小写字母、数字、下划线，以字母开头，如 policy_admin",
        error_messages={
            "required": "请输入角色编码",
            "invalid": "角色编码为 2-32 位小写字母、数字、下划线，须以字母开头",
        },
    )
    name = forms.CharField(
        label="角色名称", max_length=50, error_messages={"required": "请输入角色名称"}
    )
    order = order_field()
    status = forms.ChoiceField(label="状态", choices=Status.choices, initial=Status.ENABLED)
    remark = forms.CharField(
        label="备注", max_length=200, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, role: Role | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if role is not None and role.builtin and role.admin_kind:
            for name in ("code", "status"):
                self.fields[name].disabled = True
            self.fields["status"].help_text = "三员角色不能停用，角色编码不能修改"


class DepartmentMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.indented_name


class RoleGrantForm(BootstrapFormMixin, forms.Form):
    menus = forms.ModelMultipleChoiceField(
        label="菜单权限", queryset=Menu.objects.all(), required=False
    )
    data_scope = forms.ChoiceField(
        label="数据范围",
        choices=Role.DataScope.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "请选择数据范围"},
    )
    departments = DepartmentMultipleChoiceField(
        label="指定部门",
        queryset=Department.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 12}),
        help_text="按住 Ctrl（Mac 为 ⌘）可多选",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = enabled_departments()


# ---------------------------------------------------------------- menus


class MenuParentField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Menu) -> str:
        depth = 0 if obj.parent_id is None else 1
        return f"{'　' * depth}{obj.name}（{obj.get_kind_display()}）"


class MenuForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label="类型",
        choices=Menu.Kind.choices,
        initial=Menu.Kind.MENU,
    )
    parent = MenuParentField(
        label="上级菜单",
        queryset=Menu.objects.none(),
        required=False,
        empty_label="（顶级）",
        help_text="目录位于顶级；菜单的上级是目录；按钮的上级是菜单",
    )
    name = forms.CharField(label="名称", max_length=50, error_messages={"required": "请输入名称"})
    icon = forms.CharField(
        label="图标", max_length=50, required=False, help_text="bootstrap-icons 名称，如 people"
    )
    url_name = forms.CharField(
        label="路由名称",
        max_length=100,
        required=False,
        help_text="菜单必填，须是已存在的无参数页面路由，如 system:user_list",
    )
    permission = forms.CharField(
        label="权限标识",
        max_length=100,
        required=False,
        help_text="按钮必填，如 policy:rule:update",
    )
    order = order_field()
    visible = forms.BooleanField(label="在侧边栏显示", required=False, initial=True)
    status = forms.ChoiceField(label="状态", choices=Status.choices, initial=Status.ENABLED)

    def __init__(self, *args, menu: Menu | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [m for m in menu_parent_choices() if menu is None or m.pk != menu.pk]
        parent_field = self.fields["parent"]
        parent_field.queryset = Menu.objects.filter(pk__in=[m.pk for m in choices])
        parent_field.choices = [("", parent_field.empty_label)] + [
            (m.pk, parent_field.label_from_instance(m)) for m in choices
        ]
        for name in locked_menu_fields(menu) if menu is not None else ():
            self.fields[name].disabled = True
            self.fields[name].help_text = "内置菜单不能修改此项"


# ---------------------------------------------------------------- log filters


class DateRangeFilterForm(BootstrapFormMixin, forms.Form):
    date_from = forms.DateField(
        label="开始日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )
    date_to = forms.DateField(
        label="结束日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "请输入正确的日期"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_field in self.fields.values():
            css = form_field.widget.attrs.get("class", "")
            small = "form-select-sm" if "form-select" in css else "form-control-sm"
            form_field.widget.attrs["class"] = f"{css} {small}"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "结束日期不能早于开始日期")
        return data

    def filters(self) -> dict:
        """The valid filters only: a bad value is shown as an error and otherwise ignored."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class OperLogFilterForm(DateRangeFilterForm):
    actor = forms.CharField(
        label="操作人",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "姓名或用户名"}),
    )
    action = forms.CharField(
        label="操作",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "操作名称，如 分配权限"}),
    )
    object_type = forms.ChoiceField(label="对象类型", required=False)
    result = forms.ChoiceField(
        label="结果", required=False, choices=[("", "全部"), *AuditEvent.Result.choices]
    )
    field_order = ["actor", "action", "object_type", "result", "date_from", "date_to"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = [("", "全部"), *audit_object_types()]


class LoginLogFilterForm(DateRangeFilterForm):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "用户名"}),
    )
    success = forms.ChoiceField(
        label="结果", required=False, choices=[("", "全部"), ("1", "成功"), ("0", "失败")]
    )
    field_order = ["username", "success", "date_from", "date_to"]

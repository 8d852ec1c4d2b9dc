"""系统管理 models: departments, posts, users, menus, roles, dictionaries, parameters, logs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from policywindow.core.encrypted import BlindIndexField, EncryptedCharField, EncryptedModel


class Status(models.TextChoices):
    ENABLED = "enabled", "正常"
    DISABLED = "disabled", "停用"


mobile_validator = RegexValidator(r"^1[3-9]\d{9}$", "请输入正确的11位手机号码")
username_validator = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_.-]{2,29}$",
    "用户名为 3-30 位字母、数字、下划线、点或连字符，须以字母开头",
)


class Department(models.Model):
    class Kind(models.TextChoices):
        PROVINCE = "province", "省级部门"
        CITY = "city", "市级部门"
        DISTRICT = "district", "区县部门"
        AREA = "area", "自贸片区"
        OTHER = "other", "其他"

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name="上级部门",
    )
    name = models.CharField("部门名称", max_length=100)
    short_name = models.CharField("简称", max_length=50, blank=True)
    code = models.CharField("部门编码", max_length=32, unique=True)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.PROVINCE)
    region_code = models.CharField("行政区划代码", max_length=6, blank=True)
    leader = models.ForeignKey(
        "system.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="负责人",
    )
    phone = models.CharField("联系电话", max_length=32, blank=True)
    email = models.EmailField("邮箱", blank=True)
    order = models.PositiveIntegerField("显示顺序", default=0)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    # Materialised ancestry "/1/5/9/" (own id last) so "this department and below" is one LIKE.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["path", "order"]
        verbose_name = verbose_name_plural = "部门"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="uniq_department_name_in_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 2, 0)

    @property
    def indented_name(self) -> str:
        return "　" * self.depth + self.name


class Post(models.Model):
    code = models.CharField("岗位编码", max_length=32, unique=True)
    name = models.CharField("岗位名称", max_length=50)
    order = models.PositiveIntegerField("显示顺序", default=0)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    remark = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = verbose_name_plural = "岗位"

    def __str__(self) -> str:
        return self.name


class Menu(models.Model):
    class Kind(models.TextChoices):
        DIRECTORY = "directory", "目录"
        MENU = "menu", "菜单"
        BUTTON = "button", "按钮"

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        verbose_name="上级菜单",
    )
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)
    name = models.CharField("名称", max_length=50)
    key = models.CharField("标识", max_length=64, unique=True, help_text="内置菜单的稳定标识")
    url_name = models.CharField("路由", max_length=100, blank=True)
    icon = models.CharField("图标", max_length=50, blank=True)
    permission = models.CharField("权限标识", max_length=100, blank=True, db_index=True)
    order = models.PositiveIntegerField("显示顺序", default=0)
    visible = models.BooleanField("显示", default=True)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    builtin = models.BooleanField("内置", default=False)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = verbose_name_plural = "菜单"

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    class DataScope(models.TextChoices):
        ALL = "all", "全部数据"
        CUSTOM = "custom", "指定部门"
        DEPARTMENT = "dept", "本部门"
        DEPARTMENT_AND_BELOW = "dept_below", "本部门及以下"
        SELF = "self", "仅本人"

    class AdminKind(models.TextChoices):
        SYSTEM = "system", "系统管理员"
        SECURITY = "security", "安全管理员"
        AUDIT = "audit", "审计管理员"

    code = models.CharField("角色编码", max_length=32, unique=True)
    name = models.CharField("角色名称", max_length=50, unique=True)
    order = models.PositiveIntegerField("显示顺序", default=0)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    data_scope = models.CharField(
        "数据范围", max_length=12, choices=DataScope.choices, default=DataScope.SELF
    )
    scope_departments = models.ManyToManyField(
        Department, blank=True, related_name="+", verbose_name="指定部门"
    )
    menus = models.ManyToManyField(Menu, blank=True, related_name="roles", verbose_name="菜单权限")
    admin_kind = models.CharField(
        "三员类型",
        max_length=10,
        choices=AdminKind.choices,
        blank=True,
        help_text="三员角色互斥：同一用户不能同时持有两类",
    )
    for_enterprise = models.BooleanField("企业用户角色", default=False)
    builtin = models.BooleanField("内置", default=False)
    remark = models.CharField("备注", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = verbose_name_plural = "角色"

    def __str__(self) -> str:
        return self.name


class PolicyWindowUserManager(UserManager):
    pass


class User(EncryptedModel, AbstractUser):
    class Kind(models.TextChoices):
        STAFF = "staff", "政府工作人员"
        ENTERPRISE = "enterprise", "企业用户"

    first_name = None
    last_name = None
    is_active = models.BooleanField("启用", default=True)
    kind = models.CharField("用户类型", max_length=12, choices=Kind.choices, default=Kind.STAFF)
    real_name = models.CharField("姓名", max_length=50)
    # Encrypted at rest (core.encrypted); searched by its blind index.
    mobile = EncryptedCharField(
        "手机号码", max_length=11, blank=True, validators=[mobile_validator], kind="phone"
    )
    mobile_index = BlindIndexField(source="mobile")
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name="所属部门",
    )
    posts = models.ManyToManyField(Post, blank=True, related_name="users", verbose_name="岗位")
    roles = models.ManyToManyField(Role, blank=True, related_name="users", verbose_name="角色")
    password_changed_at = models.DateTimeField("密码修改时间", default=timezone.now)
    must_change_password = models.BooleanField("下次登录须改密码", default=True)
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_confirmed = models.BooleanField("已绑定动态口令", default=False)
    # The time step of the last accepted code: a code is accepted once (RFC 6238 §5.2).
    totp_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    must_bind_totp = models.BooleanField("下次登录须绑定动态口令", default=False, db_default=False)
    # When the user's roles last changed: access tokens issued before it no longer work.
    roles_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    remark = models.CharField("备注", max_length=200, blank=True)

    objects = PolicyWindowUserManager()
    REQUIRED_FIELDS = ["real_name"]

    class Meta:
        ordering = ["id"]
        verbose_name = verbose_name_plural = "用户"

    def __str__(self) -> str:
        return f"{self.real_name}（{self.username}）" if self.real_name else self.username

    def get_full_name(self) -> str:
        return self.real_name

    def get_short_name(self) -> str:
        return self.real_name

    @property
    def is_enterprise(self) -> bool:
        return self.kind == self.Kind.ENTERPRISE

    @cached_property
    def admin_kind(self) -> str:
        """The 三员 kind of this account ("" for everyone else); uses prefetched roles."""
        return next((role.admin_kind for role in self.roles.all() if role.admin_kind), "")

    @cached_property
    def permission_codes(self) -> frozenset[str]:
        """Union of the permission codes of every enabled menu of every enabled role."""
        if not self.is_active:
            return frozenset()
        codes = (
            Menu.objects.filter(
                roles__users=self, roles__status=Status.ENABLED, status=Status.ENABLED
            )
            .exclude(permission="")
            .values_list("permission", flat=True)
        )
        return frozenset(codes)

    def has_permission_code(self, code: str) -> bool:
        return code in self.permission_codes


class IdentityVersion(models.Model):
    """Bumped whenever what ``system.identity`` caches for the user may have changed (roles,
    grants, menus, department). A row of its own, not a column of the user: a ``save()`` of a
    user read before a bump would write the old number back."""

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveBigIntegerField(default=0)


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator; only its keyed hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = verbose_name_plural = "恢复码"
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="uniq_recovery_code")
        ]


class AdminAccountRequest(models.Model):
    """双人审批: a change to a 三员 account, filed by a second 三员 and approved by the third."""

    class Action(models.TextChoices):
        RESET_PASSWORD = "reset_password", "重置密码与动态口令"
        DISABLE = "disable", "停用账号"
        ENABLE = "enable", "启用账号"

    class State(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "已驳回"
        CANCELLED = "cancelled", "已撤回"

    target = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name="三员账号"
    )
    action = models.CharField("申请事项", max_length=16, choices=Action.choices)
    reason = models.CharField("申请理由", max_length=200)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name="申请人"
    )
    requested_at = models.DateTimeField("申请时间", default=timezone.now)
    decided_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=200, blank=True)
    # Split knowledge: each half of the one-time password is stored only as a password hash;
    # the requester saw the first, the approver the second, nobody both.
    first_half_hash = models.CharField(max_length=128, blank=True, editable=False)
    second_half_hash = models.CharField(max_length=128, blank=True, editable=False)
    redeem_before = models.DateTimeField("一次性密码有效期至", null=True, blank=True)
    redeemed_at = models.DateTimeField("一次性密码使用时间", null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = verbose_name_plural = "三员账号双人审批"
        constraints = [
            models.UniqueConstraint(
                fields=["target"],
                condition=models.Q(state="pending"),
                name="uniq_pending_admin_request",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}：{self.target}"


class DictType(models.Model):
    code = models.CharField("字典类型", max_length=64, unique=True)
    name = models.CharField("字典名称", max_length=64)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    builtin = models.BooleanField("内置", default=False)
    remark = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "字典类型"

    def __str__(self) -> str:
        return self.name


class DictItem(models.Model):
    dict_type = models.ForeignKey(DictType, on_delete=models.CASCADE, related_name="items")
    label = models.CharField("字典标签", max_length=100)
    value = models.CharField("字典键值", max_length=100)
    order = models.PositiveIntegerField("显示顺序", default=0)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ENABLED)
    remark = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["dict_type", "order", "id"]
        verbose_name = verbose_name_plural = "字典数据"
        constraints = [
            models.UniqueConstraint(fields=["dict_type", "value"], name="uniq_dict_item_value")
        ]

    def __str__(self) -> str:
        return self.label


class SystemParameter(models.Model):
    class ValueType(models.TextChoices):
        INTEGER = "int", "整数"
        BOOLEAN = "bool", "是/否"
        TEXT = "text", "文本"

    class Group(models.TextChoices):
        SECURITY = "security", "安全参数"
        GENERAL = "general", "业务参数"

    key = models.CharField("参数键名", max_length=64, unique=True)
    name = models.CharField("参数名称", max_length=64)
    value = models.CharField("参数值", max_length=500)
    value_type = models.CharField("类型", max_length=8, choices=ValueType.choices)
    group = models.CharField("分组", max_length=10, choices=Group.choices)
    min_value = models.IntegerField("最小值", null=True, blank=True)
    max_value = models.IntegerField("最大值", null=True, blank=True)
    remark = models.CharField("说明", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["group", "key"]
        verbose_name = verbose_name_plural = "系统参数"

    def __str__(self) -> str:
        return self.name


class LoginLog(models.Model):
    username = models.CharField("用户名", max_length=150, db_index=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    success = models.BooleanField("是否成功")
    message = models.CharField("提示信息", max_length=200)
    ip = models.CharField("IP", max_length=45, blank=True)
    user_agent = models.CharField("浏览器", max_length=300, blank=True)
    occurred_at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = verbose_name_plural = "登录日志"


class LoginGuard(models.Model):
    """Consecutive failed logins per username, and the lock they cause."""

    username = models.CharField(max_length=150, primary_key=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)


class UserSession(models.Model):
    """A signed-in browser session, so users and administrators can see and end it."""

    session_key = models.CharField(max_length=40, primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="live_sessions")
    ip = models.CharField("IP", max_length=45, blank=True)
    user_agent = models.CharField("浏览器", max_length=300, blank=True)
    started_at = models.DateTimeField("登录时间", default=timezone.now)
    last_activity = models.DateTimeField("最后活动", default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_activity"]
        verbose_name = verbose_name_plural = "在线会话"

"""政策库: policies, their claimable rules (政策细则) and each rule's required items (细则要件项).

A rule's content lives in ``RuleVersion`` rows. A published version is frozen;
editing a published rule creates a new draft version, and applications keep the
version they were filed under.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Policy(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"
        EXPIRED = "expired", "已失效"
        WITHDRAWN = "withdrawn", "已撤回"

    title = models.CharField("政策名称", max_length=200)
    doc_number = models.CharField("文号", max_length=100, blank=True)
    issuing_department = models.ForeignKey(
        "system.Department", on_delete=models.PROTECT, related_name="+", verbose_name="发文部门"
    )
    publish_date = models.DateField("发布日期", null=True, blank=True)
    effective_from = models.DateField("生效日期", null=True, blank=True)
    effective_to = models.DateField("失效日期", null=True, blank=True)
    summary = models.TextField("政策摘要", blank=True)
    full_text = models.TextField("政策全文", blank=True, help_text="经过清洗的富文本 HTML")
    theme = models.CharField("政策主题", max_length=32, blank=True, help_text="字典 policy_theme")
    industries = models.ManyToManyField(
        "enterprises.Industry", blank=True, related_name="+", verbose_name="适用行业"
    )
    sizes = models.JSONField("适用企业规模", default=list, blank=True)
    regions = models.ManyToManyField(
        "enterprises.Region", blank=True, related_name="+", verbose_name="适用地区"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Plain text of title, number, summary, body and rule texts for full-text search.
    search_text = models.TextField(blank=True, editable=False)
    is_demo = models.BooleanField("演示数据", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-publish_date", "-id"]
        verbose_name = verbose_name_plural = "政策"

    def __str__(self) -> str:
        return self.title

    @property
    def size_labels(self) -> list[str]:
        from policywindow.enterprises.models import Enterprise

        labels = dict(Enterprise.Size.choices)
        return [labels.get(size, size) for size in self.sizes]


class PolicyAttachment(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField("文件", upload_to="policy/%Y/%m/")
    original_name = models.CharField("文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "政策附件"

    def __str__(self) -> str:
        return self.original_name


class Rule(models.Model):
    """The identity of a claimable item across its versions."""

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="rules")
    code = models.CharField("细则编码", max_length=32, unique=True)
    current = models.ForeignKey(
        "RuleVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="现行版本",
    )
    order = models.PositiveIntegerField("显示顺序", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        ordering = ["policy", "order", "id"]
        verbose_name = verbose_name_plural = "政策细则"

    def __str__(self) -> str:
        return f"{self.code} {self.current.title if self.current else ''}".strip()


# The content of a rule version: what a new version copies and what the history compares.
VERSION_CONTENT_FIELDS = (
    "title",
    "beneficiaries",
    "conditions_text",
    "standard_text",
    "time_limit_text",
    "address",
    "phone",
    "eligibility_expression",
    "amount_formula",
    "per_enterprise_cap",
    "annual_budget",
    "opens_on",
    "closes_on",
    "lead_department",
    "review_days",
    "auto_grant",
    "exclusion_group",
    "once_per_year",
)


class RuleVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "已发布"
        SUPERSEDED = "superseded", "已被新版本替代"

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField("版本号")
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField("细则名称", max_length=200)
    # Application guide (申报指南)
    beneficiaries = models.TextField("惠及对象", blank=True)
    conditions_text = models.TextField("申报条件", blank=True)
    standard_text = models.TextField("兑现标准", blank=True)
    time_limit_text = models.CharField("兑现时限", max_length=200, blank=True)
    address = models.CharField("受理地址", max_length=200, blank=True)
    phone = models.CharField("咨询电话", max_length=50, blank=True)
    # Rules evaluated by zen-engine over enterprise attributes and form answers.
    eligibility_expression = models.TextField("申报条件表达式", blank=True)
    amount_formula = models.TextField("兑现金额公式", blank=True)
    per_enterprise_cap = models.DecimalField(
        "单个企业上限（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    annual_budget = models.DecimalField(
        "年度预算（元）", max_digits=16, decimal_places=2, null=True, blank=True
    )
    opens_on = models.DateField("申报开始日期", null=True, blank=True)
    closes_on = models.DateField("申报截止日期", null=True, blank=True)
    lead_department = models.ForeignKey(
        "system.Department", on_delete=models.PROTECT, related_name="+", verbose_name="牵头部门"
    )
    review_days = models.PositiveSmallIntegerField("审核时限（工作日）", default=5)
    auto_grant = models.BooleanField("免申即享", default=False)
    exclusion_group = models.CharField("互斥组", max_length=32, blank=True)
    once_per_year = models.BooleanField("每年限申报一次", default=True)
    change_note = models.CharField("修订说明", max_length=200, blank=True)
    # Normalised code, title and guide texts for full-text search (services.search_text_of).
    search_text = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["rule", "-version"]
        verbose_name = verbose_name_plural = "细则版本"
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="uniq_rule_version")
        ]

    def __str__(self) -> str:
        return f"{self.title}（第 {self.version} 版）"


# What defines a required item besides its key: compared by the version history, copied (with
# the key and the template file) into a new version.
ITEM_CONTENT_FIELDS = (
    "label",
    "kind",
    "required",
    "min_value",
    "max_value",
    "pattern",
    "options",
    "allowed_types",
    "max_size_mb",
    "max_files",
    "material_code",
    "help_text",
    "template_name",
    "prefill_source",
    "section",
    "order",
)


class RequiredItem(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "单行文本"
        LONG_TEXT = "long_text", "多行文本"
        INTEGER = "integer", "整数"
        NUMBER = "number", "数值"
        MONEY = "money", "金额（元）"
        DATE = "date", "日期"
        CHOICE = "choice", "单选"
        MULTI_CHOICE = "multi_choice", "多选"
        BOOLEAN = "boolean", "是/否"
        FILE = "file", "附件材料"

    rule_version = models.ForeignKey(RuleVersion, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField("字段标识", max_length=50, help_text="表单与公式中使用的英文标识")
    label = models.CharField("要件名称", max_length=100)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    required = models.BooleanField("必填", default=True)
    min_value = models.DecimalField(
        "最小值", max_digits=16, decimal_places=2, null=True, blank=True
    )
    max_value = models.DecimalField(
        "最大值", max_digits=16, decimal_places=2, null=True, blank=True
    )
    pattern = models.CharField("格式（正则）", max_length=200, blank=True)
    options = models.JSONField("选项", default=list, blank=True)
    allowed_types = models.JSONField(
        "允许的文件类型", default=list, blank=True, help_text='如 ["pdf", "jpg", "png"]'
    )
    max_size_mb = models.PositiveSmallIntegerField("单个文件上限（MB）", default=10)
    max_files = models.PositiveSmallIntegerField("文件数量上限", default=1)
    material_code = models.CharField(
        "材料类别",
        max_length=50,
        blank=True,
        help_text="同类材料可在不同申报间复用，如 business_license",
    )
    help_text = models.CharField("填写说明", max_length=300, blank=True)
    template_file = models.FileField("模板文件", upload_to="templates/%Y/", blank=True)
    template_name = models.CharField("模板文件名", max_length=200, blank=True)
    prefill_source = models.CharField("预填来源（企业属性）", max_length=50, blank=True)
    section = models.CharField("分组", max_length=50, blank=True)
    order = models.PositiveIntegerField("显示顺序", default=0)

    class Meta:
        ordering = ["rule_version", "order", "id"]
        verbose_name = verbose_name_plural = "细则要件项"
        constraints = [
            models.UniqueConstraint(
                fields=["rule_version", "key"], name="uniq_item_key_per_version"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def constraints_text(self) -> list[str]:
        """The item's validation settings as people read them."""
        parts: list[str] = []
        if self.min_value is not None or self.max_value is not None:
            parts.append(f"取值 {self._bound(self.min_value)} ～ {self._bound(self.max_value)}")
        if self.pattern:
            parts.append(f"格式 {self.pattern}")
        if self.options:
            parts.append(f"选项：{'、'.join(self.options)}")
        if self.kind == self.Kind.FILE:
            types = "/".join(self.allowed_types)
            parts.append(f"{types}，单个 ≤ {self.max_size_mb} MB，最多 {self.max_files} 个")
        return parts

    def _bound(self, value) -> str:
        if value is None:
            return "不限"
        if self.kind == self.Kind.MONEY:
            return f"{value:,.2f} 元"
        return f"{value.normalize():,f}" if value != value.to_integral() else f"{value:,.0f}"

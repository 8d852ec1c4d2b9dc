"""The enterprise registry (建立维护申报企业信息) and its reference data."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from policywindow.core.codes import classify_size, industry_section_of
from policywindow.core.encrypted import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedManager,
    EncryptedModel,
)
from policywindow.core.errors import ValidationFailed

phone_validator = RegexValidator(
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$",
    "请输入正确的手机号码或固定电话（如 13812345678 或 024-12345678）",
)
bank_account_validator = RegexValidator(r"^\d{8,32}$", "银行账号应为 8 至 32 位数字")
not_negative = MinValueValidator(0, "不能为负数")


def _money(label: str) -> models.DecimalField:
    """A yuan amount that may be unknown (NULL), never negative."""
    return models.DecimalField(
        label, max_digits=16, decimal_places=2, null=True, blank=True, validators=[not_negative]
    )


class Industry(models.Model):
    """GB/T 4754-2017 国民经济行业分类: 门类 (a letter) and 大类 (two digits), plus the
    中类 (three digits) of the 大类 the size rules split (59 装卸搬运和仓储业, 70 房地产业)."""

    class Level(models.TextChoices):
        SECTION = "section", "门类"
        DIVISION = "division", "大类"
        GROUP = "group", "中类"

    code = models.CharField("代码", max_length=4, primary_key=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "国民经济行业分类"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Region(models.Model):
    """GB/T 2260 administrative divisions of Liaoning (province, cities, counties)."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省"
        CITY = "city", "市"
        COUNTY = "county", "区县"

    code = models.CharField("区划代码", max_length=6, primary_key=True)
    name = models.CharField("名称", max_length=50)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "行政区划"

    def __str__(self) -> str:
        return self.name

    @property
    def full_name(self) -> str:
        """ "沈阳市 和平区" for a district or county, the plain name otherwise."""
        if self.level == self.Level.COUNTY and self.parent_id:
            return f"{self.parent.name} {self.name}"
        return self.name


class Enterprise(EncryptedModel, models.Model):
    class Size(models.TextChoices):
        LARGE = "large", "大型"
        MEDIUM = "medium", "中型"
        SMALL = "small", "小型"
        MICRO = "micro", "微型"

    class Specialized(models.TextChoices):
        NONE = "", "无"
        PROVINCIAL = "provincial", "省级专精特新中小企业"
        LITTLE_GIANT = "little_giant", "国家级专精特新“小巨人”企业"

    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    name = models.CharField("企业名称", max_length=200, db_index=True)
    legal_representative = models.CharField("法定代表人", max_length=50)
    registered_capital = models.DecimalField(
        "注册资本（万元）",
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        validators=[not_negative],
    )
    established_on = models.DateField("成立日期", null=True, blank=True)
    industry = models.ForeignKey(
        Industry, on_delete=models.PROTECT, related_name="+", verbose_name="所属行业"
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="+", verbose_name="所在地区"
    )
    address = models.CharField("注册地址", max_length=200, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    # Encrypted at rest (core.encrypted); the blind indexes serve equality search.
    contact_phone = EncryptedCharField(
        "联系电话", max_length=20, blank=True, validators=[phone_validator], kind="phone"
    )
    contact_phone_index = BlindIndexField(source="contact_phone")
    contact_email = models.EmailField("联系邮箱", blank=True)
    bank_name = models.CharField("开户银行", max_length=100, blank=True)
    bank_account = EncryptedCharField(
        "银行账号", max_length=32, blank=True, validators=[bank_account_validator], kind="account"
    )
    bank_account_index = BlindIndexField(source="bank_account")
    # Attributes that policy rules evaluate; money in yuan. Empty means unknown (not zero).
    employees = models.PositiveIntegerField("从业人员（人）", null=True, blank=True)
    revenue = _money("上年营业收入（元）")
    total_assets = _money("资产总额（元）")
    rd_spend = _money("上年研发费用（元）")
    high_tech = models.BooleanField("高新技术企业", default=False)
    high_tech_valid_until = models.DateField("高企证书有效期至", null=True, blank=True)
    tech_sme = models.BooleanField("科技型中小企业", default=False)
    specialized = models.CharField(
        "专精特新", max_length=16, choices=Specialized.choices, blank=True
    )
    export_value = _money("上年出口额（元）")
    # Derived from industry, employees, revenue and total assets on every save;
    # empty when an indicator the industry's size rule needs is unknown.
    size = models.CharField(
        "企业规模", max_length=8, choices=Size.choices, blank=True, editable=False
    )
    department = models.ForeignKey(
        "system.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="登记窗口",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_demo = models.BooleanField("演示数据", default=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = EncryptedManager()

    class Meta:
        ordering = ["name"]
        verbose_name = verbose_name_plural = "企业"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.size = self.derived_size()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "size"}
        super().save(*args, **kwargs)

    @property
    def industry_section(self) -> str:
        return industry_section_of(self.industry_id)

    @property
    def industry_division(self) -> str:
        """The 大类 code, also when the industry is a 中类."""
        return self.industry_id[:2]

    @property
    def city_code(self) -> str | None:
        """The city (地级市) code of the region; None for the province itself."""
        code = self.region_id
        if not code or code.endswith("0000"):
            return None
        return code[:4] + "00"

    def derived_size(self) -> str:
        """The size by the 2017 rules, or "" when a needed indicator is unknown."""
        try:
            return classify_size(
                self.industry_section,
                self.industry_id,
                self.employees,
                self.revenue,
                self.total_assets,
            )
        except ValidationFailed:
            return ""


# What an enterprise user may change about its own enterprise; the rest is the window's.
ENTERPRISE_EDITABLE_FIELDS = (
    "contact_name",
    "contact_phone",
    "contact_email",
    "address",
    "bank_name",
    "bank_account",
)
# Everything a window clerk maintains (size is derived, never entered).
CLERK_EDITABLE_FIELDS = (
    "credit_code",
    "name",
    "legal_representative",
    "registered_capital",
    "established_on",
    "industry",
    "region",
    "address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "bank_name",
    "bank_account",
    "employees",
    "revenue",
    "total_assets",
    "rd_spend",
    "export_value",
    "high_tech",
    "high_tech_valid_until",
    "tech_sme",
    "specialized",
)


class EnterpriseMember(models.Model):
    """An enterprise user who acts for the enterprise (several per enterprise)."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enterprise_membership"
    )
    is_admin = models.BooleanField("企业管理员", default=False)
    joined_at = models.DateTimeField("加入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "企业经办人"

    def __str__(self) -> str:
        return f"{self.enterprise} · {self.user}"

"""The enterprise registry (建立维护申报企业信息) and its reference data."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Industry(models.Model):
    """GB/T 4754-2017 国民经济行业分类: 门类 (a letter) and 大类 (two digits)."""

    class Level(models.TextChoices):
        SECTION = "section", "门类"
        DIVISION = "division", "大类"

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


class Enterprise(models.Model):
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
        "注册资本（万元）", max_digits=16, decimal_places=2, default=Decimal("0")
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
    contact_phone = models.CharField("联系电话", max_length=20, blank=True)
    contact_email = models.EmailField("联系邮箱", blank=True)
    bank_name = models.CharField("开户银行", max_length=100, blank=True)
    bank_account = models.CharField("银行账号", max_length=32, blank=True)
    # Attributes that policy rules evaluate; money in yuan.
    employees = models.PositiveIntegerField("从业人员（人）", default=0)
    revenue = models.DecimalField(
        "上年营业收入（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    total_assets = models.DecimalField(
        "资产总额（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    rd_spend = models.DecimalField(
        "上年研发费用（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    high_tech = models.BooleanField("高新技术企业", default=False)
    high_tech_valid_until = models.DateField("高企证书有效期至", null=True, blank=True)
    tech_sme = models.BooleanField("科技型中小企业", default=False)
    specialized = models.CharField(
        "专精特新", max_length=16, choices=Specialized.choices, blank=True
    )
    export_value = models.DecimalField(
        "上年出口额（元）", max_digits=16, decimal_places=2, default=Decimal("0")
    )
    size = models.CharField("企业规模", max_length=8, choices=Size.choices, editable=False)
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

    class Meta:
        ordering = ["name"]
        verbose_name = verbose_name_plural = "企业"

    def __str__(self) -> str:
        return self.name


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

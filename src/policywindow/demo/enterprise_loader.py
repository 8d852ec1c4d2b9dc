"""Demo enterprises (enterprise_data) registered through the registry services.

Credit codes are made the way GB 32100-2015 lays them out: 9 (registered by 市场监管),
1 (企业), the 6-digit region code, a 9-character organisation code (8 characters and
their GB 11714 check character) and the check character. The organisation code comes
from the enterprise name, so every run gives every enterprise the same code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from policywindow.core.codes import make_uscc
from policywindow.enterprises import services
from policywindow.enterprises.models import Enterprise, EnterpriseMember, Region
from policywindow.system.models import User

from .enterprise_data import ENTERPRISES

TEN_THOUSAND = Decimal(10000)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# The window that registers an enterprise: the city's own window, else the province's.
CITY_WINDOWS = {"210100": "sy_clerk", "210200": "dl_clerk"}
PROVINCE_WINDOW = "clerk"
# Enterprise users (system.demo) and the enterprise each acts for.
MEMBERS = {
    "qiye_zhang": "沈阳精工数控机床有限公司",
    "qiye_li": "大连星海软件开发有限公司",
}
STREETS = ("创新路", "兴工北街", "建设大路", "科技园路", "滨海中路", "友谊街", "工业大道", "长江路")
BANKS = ("中国工商银行", "中国建设银行", "中国银行", "中国农业银行", "交通银行", "盛京银行")
CONTACTS = ("王丽", "刘洋", "陈静", "杨帆", "赵磊", "孙悦", "马超", "高敏", "林涛", "郭佳")


def _digits(name: str, salt: str, count: int) -> str:
    """``count`` digits that depend only on the name (stable across runs and machines)."""
    number = int(hashlib.sha256(f"{salt}:{name}".encode()).hexdigest(), 16)
    return f"{number % 10**count:0{count}d}"


def organisation_code(name: str) -> str:
    """A GB 11714 organisation code: 8 digits and the check character (0–9 or X)."""
    body = _digits(name, "org", 8)
    check = 11 - sum(int(d) * w for d, w in zip(body, ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(name: str, region: str) -> str:
    return make_uscc(f"91{region}{organisation_code(name)}")


def _yuan(ten_thousands: int) -> Decimal:
    return (Decimal(ten_thousands) * TEN_THOUSAND).quantize(Decimal("0.01"))


def enterprise_fields(index: int, row: tuple, city_name: str) -> dict:
    """The registry fields of one data row (amounts in the data are 万元)."""
    (name, industry, region, employees, revenue, assets, rd, high_tech, tech_sme,
     specialized, export, legal, founded) = row  # fmt: skip
    return {
        "credit_code": credit_code(name, region),
        "name": name,
        "legal_representative": legal,
        # 注册资本 is kept in 万元 by the registry: a fifth of the assets, in hundreds.
        "registered_capital": Decimal(max(100, round(assets / 500) * 100)),
        "established_on": dt.date(founded, index % 12 + 1, index % 27 + 1),
        "industry": industry,
        "region": region,
        "address": f"辽宁省{city_name}{STREETS[index % len(STREETS)]}{index * 7 % 300 + 1}号",
        "contact_name": CONTACTS[index % len(CONTACTS)],
        "contact_phone": f"139{_digits(name, 'phone', 8)}",
        "contact_email": f"contact{index + 1:02d}@example.com",
        "bank_name": f"{BANKS[index % len(BANKS)]}{city_name}分行",
        "bank_account": _digits(name, "bank", 19),
        "employees": employees,
        "revenue": _yuan(revenue),
        "total_assets": _yuan(assets),
        "rd_spend": _yuan(rd),
        "export_value": _yuan(export),
        "high_tech": high_tech,
        "high_tech_valid_until": dt.date(2027 + index % 2, 12, 31) if high_tech else None,
        "tech_sme": tech_sme,
        "specialized": specialized,
    }


def load_enterprises() -> int:
    """Register the missing demo enterprises (matched by credit code); returns how many."""
    clerks = {u.username: u for u in User.objects.filter(username__in=_window_usernames())}
    cities = dict(Region.objects.filter(level=Region.Level.CITY).values_list("code", "name"))
    existing = set(Enterprise.objects.values_list("credit_code", flat=True))
    new_ids = []
    for index, row in enumerate(ENTERPRISES):
        region = row[2]
        fields = enterprise_fields(index, row, cities[region])
        if fields["credit_code"] in existing:
            continue
        clerk = clerks.get(CITY_WINDOWS.get(region, PROVINCE_WINDOW)) or clerks[PROVINCE_WINDOW]
        new_ids.append(services.create_enterprise(clerk, fields).pk)
    # The registry's services do not take is_demo (a clerk never sets it): mark them here.
    Enterprise.objects.filter(pk__in=new_ids).update(is_demo=True)
    return len(new_ids)


def _window_usernames() -> list[str]:
    return [*CITY_WINDOWS.values(), PROVINCE_WINDOW]


def link_members(clerk: User) -> int:
    """Make each demo enterprise user an agent (企业管理员) of their enterprise; returns links made."""
    linked = set(
        EnterpriseMember.objects.filter(user__username__in=MEMBERS).values_list(
            "user__username", flat=True
        )
    )
    created = 0
    for username, enterprise_name in MEMBERS.items():
        if username in linked:
            continue
        enterprise = Enterprise.objects.get(name=enterprise_name, is_demo=True)
        user = services.link_member(clerk, enterprise, username, is_admin=True).user
        # The new agent puts themselves down as the contact, as the portal lets them do.
        services.update_own_enterprise(
            user, {"contact_name": user.real_name, "contact_phone": user.mobile}
        )
        created += 1
    return created

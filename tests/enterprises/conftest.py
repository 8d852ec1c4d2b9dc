"""Fixtures of the enterprise registry: a window clerk, enterprises and enterprise users."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from policywindow.core.codes import make_uscc
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.system.models import Role, User

_serial = itertools.count(1)
BANK_ACCOUNT = "6222021001123456789"


def next_credit_code() -> str:
    """A fresh valid credit code: 91 (企业) + 210102 (沈阳和平) + a 9-digit serial + check."""
    return make_uscc(f"91210102{next(_serial):09d}")


def enterprise_data(**overrides) -> dict:
    """What a clerk types for a manufacturing enterprise in 沈阳 和平区."""
    data = {
        "credit_code": next_credit_code(),
        "name": f"沈阳测试机械制造有限公司{next(_serial)}",
        "legal_representative": "张伟",
        "registered_capital": Decimal("500.00"),
        "industry": "34",
        "region": "210102",
        "address": "沈阳市和平区南京北街 1 号",
        "contact_name": "李娜",
        "contact_phone": "024-23456789",
        "contact_email": "lina@example.com",
        "bank_name": "中国工商银行沈阳和平支行",
        "bank_account": BANK_ACCOUNT,
        "employees": 150,
        "revenue": Decimal("50000000.00"),
        "total_assets": Decimal("80000000.00"),
        "rd_spend": Decimal("3000000.00"),
    }
    data.update(overrides)
    return data


@pytest.fixture
def clerk(make_user) -> User:
    return make_user("clerk", "window_clerk")


@pytest.fixture
def scoped_clerk(make_user) -> User:
    """A clerk whose role reaches only their own department and below (data scope)."""
    Role.objects.filter(code="window_clerk").update(data_scope=Role.DataScope.DEPARTMENT_AND_BELOW)
    return make_user("scoped_clerk", "window_clerk")


@pytest.fixture
def make_enterprise(db, department):
    """An enterprise written with the ORM (size derived by the model), registered by ``department``."""

    def make(**fields) -> Enterprise:
        values = enterprise_data()
        values.update(fields)
        values["industry_id"] = values.pop("industry")
        values["region_id"] = values.pop("region")
        values.setdefault("department", department)
        return Enterprise.objects.create(**values)

    return make


@pytest.fixture
def enterprise(make_enterprise) -> Enterprise:
    return make_enterprise(name="沈阳星辰精密机械有限公司")


@pytest.fixture
def linked_user(make_user, enterprise) -> User:
    """An enterprise user acting for ``enterprise``."""
    user = make_user("qiye_zhang", "enterprise", kind=User.Kind.ENTERPRISE)
    EnterpriseMember.objects.create(enterprise=enterprise, user=user, is_admin=True)
    return user

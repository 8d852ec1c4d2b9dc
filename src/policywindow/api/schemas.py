"""Request and response shapes of the API. Never exposes password hashes or TOTP secrets."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import TextChoices
from ninja import Field, Schema
from pydantic import PlainSerializer, PlainValidator, WithJsonSchema, field_validator

from policywindow.core import deadlines
from policywindow.core.money import MONEY_PATTERN, parse_yuan
from policywindow.system.identity import enabled_roles
from policywindow.system.models import mobile_validator, username_validator

MONEY_AS_STRING = '金额须为最多两位小数的字符串，如 "1234.50"（JSON 数字会丢失精度）'
MONEY_UNGROUPED = '金额不能含千分位分隔符，如 "1234567.89"'


def _money(value: object) -> Decimal:
    """Money is a decimal string as the pattern says: a JSON number is refused (a float such as
    0.1 or 1e400 is not the amount that was meant), then ``parse_yuan`` refuses what the pages
    refuse; thousands separators, which people may type on pages, are not part of the API."""
    if not isinstance(value, str):
        raise ValueError(MONEY_AS_STRING)
    amount = parse_yuan(value)
    if not re.fullmatch(MONEY_PATTERN, value.strip()):
        raise ValueError(MONEY_UNGROUPED)
    return amount


# An amount in yuan, given as a string with at most two decimals; the operation sees a Decimal.
Money = Annotated[
    Decimal,
    PlainValidator(_money),
    WithJsonSchema(
        {"type": "string", "pattern": MONEY_PATTERN, "examples": ["300000.00"]}, mode="validation"
    ),
]

# An amount the API answers: a string with exactly two decimals, whatever the Decimal's exponent.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$", "examples": ["300000.00"]}
    ),
]


def labelled_enum(choices: type[TextChoices] | Mapping[str, str], what: str = "") -> Any:
    """A status field's type: its values as an enum in the schema, described ``value = 中文``
    (``in_finance = 待拨付``) from the choices the models declare, so the two cannot drift."""
    labels = dict(choices) if isinstance(choices, Mapping) else dict(choices.choices)
    listed = "；".join(f"{value} = {label}" for value, label in labels.items())
    description = f"{what}：{listed}" if what else listed
    return Annotated[Literal[tuple(labels)], Field(description=description)]


class ErrorOut(Schema):
    code: str = Field(description="机器可读的错误码，如 validation_error、permission_denied")
    message: str = Field(description="中文错误说明")
    details: dict[str, Any] = Field(description="字段名到中文错误信息列表等补充信息")


class DepartmentRef(Schema):
    id: int
    name: str


class RoleRef(Schema):
    code: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    real_name: str
    kind: str
    mobile: str
    email: str
    department: DepartmentRef | None
    roles: list[RoleRef]
    permissions: list[str]
    must_change_password: bool

    @staticmethod
    def resolve_roles(user) -> list:
        return list(enabled_roles(user))

    @staticmethod
    def resolve_permissions(user) -> list[str]:
        return sorted(user.permission_codes)


class LeaderRef(Schema):
    id: int
    real_name: str


class DepartmentNode(Schema):
    id: int
    parent_id: int | None
    name: str
    short_name: str
    code: str
    kind: str
    region_code: str
    leader: LeaderRef | None
    phone: str
    order: int
    status: str
    children: list[DepartmentNode] = []

    @staticmethod
    def resolve_children(department) -> list:
        return department.tree_children  # filled by api.selectors.department_forest


class UserOut(Schema):
    id: int
    username: str
    real_name: str
    kind: str
    mobile: str
    email: str
    department: DepartmentRef | None
    roles: list[RoleRef]
    is_active: bool
    must_change_password: bool
    last_login: dt.datetime | None
    date_joined: dt.datetime


class UserFilter(Schema):
    q: str = Field("", description="用户名或姓名中包含的文字，或完整的手机号码（加密存储）")
    department_id: int | None = Field(None, description="部门 id（含下级部门）")
    kind: Literal["", "staff", "enterprise"] = ""
    active: bool | None = Field(None, description="true 仅启用，false 仅停用")
    role_id: int | None = None


def _django_validator(validator: Callable[[str], None], value: str) -> str:
    """Run a Django validator inside pydantic, keeping its Chinese message."""
    try:
        validator(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    return value


class UserCreateIn(Schema):
    username: str = Field(description="3-30 位字母、数字、下划线、点或连字符，须以字母开头")
    real_name: str = Field(min_length=1, max_length=50)
    password: str = Field(description="初始密码，须符合密码复杂度要求")
    kind: Literal["staff", "enterprise"] = "staff"
    mobile: str = ""
    email: str = ""
    department: int | None = Field(None, description="所属部门 id，政府工作人员必填")
    posts: list[int] = Field([], description="岗位 id 列表")
    remark: str = Field("", max_length=200)
    must_change_password: bool = True

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return _django_validator(username_validator, value)

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return _django_validator(mobile_validator, value) if value else value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _django_validator(validate_email, value) if value else value


class WorkingDaysQuery(Schema):
    start: dt.date = Field(description="起始日期 YYYY-MM-DD（当日不计入）")
    days: int = Field(ge=0, le=366, description="工作日数")


PROVISIONAL_HELP = "期限是否暂定：期间经过节假日表尚未导入的年份，按周末推算；导入该年后重算"


def provisional_for(due: dt.date | dt.datetime | None, context: Any) -> bool:
    """A schema's ``due_provisional``: the table's end read once per request (lists)."""
    return deadlines.is_provisional(due, (context or {}).get("request"))


class WorkingDaysOut(Schema):
    start: dt.date
    days: int
    due_date: dt.date = Field(description="第 days 个工作日（起始日不计入）")
    due_provisional: bool = Field(description=PROVISIONAL_HELP)


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, description="用途说明，如“财政系统对接”")
    expires_in_days: int = Field(90, ge=1, le=365, description="有效天数，1-365")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked: bool


class IssuedTokenOut(TokenOut):
    token: str = Field(description="令牌明文，仅在签发时返回一次，请妥善保存")

"""System parameters (系统参数): defaults declared here, values in force in the database.

Within a request every parameter is read from the database once, all in one statement, the
first time one is needed (``read_once_per_request``, opened by the system middleware); a
parameter saved during the request is read again. Outside a request each read asks the
database. Parameters are never kept across requests: a change applies to the next request
in every process, and there is nothing to invalidate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ParamSpec:
    key: str
    name: str
    value_type: str  # "int" | "bool" | "text"
    default: object
    group: str  # "security" | "general"
    remark: str = ""
    min_value: int | None = None
    max_value: int | None = None


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "security.password_expiry_days",
        "密码有效期（天）",
        "int",
        90,
        "security",
        "超过天数须修改密码；0 表示不过期",
        0,
        365,
    ),
    ParamSpec(
        "security.lockout_threshold",
        "登录失败锁定次数",
        "int",
        5,
        "security",
        "同一用户名连续失败达到次数即锁定",
        3,
        10,
    ),
    ParamSpec("security.lockout_minutes", "锁定时长（分钟）", "int", 30, "security", "", 5, 1440),
    ParamSpec(
        "security.login_attempts_per_address",
        "同一地址每分钟登录尝试上限",
        "int",
        30,
        "security",
        "不论用户名，同一来源地址每分钟最多尝试登录的次数（防撞库）；同一出口地址的单位可适当调高",
        5,
        1000,
    ),
    ParamSpec(
        "security.session_idle_minutes",
        "会话空闲超时（分钟）",
        "int",
        30,
        "security",
        "无操作超过该时间自动退出登录",
        5,
        120,
    ),
    ParamSpec(
        "security.totp_required",
        "工作人员必须使用动态口令",
        "bool",
        settings.POLICYWINDOW_TOTP_REQUIRED_DEFAULT,
        "security",
        "开启后政府工作人员登录须输入 TOTP 动态口令",
    ),
    ParamSpec(
        "general.review_limit_days",
        "默认审核时限（工作日）",
        "int",
        5,
        "general",
        "一周办结：受理至审核决定的默认工作日数",
        1,
        60,
    ),
    ParamSpec("general.publicity_days", "默认公示期（工作日）", "int", 5, "general", "", 1, 30),
    ParamSpec(
        "general.supplement_days",
        "补正期限（工作日）",
        "int",
        10,
        "general",
        "补正告知书写明的期限：自告知之日起多少个工作日内补正并重新提交",
        1,
        60,
    ),
    ParamSpec(
        "general.reform_reminder_days",
        "改革任务到期提醒（工作日）",
        "int",
        5,
        "general",
        "到期前多少个工作日提醒负责部门和落实地区",
        1,
        30,
    ),
    ParamSpec(
        "general.audit_retention_days",
        "日志保存期限（天）",
        "int",
        184,
        "general",
        "等保要求不少于 184 天",
        184,
        3650,
    ),
    ParamSpec("general.site_notice", "工作台公告", "text", "", "general", "显示在工作台顶部"),
)
SPECS_BY_KEY = {spec.key: spec for spec in PARAM_SPECS}


def parse_value(value_type: str, raw: str) -> object:
    if value_type == "int":
        return int(raw)
    if value_type == "bool":
        return raw.lower() in {"1", "true", "yes", "on"}
    return raw


def format_value(value_type: str, value: object) -> str:
    if value_type == "bool":
        return "true" if value else "false"
    return str(value)


def value_of(key: str, raw: str | None) -> object:
    """The value in force for a stored text, or the declared default (no row, unreadable)."""
    spec = SPECS_BY_KEY[key]
    if raw is None:
        return spec.default
    try:
        return parse_value(spec.value_type, raw)
    except ValueError:
        return spec.default


class _RequestValues:
    """The stored texts of every parameter, read at most once per request."""

    def __init__(self) -> None:
        self.stored: dict[str, str] | None = None


_request_values: ContextVar[_RequestValues | None] = ContextVar(
    "policywindow_request_params", default=None
)


@contextmanager
def read_once_per_request() -> Iterator[None]:
    token = _request_values.set(_RequestValues())
    try:
        yield
    finally:
        _request_values.reset(token)


def forget_request_values(**_signal: object) -> None:
    """A parameter was saved: the rest of this request reads them again (post_save receiver)."""
    if (values := _request_values.get()) is not None:
        values.stored = None


def get_param(key: str) -> object:
    """The value in force; the declared default when no row exists yet."""
    from .models import SystemParameter

    values = _request_values.get()
    if values is None:
        stored = SystemParameter.objects.filter(key=key).values_list("value", flat=True).first()
        return value_of(key, stored)
    if values.stored is None:
        values.stored = dict(SystemParameter.objects.order_by().values_list("key", "value"))
    return value_of(key, values.stored.get(key))

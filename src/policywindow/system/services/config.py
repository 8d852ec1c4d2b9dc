"""Configuration data: posts, dictionaries, system parameters and the holiday calendar.

Every write takes the acting user first, runs in one transaction and records
its audit event inside it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import models, transaction

from policywindow.core import audit, holidays, provisional
from policywindow.core import calendar as workdays
from policywindow.core.access import require_permission
from policywindow.core.errors import (
    Conflict,
    ValidationFailed,
    full_clean_or_fail,
    refuse_duplicate,
)
from policywindow.core.models import CalendarDay, ProvisionalDeadline

from ..models import DictItem, DictType, Post, Status, SystemParameter, User
from ..params import format_value

POST_FIELDS = ["code", "name", "order", "remark"]
DICT_TYPE_FIELDS = ["code", "name", "remark"]
DICT_ITEM_FIELDS = ["label", "value", "order", "remark"]
CALENDAR_FIELDS = ["is_working_day", "note"]

PARAM_PERMISSIONS = {
    SystemParameter.Group.SECURITY: "security:param:update",
    SystemParameter.Group.GENERAL: "system:param:update",
}
BOOL_VALUES = {"true": True, "false": False, "1": True, "0": False}


def _save(actor: User, obj: models.Model, allowed: list[str], fields: dict[str, Any]):
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    creating = obj.pk is None
    before = None if creating else audit.snapshot(obj, allowed)
    for name, value in fields.items():
        setattr(obj, name, value)
    full_clean_or_fail(obj)
    obj.save()
    audit.record(
        f"{obj._meta.model_name}.{'create' if creating else 'update'}",
        actor=actor,
        target=obj,
        before=before,
        after=audit.snapshot(obj, allowed),
    )
    return obj


def _others(obj: models.Model) -> models.QuerySet:
    return type(obj).objects.exclude(pk=obj.pk)


@transaction.atomic
def set_status(actor: User, obj: Post | DictType | DictItem, status: str):
    """Enable or disable a post, a dictionary type or a dictionary item."""
    if status not in Status.values:
        raise ValueError(f"unknown status {status}")
    if isinstance(obj, DictType) and obj.builtin and status == Status.DISABLED:
        raise Conflict("内置字典被系统功能引用，不能停用；可停用其中不再使用的字典数据")
    before = {"status": obj.status}
    obj.status = status
    obj.save(update_fields=["status"])
    audit.record(
        f"{obj._meta.model_name}.status",
        actor=actor,
        target=obj,
        before=before,
        after={"status": status},
    )
    return obj


# ---------------------------------------------------------------- posts


@transaction.atomic
def save_post(actor: User, post: Post, **fields: Any) -> Post:
    """Create (``post.pk`` is None) or update a post; codes are unique ignoring case."""
    code = fields.get("code", post.code)
    refuse_duplicate(_others(post).filter(code__iexact=code), "code", "岗位编码已存在")
    return _save(actor, post, POST_FIELDS, fields)


# ---------------------------------------------------------------- dictionaries


@transaction.atomic
def save_dict_type(actor: User, dict_type: DictType, **fields: Any) -> DictType:
    code = fields.get("code", dict_type.code)
    if dict_type.builtin and code != dict_type.code:
        message = "内置字典的字典类型被程序引用，不能修改"
        raise ValidationFailed(message, details={"code": [message]})
    refuse_duplicate(_others(dict_type).filter(code__iexact=code), "code", "字典类型已存在")
    return _save(actor, dict_type, DICT_TYPE_FIELDS, fields)


@transaction.atomic
def save_dict_item(actor: User, item: DictItem, **fields: Any) -> DictItem:
    """Create (``item.pk`` is None, ``item.dict_type`` set) or update a dictionary item."""
    value = fields.get("value", item.value)
    refuse_duplicate(
        _others(item).filter(dict_type=item.dict_type_id, value=value),
        "value",
        f"该字典中已存在键值“{value}”",
    )
    return _save(actor, item, DICT_ITEM_FIELDS, fields)


# ---------------------------------------------------------------- parameters


def param_permission(group: str) -> str:
    """The permission code that may change parameters of ``group`` (三员分立)."""
    return PARAM_PERMISSIONS[group]


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, details={"value": [message]})


def _check_range(param: SystemParameter, number: int) -> None:
    low, high = param.min_value, param.max_value
    if low is not None and high is not None and not low <= number <= high:
        raise _invalid(f"取值范围为 {low} 至 {high}")
    if low is not None and number < low:
        raise _invalid(f"不能小于 {low}")
    if high is not None and number > high:
        raise _invalid(f"不能大于 {high}")


def clean_param_value(param: SystemParameter, raw: str) -> str:
    """The stored text of ``raw`` for this parameter, or a field-level error."""
    raw = (raw or "").strip()
    if param.value_type == SystemParameter.ValueType.INTEGER:
        if not raw:
            raise _invalid("请输入参数值")
        try:
            number = int(raw)
        except ValueError:
            raise _invalid("请输入整数") from None
        _check_range(param, number)
        return str(number)
    if param.value_type == SystemParameter.ValueType.BOOLEAN:
        if raw.lower() not in BOOL_VALUES:
            raise _invalid("请选择“是”或“否”")
        return format_value("bool", BOOL_VALUES[raw.lower()])
    max_length = SystemParameter._meta.get_field("value").max_length
    if len(raw) > max_length:
        raise _invalid(f"不能超过 {max_length} 个字符")
    return raw


@transaction.atomic
def update_parameter(actor: User, param: SystemParameter, value: str) -> SystemParameter:
    """Change a parameter's value; security and business groups need different grants."""
    require_permission(actor, param_permission(param.group))
    value = clean_param_value(param, value)
    locked = SystemParameter.objects.select_for_update().get(pk=param.pk)
    if locked.value == value:
        return locked
    before = {"value": locked.value}
    locked.value = value
    locked.save(update_fields=["value", "updated_at"])
    audit.record(
        "systemparameter.update",
        actor=actor,
        target=locked,
        before=before,
        after={"value": value},
        message=f"{locked.name}（{locked.key}）：{before['value'] or '空'} → {value or '空'}",
    )
    return locked


# ---------------------------------------------------------------- holiday calendar


@transaction.atomic
def set_calendar_day(
    actor: User, day: dt.date, *, is_working_day: bool, note: str = ""
) -> CalendarDay:
    """Declare a date a working or rest day; a date not yet maintained is added."""
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    creating = row is None
    row = row or CalendarDay(date=day)
    before = None if creating else audit.snapshot(row, CALENDAR_FIELDS)
    row.is_working_day = is_working_day
    row.note = note.strip()
    full_clean_or_fail(row)
    workdays.lock_for_load()
    row.save()
    audit.record(
        "calendarday.create" if creating else "calendarday.update",
        actor=actor,
        target=row,
        before=before,
        after=audit.snapshot(row, CALENDAR_FIELDS),
    )
    provisional.settle(everything=False)
    return row


@transaction.atomic
def import_official_holidays(actor: User, year: int) -> int:
    """Add the State Council's schedule for ``year``; dates already maintained stay as they are."""
    first, last = workdays.official_years()
    if not first <= year <= last:
        message = (
            f"节假日组件 chinesecalendar 尚未收录 {year} 年的法定节假日安排"
            f"（已收录 {first}—{last} 年）。请在国务院办公厅公布后升级该组件再导入，或逐日维护。"
        )
        raise ValidationFailed(message, details={"year": [message]})
    workdays.lock_for_load()
    created = workdays.seed_from_chinese_calendar(year, year)
    provisional.settle(everything=False)
    audit.record(
        "calendarday.import",
        actor=actor,
        object_type=CalendarDay._meta.label_lower,
        object_id=year,
        object_repr=f"{year} 年法定节假日",
        after={"year": year, "created": created},
        message=f"导入 {year} 年法定节假日，新增 {created} 天，已维护的日期未改动",
    )
    return created


# A previewed year travels to its confirmation signed, so what is written is exactly what the
# administrator saw, and only for an hour.
PLAN_SALT = "policywindow.calendar.year-plan"
PLAN_MAX_AGE = 60 * 60


@dataclass(frozen=True)
class YearPreview:
    plan: holidays.YearPlan
    changes: list[holidays.DayChange]
    provisional: int  # provisional deadlines that loading the year computes again
    token: str

    @property
    def listed(self) -> list[holidays.DayChange]:
        """Holidays, 调休 days and maintained dates that change: shown one by one."""
        return [change for change in self.changes if change.named]

    @property
    def filled(self) -> list[holidays.DayChange]:
        """Dates not maintained yet that the weekend fills: counted, listed on demand."""
        return [change for change in self.changes if not change.named]


@dataclass(frozen=True)
class YearLoad:
    year: int
    changed: int
    moved: int  # deadlines that moved


def preview_calendar_year(plan: holidays.YearPlan) -> YearPreview:
    """What loading ``plan`` would change, and the signed token that confirms it."""
    payload = {
        "year": plan.year,
        "source": plan.source,
        "days": [[d.date.isoformat(), d.is_working_day, d.note] for d in plan.special.values()],
        "table": workdays.fingerprint(plan.year),
    }
    return YearPreview(
        plan,
        holidays.changes(plan),
        ProvisionalDeadline.objects.count(),
        signing.dumps(payload, salt=PLAN_SALT, compress=True),
    )


def _confirmed_plan(token: str) -> tuple[holidays.YearPlan, str]:
    try:
        payload = signing.loads(token, salt=PLAN_SALT, max_age=PLAN_MAX_AGE)
    except signing.SignatureExpired:
        raise Conflict("预览已超过 1 小时，请重新预览后再确认导入") from None
    except signing.BadSignature:
        raise ValidationFailed("导入内容无效，请重新预览后再确认导入") from None
    special = {
        dt.date.fromisoformat(day): holidays.PlannedDay(dt.date.fromisoformat(day), working, note)
        for day, working, note in payload["days"]
    }
    return holidays.YearPlan(payload["year"], special, payload["source"]), payload["table"]


@transaction.atomic
def load_calendar_year(actor: User, token: str) -> YearLoad:
    """Write the previewed year in one step: every date of it, then every provisional deadline
    computed again (their people told), audited — all in this transaction."""
    plan, previewed = _confirmed_plan(token)
    workdays.lock_for_load()
    if workdays.fingerprint(plan.year) != previewed:
        raise Conflict(f"{plan.year} 年的节假日在预览后已被修改，请重新预览后再确认导入")
    changed = holidays.changes(plan)
    workdays.replace_year(plan.year, ((d.date, d.is_working_day, d.note) for d in plan.days()))
    moved = sum(len(found) for found in provisional.settle().values())
    audit.record(
        "calendarday.load_year",
        actor=actor,
        object_type=CalendarDay._meta.label_lower,
        object_id=plan.year,
        object_repr=f"{plan.year} 年节假日安排",
        after={
            "year": plan.year,
            "source": plan.source,
            "holidays": plan.holidays,
            "makeup_days": plan.makeup_days,
            "changed": len(changed),
            "deadlines_moved": moved,
        },
        message=(
            f"按年导入 {plan.year} 年节假日（{plan.source}）：放假 {plan.holidays} 天、"
            f"调休上班 {plan.makeup_days} 天，改动 {len(changed)} 个日期，重算期限 {moved} 个"
        ),
    )
    return YearLoad(plan.year, len(changed), moved)

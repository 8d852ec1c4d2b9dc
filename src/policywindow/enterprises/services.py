"""Writes of the enterprise registry: every change validated, transactional and audited.

Bank account numbers never reach the operation log in full: audit payloads carry
the masked form (DESIGN.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from policywindow.core import audit, events, exports
from policywindow.core.codes import classify_size, normalize_uscc, validate_uscc
from policywindow.core.errors import NotFound, PermissionDenied, ValidationFailed
from policywindow.system.models import Role, Status, User
from policywindow.system.services import users as user_services

from . import exporting
from .events import EnterpriseChanged
from .importing import COLUMN_LABELS, ImportRejected, RowProblem, read_workbook
from .models import (
    CLERK_EDITABLE_FIELDS,
    ENTERPRISE_EDITABLE_FIELDS,
    Enterprise,
    EnterpriseMember,
    Industry,
    Region,
)
from .selectors import enterprise_of, search_enterprises

AUDIT_FIELDS = [*CLERK_EDITABLE_FIELDS, "size", "department"]
DUPLICATE_CODE = "该统一社会信用代码已登记，不能重复登记"


def audit_snapshot(enterprise: Enterprise) -> dict[str, Any]:
    """The audited picture of an enterprise (bank account and phone masked by the log)."""
    return audit.snapshot(enterprise, AUDIT_FIELDS)


def _personal(enterprise: Enterprise) -> tuple[str, str]:
    """What the masks may hide: two accounts or phones can look alike once masked."""
    return enterprise.bank_account, enterprise.contact_phone


# ---------------------------------------------------------------- references and validation


@dataclass(frozen=True)
class References:
    """Industries and regions by code, loaded once per operation (imports check many rows)."""

    industries: dict[str, Industry]
    regions: dict[str, Region]

    @classmethod
    def load(cls) -> References:
        return cls(
            {i.code: i for i in Industry.objects.all()},
            {r.code: r for r in Region.objects.all()},
        )

    def industry(self, code: str) -> Industry:
        industry = self.industries.get(code)
        if industry is None:
            raise _field_error(
                "industry", f"行业代码“{code}”不存在（应为 GB/T 4754-2017 大类代码）"
            )
        if industry.level == Industry.Level.SECTION:
            raise _field_error("industry", f"“{industry}”是门类，请选择到大类")
        return industry

    def region(self, code: str) -> Region:
        region = self.regions.get(code)
        if region is None:
            raise _field_error("region", f"行政区划代码“{code}”不是辽宁省的市或区县代码")
        if region.level == Region.Level.PROVINCE:
            raise _field_error("region", "请选择到市或区县")
        return region


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


def _merge(problems: dict[str, list[str]], error: ValidationFailed | ValidationError) -> None:
    details = error.details if isinstance(error, ValidationFailed) else error.message_dict
    for field, messages in details.items():
        problems.setdefault(field, []).extend(messages)


def _normalize(name: str, value: Any, refs: References) -> Any:
    if name == "credit_code":
        return normalize_uscc(value or "")
    if name == "bank_account":
        return "".join((value or "").split())
    if name == "industry" and isinstance(value, str):
        return refs.industry(value.strip())
    if name == "region" and isinstance(value, str):
        return refs.region(value.strip())
    if isinstance(value, str):
        return value.strip()
    return value


def _assign(
    enterprise: Enterprise, data: Mapping[str, Any], refs: References
) -> dict[str, list[str]]:
    """Set the given fields; problems with a reference code are collected, not raised."""
    problems: dict[str, list[str]] = {}
    for name, value in data.items():
        try:
            setattr(enterprise, name, _normalize(name, value, refs))
        except ValidationFailed as exc:
            _merge(problems, exc)
    if not enterprise.high_tech:
        enterprise.high_tech_valid_until = None
    return problems


def enterprise_problems(
    enterprise: Enterprise, *, check_unique: bool = True
) -> dict[str, list[str]]:
    """Every reason the enterprise cannot be saved, by field, in Chinese."""
    problems: dict[str, list[str]] = {}
    try:
        validate_uscc(enterprise.credit_code)
    except ValidationFailed as exc:
        _merge(problems, exc)
    try:
        enterprise.full_clean(
            exclude=["credit_code", "industry", "region", "department", "created_by", "size"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        _merge(problems, exc)
    if enterprise.established_on and enterprise.established_on > timezone.localdate():
        problems.setdefault("established_on", []).append("成立日期不能晚于今天")
    if enterprise.industry_id and not problems.keys() & {"employees", "revenue", "total_assets"}:
        try:
            classify_size(
                enterprise.industry_section,
                enterprise.industry_id,
                enterprise.employees,
                enterprise.revenue,
                enterprise.total_assets,
            )
        except ValidationFailed as exc:
            _merge(problems, exc)
    if check_unique and "credit_code" not in problems and _code_taken(enterprise):
        problems["credit_code"] = [DUPLICATE_CODE]
    return problems


def _code_taken(enterprise: Enterprise) -> bool:
    return (
        Enterprise.objects.filter(credit_code=enterprise.credit_code)
        .exclude(pk=enterprise.pk)
        .exists()
    )


def _require_references(enterprise: Enterprise, problems: dict[str, list[str]]) -> None:
    for field, label in (("industry", "所属行业"), ("region", "所在地区")):
        if getattr(enterprise, f"{field}_id") is None and field not in problems:
            problems[field] = [f"请选择{label}"]


def _all_problems(
    enterprise: Enterprise, assign_problems: dict[str, list[str]], *, check_unique: bool = True
) -> dict[str, list[str]]:
    problems = {field: list(messages) for field, messages in assign_problems.items()}
    _require_references(enterprise, problems)
    for field, messages in enterprise_problems(enterprise, check_unique=check_unique).items():
        problems.setdefault(field, []).extend(messages)
    return problems


def _refuse_problems(enterprise: Enterprise, assign_problems: dict[str, list[str]]) -> None:
    problems = _all_problems(enterprise, assign_problems)
    if problems:
        raise ValidationFailed("企业信息有误，请按提示修改", details=problems)


def _save_checked(enterprise: Enterprise, assign_problems: dict[str, list[str]]) -> None:
    _refuse_problems(enterprise, assign_problems)
    try:
        with transaction.atomic():
            enterprise.save()
    except IntegrityError as exc:
        # Another request registered the same code between the check and this write.
        raise _field_error("credit_code", DUPLICATE_CODE) from exc


# ---------------------------------------------------------------- create and edit


def _check_keys(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"cannot change {', '.join(unknown)} here")


def build_enterprise(
    actor: User, data: Mapping[str, Any], refs: References
) -> tuple[Enterprise, dict]:
    """A new, unsaved enterprise registered by the actor's window, and its assignment problems."""
    _check_keys(data, CLERK_EDITABLE_FIELDS)
    enterprise = Enterprise(department=actor.department, created_by=actor)
    return enterprise, _assign(enterprise, data, refs)


@transaction.atomic
def create_enterprise(actor: User, data: Mapping[str, Any]) -> Enterprise:
    """Register an enterprise (window clerk). Raises ``ValidationFailed`` with field details."""
    enterprise, problems = build_enterprise(actor, data, References.load())
    _save_checked(enterprise, problems)
    audit.record(
        "enterprise.create", actor=actor, target=enterprise, after=audit_snapshot(enterprise)
    )
    return enterprise


@transaction.atomic
def update_enterprise(actor: User, enterprise: Enterprise, data: Mapping[str, Any]) -> Enterprise:
    """A window clerk's edit; ``data`` holds only the fields to change."""
    _check_keys(data, CLERK_EDITABLE_FIELDS)
    return _update(actor, enterprise, data, message="")


@transaction.atomic
def update_own_enterprise(actor: User, data: Mapping[str, Any]) -> Enterprise:
    """An enterprise user's edit of its own enterprise, limited to ENTERPRISE_EDITABLE_FIELDS."""
    enterprise = enterprise_of(actor)
    if enterprise is None:
        raise NotFound("您的账号尚未关联企业，请联系政务服务窗口")
    refused = sorted(set(data) - set(ENTERPRISE_EDITABLE_FIELDS))
    if refused:
        names = "、".join(str(Enterprise._meta.get_field(f).verbose_name) for f in refused)
        raise PermissionDenied(f"企业用户不能修改：{names}，如需变更请联系窗口工作人员")
    return _update(actor, enterprise, data, message="企业用户修改本企业信息")


def _update(
    actor: User, enterprise: Enterprise, data: Mapping[str, Any], *, message: str
) -> Enterprise:
    locked = Enterprise.objects.select_for_update().get(pk=enterprise.pk)
    before, old_personal = audit_snapshot(locked), _personal(locked)
    problems = _assign(locked, data, References.load())
    account_changed = locked.bank_account != old_personal[0]
    if audit_snapshot(locked) == before and _personal(locked) == old_personal:
        _refuse_problems(locked, problems)  # bad input is still refused; nothing is written
        return locked
    _save_checked(locked, problems)
    after = audit_snapshot(locked)  # after saving: the size is derived on save
    events.publish(EnterpriseChanged(locked.pk))
    # Two accounts may share their last 4 digits: say so, as the masks look alike.
    note = "银行账号已变更" if account_changed else ""
    audit.record(
        "enterprise.update",
        actor=actor,
        target=locked,
        before=before,
        after=after,
        message="；".join(part for part in (message, note) if part),
    )
    return locked


# ---------------------------------------------------------------- members (企业经办人)


def _add_membership(
    actor: User, enterprise: Enterprise, user: User, is_admin: bool
) -> EnterpriseMember:
    member = EnterpriseMember.objects.create(enterprise=enterprise, user=user, is_admin=is_admin)
    audit.record(
        "enterprisemember.create",
        actor=actor,
        target=member,
        after={"enterprise": enterprise.pk, "user": user.username, "is_admin": is_admin},
    )
    return member


@transaction.atomic
def link_member(
    actor: User, enterprise: Enterprise, username: str, *, is_admin: bool = False
) -> EnterpriseMember:
    """Make an existing enterprise-kind user an agent (经办人) of the enterprise."""
    user = User.objects.select_for_update().filter(username__iexact=username.strip()).first()
    if user is None:
        raise _field_error("username", f"用户“{username}”不存在")
    if user.kind != User.Kind.ENTERPRISE:
        raise _field_error("username", "该用户是政府工作人员，只有企业用户才能作为企业经办人")
    current = EnterpriseMember.objects.filter(user=user).select_related("enterprise").first()
    if current is not None:
        where = "本企业" if current.enterprise_id == enterprise.pk else "其他企业"
        raise _field_error("username", f"该用户已是{where}的经办人，一个账号只能关联一家企业")
    return _add_membership(actor, enterprise, user, is_admin)


@transaction.atomic
def create_member(
    actor: User,
    enterprise: Enterprise,
    *,
    username: str,
    real_name: str,
    mobile: str = "",
    email: str = "",
    is_admin: bool = False,
) -> tuple[EnterpriseMember, str]:
    """Open an enterprise account with a generated password (shown once) and link it."""
    password = user_services.generate_password()
    role = Role.objects.filter(code="enterprise", status=Status.ENABLED).first()
    user = user_services.create_user(
        actor,
        username=username.strip(),
        real_name=real_name.strip(),
        password=password,
        kind=User.Kind.ENTERPRISE,
        mobile=mobile,
        email=email,
        roles=[role] if role else [],
    )
    return _add_membership(actor, enterprise, user, is_admin), password


@transaction.atomic
def remove_member(actor: User, member: EnterpriseMember) -> None:
    """Unlink the agent; the account stays (it may be linked to another enterprise later)."""
    audit.record(
        "enterprisemember.delete",
        actor=actor,
        target=member,
        before={
            "enterprise": member.enterprise_id,
            "user": member.user.username,
            "is_admin": member.is_admin,
        },
    )
    member.delete()


# ---------------------------------------------------------------- Excel import


def import_enterprises(actor: User, upload) -> list[Enterprise]:
    """All rows or nothing: any problem in any row refuses the whole file with a report.

    The file is opened, checked and read before the transaction: a hostile workbook is
    refused without ever holding a database lock.
    """
    rows = read_workbook(upload)
    refs = References.load()
    problems: list[RowProblem] = []
    candidates = []
    for row in rows:
        enterprise, assign_problems = build_enterprise(actor, row.data, refs)
        found = _all_problems(enterprise, assign_problems, check_unique=False)
        problems += row.problems + [
            RowProblem(row.number, COLUMN_LABELS.get(field, field), message)
            for field, messages in found.items()
            if field not in row.failed_fields
            for message in messages
        ]
        candidates.append((row.number, enterprise))
    problems += _duplicate_codes(candidates)
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.row))
    with transaction.atomic():
        for _row, enterprise in candidates:
            enterprise.save()
            audit.record(
                "enterprise.create",
                actor=actor,
                target=enterprise,
                after=audit_snapshot(enterprise),
                message="Excel 批量导入",
            )
    return [enterprise for _row, enterprise in candidates]


def _duplicate_codes(candidates: list[tuple[int, Enterprise]]) -> list[RowProblem]:
    column = COLUMN_LABELS["credit_code"]
    codes = [e.credit_code for _row, e in candidates if e.credit_code]
    registered = set(
        Enterprise.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True)
    )
    first_row: dict[str, int] = {}
    problems = []
    for row, enterprise in candidates:
        code = enterprise.credit_code
        if not code:
            continue
        if code in registered:
            problems.append(RowProblem(row, column, f"{code} 已登记，不能重复导入"))
        elif code in first_row:
            problems.append(
                RowProblem(row, column, f"与第 {first_row[code]} 行的统一社会信用代码重复")
            )
        else:
            first_row[code] = row
    return problems


# ---------------------------------------------------------------- export


def export_enterprises(actor: User, criteria: Mapping[str, str], filters: dict[str, str]) -> bytes:
    """企业管理's list as Excel: the page's filters (``criteria``, described by ``filters``)
    within the actor's data scope; at most ``exports.MAX_ROWS`` rows; in the operation log."""
    enterprises = search_enterprises(actor, **criteria)
    count = enterprises.count()
    exports.check_size(count, "企业")
    body = exporting.workbook(enterprises, count, filters, actor)
    exports.record_export(actor, Enterprise, filters, count)
    return body

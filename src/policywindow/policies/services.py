"""Writes of the policy library. Each function takes the actor first, runs in one
transaction and records an audit event inside it.

Rules are versioned: content lives in ``RuleVersion`` rows. Only a draft version
and its items can change; publishing freezes the version, makes it the rule's
current one and supersedes the previous. Editing a published rule means
``create_new_version``, which copies the newest version into a new draft.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import nh3
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from policywindow.core import audit, events
from policywindow.core.errors import Conflict, ValidationFailed, full_clean_or_fail
from policywindow.system.models import User

from . import engine, files, selectors
from .events import PolicyPublished, RulePublished
from .models import (
    ITEM_CONTENT_FIELDS,
    VERSION_CONTENT_FIELDS,
    Policy,
    PolicyAttachment,
    RequiredItem,
    Rule,
    RuleVersion,
)
from .search import normalize, plain_text

# ---------------------------------------------------------------- shared helpers

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "sub", "sup", "h2", "h3", "h4",
    "ul", "ol", "li", "blockquote", "hr", "a",
    "table", "caption", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
URL_SCHEMES = {"http", "https", "mailto"}
SIZES = ("large", "medium", "small", "micro")
TEMPLATE_TYPES = ("pdf", "doc", "docx", "xls", "xlsx")
TEMPLATE_MAX_MB = 10
ATTACHMENT_MAX_MB = 20


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details={field: [message]})


class _Problems:
    """Collects field-level messages so a form shows every problem at once."""

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.details.setdefault(field, []).append(message)

    def raise_any(self, message: str = "提交的内容有误") -> None:
        if self.details:
            raise ValidationFailed(message, details=self.details)


def sanitize_html(markup: str) -> str:
    """Rich text reduced to a safe set of tags; plain text becomes paragraphs."""
    markup = (markup or "").strip()
    if markup and "<" not in markup:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", markup) if p.strip()]
        markup = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


# ---------------------------------------------------------------- policies

POLICY_FIELDS = (
    "title",
    "doc_number",
    "issuing_department",
    "publish_date",
    "effective_from",
    "effective_to",
    "summary",
    "full_text",
    "theme",
    "sizes",
    "is_demo",
)
POLICY_AUDIT_FIELDS = [f for f in POLICY_FIELDS if f != "full_text"] + ["status"]


def _policy_snapshot(policy: Policy) -> dict[str, Any]:
    data = audit.snapshot(policy, POLICY_AUDIT_FIELDS)
    if policy.pk:
        data["industries"] = sorted(policy.industries.values_list("pk", flat=True))
        data["regions"] = sorted(policy.regions.values_list("pk", flat=True))
    return data


def _check_policy(actor: User, policy: Policy) -> None:
    problems = _Problems()
    if (
        policy.issuing_department_id
        and not selectors.departments_for(actor).filter(pk=policy.issuing_department_id).exists()
    ):
        problems.add("issuing_department", "只能选择您数据范围内的部门作为发文部门")
    if (
        policy.effective_from
        and policy.effective_to
        and policy.effective_from > policy.effective_to
    ):
        problems.add("effective_to", "失效日期不能早于生效日期")
    if policy.theme and policy.theme not in dict(selectors.theme_choices()):
        problems.add("theme", "请选择有效的政策主题")
    if any(size not in SIZES for size in policy.sizes):
        problems.add("sizes", "企业规模只能是大型、中型、小型、微型")
    if (
        policy.doc_number
        and Policy.objects.exclude(pk=policy.pk).filter(doc_number=policy.doc_number).exists()
    ):
        problems.add("doc_number", "该文号已被其他政策使用")
    problems.raise_any()


def _save_policy(actor: User, policy: Policy, fields: dict[str, Any]) -> Policy:
    industries = fields.pop("industries", None)
    regions = fields.pop("regions", None)
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.title = policy.title.strip()
    policy.full_text = sanitize_html(policy.full_text)
    policy.sizes = list(dict.fromkeys(policy.sizes or []))
    _check_policy(actor, policy)
    full_clean_or_fail(policy, exclude=["search_text", "created_by"])
    policy.save()
    if industries is not None:
        policy.industries.set(industries)
    if regions is not None:
        policy.regions.set(regions)
    refresh_search_text(policy)
    return policy


@transaction.atomic
def create_policy(actor: User, **fields: Any) -> Policy:
    """A new draft policy."""
    policy = _save_policy(actor, Policy(created_by=actor), fields)
    audit.record("policy.create", actor=actor, target=policy, after=_policy_snapshot(policy))
    return policy


@transaction.atomic
def update_policy(actor: User, policy: Policy, **fields: Any) -> Policy:
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    before = _policy_snapshot(policy)
    _save_policy(actor, policy, fields)
    audit.record(
        "policy.update", actor=actor, target=policy, before=before, after=_policy_snapshot(policy)
    )
    return policy


def refresh_search_text(policy: Policy) -> None:
    """Policy texts plus the published rules' texts, normalised for search."""
    rule_texts = RuleVersion.objects.filter(
        rule__policy=policy, status=RuleVersion.Status.PUBLISHED
    ).values_list("search_text", flat=True)
    parts = [policy.title, policy.doc_number, policy.summary, plain_text(policy.full_text)]
    policy.search_text = normalize(" ".join([*parts, *rule_texts]))
    Policy.objects.filter(pk=policy.pk).update(search_text=policy.search_text)


# Which statuses each action starts from, and where it leads.
POLICY_MOVES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "publish": (
        (Policy.Status.DRAFT, Policy.Status.WITHDRAWN),
        Policy.Status.PUBLISHED,
        "发布",
    ),
    "withdraw": ((Policy.Status.PUBLISHED,), Policy.Status.WITHDRAWN, "撤回"),
    "expire": ((Policy.Status.PUBLISHED,), Policy.Status.EXPIRED, "设为失效"),
}


def _move_policy(actor: User, policy: Policy, action: str, message: str = "") -> Policy:
    sources, target, verb = POLICY_MOVES[action]
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if policy.status not in sources:
        raise Conflict(f"政策当前为“{policy.get_status_display()}”，不能{verb}")
    before = {"status": policy.status}
    policy.status = target
    if action == "publish" and policy.publish_date is None:
        policy.publish_date = timezone.localdate()
    policy.save(update_fields=["status", "publish_date", "updated_at"])
    audit.record(
        f"policy.{action}",
        actor=actor,
        target=policy,
        before=before,
        after={"status": policy.status},
        message=message,
    )
    return policy


@transaction.atomic
def publish_policy(actor: User, policy: Policy) -> Policy:
    if policy.effective_to and policy.effective_to < timezone.localdate():
        raise Conflict(f"政策已于 {policy.effective_to:%Y-%m-%d} 失效，不能发布")
    events.publish(PolicyPublished(policy.pk))
    return _move_policy(actor, policy, "publish")


@transaction.atomic
def withdraw_policy(actor: User, policy: Policy, reason: str) -> Policy:
    reason = (reason or "").strip()
    if not reason:
        raise _fail("reason", "请填写撤回原因")
    return _move_policy(actor, policy, "withdraw", message=f"撤回原因：{reason}"[:500])


@transaction.atomic
def expire_policy(actor: User, policy: Policy) -> Policy:
    return _move_policy(actor, policy, "expire")


@transaction.atomic
def add_attachment(actor: User, policy: Policy, upload: UploadedFile) -> PolicyAttachment:
    ext = files.check_upload(
        upload, field="file", allowed=files.FILE_TYPES, max_mb=ATTACHMENT_MAX_MB
    )
    original = upload.name
    digest = files.sha256_of(upload)
    upload.name = files.random_name(ext)
    attachment = PolicyAttachment.objects.create(
        policy=policy, file=upload, original_name=original[:200], size=upload.size, sha256=digest
    )
    audit.record(
        "policyattachment.create",
        actor=actor,
        target=attachment,
        after={"policy": policy.pk, "name": attachment.original_name, "sha256": digest},
    )
    return attachment


@transaction.atomic
def remove_attachment(actor: User, attachment: PolicyAttachment) -> None:
    before = {"policy": attachment.policy_id, "name": attachment.original_name}
    audit.record("policyattachment.delete", actor=actor, target=attachment, before=before)
    attachment.delete()


# ---------------------------------------------------------------- rules and versions

CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
VERSION_FIELDS = (*VERSION_CONTENT_FIELDS, "change_note")
GUIDE_REQUIRED_TO_PUBLISH = ("beneficiaries", "conditions_text", "standard_text")
MAX_REVIEW_DAYS = 60


def _version_snapshot(version: RuleVersion) -> dict[str, Any]:
    return audit.snapshot(version, ["version", "status", *VERSION_FIELDS])


def search_text_of(version: RuleVersion) -> str:
    parts = [
        version.rule.code,
        version.title,
        version.beneficiaries,
        version.conditions_text,
        version.standard_text,
        version.time_limit_text,
        version.address,
    ]
    return normalize(" ".join(parts))


def _ensure_draft(version: RuleVersion) -> None:
    if version.status != RuleVersion.Status.DRAFT:
        raise Conflict(
            f"第 {version.version} 版{version.get_status_display()}，不能修改；"
            "如需修改请创建新版本",
            code="version_frozen",
        )


def _locked_draft(version: RuleVersion) -> RuleVersion:
    version = RuleVersion.objects.select_for_update().select_related("rule").get(pk=version.pk)
    _ensure_draft(version)
    return version


def _check_expressions(version: RuleVersion, problems: _Problems) -> None:
    known = selectors.available_attributes(version)
    for message in engine.check_expression(version.eligibility_expression, known):
        problems.add("eligibility_expression", message)
    for message in engine.check_formula(version.amount_formula, known):
        problems.add("amount_formula", message)


def _check_version(version: RuleVersion) -> None:
    problems = _Problems()
    if not version.title.strip():
        problems.add("title", "请填写细则名称")
    if not version.lead_department_id:
        problems.add("lead_department", "请选择牵头部门")
    _check_expressions(version, problems)
    if version.opens_on and version.closes_on and version.opens_on > version.closes_on:
        problems.add("closes_on", "申报截止日期不能早于开始日期")
    for name in ("per_enterprise_cap", "annual_budget"):
        value = getattr(version, name)
        if value is not None and value < 0:
            problems.add(name, "金额不能为负数")
    cap, budget = version.per_enterprise_cap, version.annual_budget
    if cap is not None and budget is not None and cap > budget:
        problems.add("per_enterprise_cap", "单个企业上限不能超过年度预算")
    if not 1 <= (version.review_days or 0) <= MAX_REVIEW_DAYS:
        problems.add("review_days", f"审核时限须为 1–{MAX_REVIEW_DAYS} 个工作日")
    problems.raise_any()
    full_clean_or_fail(version, exclude=["rule", "search_text", "created_by", "published_by"])


def _apply_version_fields(version: RuleVersion, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(VERSION_FIELDS)
    if unknown:
        raise ValueError(f"not rule version fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(version, name, value.strip() if isinstance(value, str) else value)


@transaction.atomic
def create_rule(actor: User, policy: Policy, *, code: str, order: int = 0, **fields: Any) -> Rule:
    """A new rule with its first version as a draft."""
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise _fail("code", "细则编码须为 2–32 位大写字母、数字、连字符或下划线，并以字母开头")
    if Rule.objects.filter(code=code).exists():
        raise _fail("code", f"细则编码 {code} 已存在")
    if not selectors.policies_for(actor).filter(pk=policy.pk).exists():
        raise _fail("policy", "只能为您数据范围内的政策新增细则")
    fields.setdefault("review_days", selectors.default_review_days())
    rule = Rule(policy=policy, code=code, order=order)
    version = RuleVersion(rule=rule, version=1, created_by=actor)
    _apply_version_fields(version, fields)
    _check_version(version)
    rule.save()
    version.rule = rule
    version.search_text = search_text_of(version)
    version.save()
    audit.record(
        "rule.create",
        actor=actor,
        target=rule,
        after={"code": code, "policy": policy.pk, **_version_snapshot(version)},
    )
    return rule


@transaction.atomic
def update_version(actor: User, version: RuleVersion, **fields: Any) -> RuleVersion:
    """Change a draft version's guide and rule fields (a published version is frozen)."""
    version = _locked_draft(version)
    before = _version_snapshot(version)
    _apply_version_fields(version, fields)
    _check_version(version)
    version.search_text = search_text_of(version)
    version.save()
    audit.record(
        "ruleversion.update",
        actor=actor,
        target=version,
        before=before,
        after=_version_snapshot(version),
    )
    return version


def _check_publishable(version: RuleVersion) -> None:
    problems = _Problems()
    for name in GUIDE_REQUIRED_TO_PUBLISH:
        if not getattr(version, name).strip():
            label = RuleVersion._meta.get_field(name).verbose_name
            problems.add(name, f"发布前请填写{label}")
    if not version.auto_grant and not version.items.exists():
        problems.add("__all__", "发布前请至少添加一个要件项（免申即享的细则除外）")
    problems.raise_any("细则尚不能发布")
    _check_version(version)


@transaction.atomic
def publish_version(actor: User, version: RuleVersion) -> RuleVersion:
    """Freeze the draft, make it the rule's current version, supersede the previous one."""
    rule = Rule.objects.select_for_update().select_related("policy").get(pk=version.rule_id)
    version = _locked_draft(version)
    _check_publishable(version)
    previous = rule.current
    if previous is not None:
        RuleVersion.objects.filter(pk=previous.pk).update(status=RuleVersion.Status.SUPERSEDED)
    version.status = RuleVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = actor
    version.save(update_fields=["status", "published_at", "published_by"])
    rule.current = version
    rule.save(update_fields=["current"])
    events.publish(RulePublished(rule.pk))
    refresh_search_text(rule.policy)
    audit.record(
        "ruleversion.publish",
        actor=actor,
        target=version,
        before={"current": previous.version if previous else None},
        after={"current": version.version, "status": version.status},
        message=version.change_note,
    )
    return version


ITEM_COPY_FIELDS = ("key", *ITEM_CONTENT_FIELDS, "template_file")


@transaction.atomic
def create_new_version(actor: User, rule: Rule) -> RuleVersion:
    """Edit a published rule: a new draft copying the newest version's fields and items."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    draft = rule.versions.filter(status=RuleVersion.Status.DRAFT).first()
    if draft is not None:
        raise Conflict(f"已有未发布的第 {draft.version} 版草稿，请直接修改该版本")
    source = rule.versions.order_by("-version").first()
    number = (rule.versions.aggregate(top=Max("version"))["top"] or 0) + 1
    version = RuleVersion(rule=rule, version=number, created_by=actor)
    for name in VERSION_FIELDS:
        setattr(version, name, getattr(source, name))
    version.change_note = ""
    version.search_text = source.search_text
    version.save()
    RequiredItem.objects.bulk_create(
        RequiredItem(rule_version=version, **{f: getattr(item, f) for f in ITEM_COPY_FIELDS})
        for item in source.items.all()
    )
    audit.record(
        "ruleversion.create",
        actor=actor,
        target=version,
        after={"copied_from": source.version, **_version_snapshot(version)},
    )
    return version


# ---------------------------------------------------------------- required items

ITEM_FIELDS = tuple(f for f in ITEM_COPY_FIELDS if f not in ("template_file", "template_name"))
ITEM_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
NUMERIC_KINDS = {RequiredItem.Kind.INTEGER, RequiredItem.Kind.NUMBER, RequiredItem.Kind.MONEY}
CHOICE_KINDS = {RequiredItem.Kind.CHOICE, RequiredItem.Kind.MULTI_CHOICE}
TEXT_KINDS = {RequiredItem.Kind.TEXT, RequiredItem.Kind.LONG_TEXT}
MAX_FILE_MB = 50
MAX_FILES = 20


def _item_snapshot(item: RequiredItem) -> dict[str, Any]:
    return audit.snapshot(item, ["rule_version", *ITEM_FIELDS, "template_name"])


def _clear_unused(item: RequiredItem) -> None:
    """Settings that do not apply to the item's kind are dropped, not kept silently."""
    if item.kind not in NUMERIC_KINDS:
        item.min_value = item.max_value = None
    if item.kind not in CHOICE_KINDS:
        item.options = []
    if item.kind not in TEXT_KINDS:
        item.pattern = ""
    if item.kind != RequiredItem.Kind.FILE:
        item.allowed_types = []
        item.max_size_mb, item.max_files = 10, 1


def _check_options(item: RequiredItem, problems: _Problems) -> None:
    if item.kind not in CHOICE_KINDS:
        return
    options = item.options
    if not isinstance(options, list) or any(not isinstance(o, str) or not o for o in options):
        problems.add("options", "选项须为非空文本")
    elif len(options) < 2:
        problems.add("options", "单选、多选至少需要两个选项")
    elif len(set(options)) != len(options):
        problems.add("options", "选项不能重复")


def _check_file_settings(item: RequiredItem, problems: _Problems) -> None:
    if item.kind != RequiredItem.Kind.FILE:
        return
    types = item.allowed_types
    if not types:
        problems.add("allowed_types", "请至少选择一种允许的文件类型")
    elif any(t not in files.FILE_TYPES for t in types):
        problems.add("allowed_types", f"文件类型只能是：{'、'.join(files.FILE_TYPES)}")
    if not 1 <= (item.max_size_mb or 0) <= MAX_FILE_MB:
        problems.add("max_size_mb", f"单个文件上限须为 1–{MAX_FILE_MB} MB")
    if not 1 <= (item.max_files or 0) <= MAX_FILES:
        problems.add("max_files", f"文件数量上限须为 1–{MAX_FILES} 个")


def _check_bounds(item: RequiredItem, problems: _Problems) -> None:
    low, high = item.min_value, item.max_value
    if low is not None and high is not None and low > high:
        problems.add("max_value", "最大值不能小于最小值")
    if item.kind == RequiredItem.Kind.INTEGER:
        for name, value in (("min_value", low), ("max_value", high)):
            if value is not None and value != value.to_integral():
                problems.add(name, "整数类型的取值范围须为整数")


def _check_pattern(item: RequiredItem, problems: _Problems) -> None:
    if not item.pattern:
        return
    try:
        re.compile(item.pattern)
    except re.error as exc:
        problems.add("pattern", f"格式（正则）无效：{exc.msg}")


def _check_key(item: RequiredItem, problems: _Problems) -> None:
    if not ITEM_KEY.match(item.key or ""):
        problems.add("key", "字段标识须以小写字母开头，只能包含小写字母、数字和下划线")
    elif item.key in engine.KEYWORDS:
        problems.add("key", f"“{item.key}”是表达式保留字，不能用作字段标识")
    elif (
        RequiredItem.objects.filter(rule_version=item.rule_version_id, key=item.key)
        .exclude(pk=item.pk)
        .exists()
    ):
        problems.add("key", f"本版本已有字段标识为 {item.key} 的要件项")


def _check_prefill(item: RequiredItem, problems: _Problems) -> None:
    facts = engine.fact_labels()
    if item.prefill_source and facts and item.prefill_source not in facts:
        problems.add("prefill_source", "预填来源须为企业属性之一")


def _check_item(item: RequiredItem) -> None:
    _clear_unused(item)
    problems = _Problems()
    for check in (
        _check_key,
        _check_options,
        _check_file_settings,
        _check_bounds,
        _check_pattern,
        _check_prefill,
    ):
        check(item, problems)
    problems.raise_any()
    full_clean_or_fail(item, exclude=["rule_version", "template_file"])


def _attach_template(item: RequiredItem, template: UploadedFile | None, clear: bool) -> None:
    if template is not None:
        ext = files.check_upload(
            template, field="template", allowed=TEMPLATE_TYPES, max_mb=TEMPLATE_MAX_MB
        )
        item.template_name = template.name[:200]
        template.name = files.random_name(ext)
        item.template_file = template
    elif clear:
        item.template_file = ""
        item.template_name = ""


def _apply_item_fields(item: RequiredItem, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"not required item fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(item, name, value.strip() if isinstance(value, str) else value)


def _next_order(version: RuleVersion) -> int:
    top = version.items.aggregate(top=Max("order"))["top"]
    return (top or 0) + 10


@transaction.atomic
def add_item(
    actor: User, version: RuleVersion, *, template: UploadedFile | None = None, **fields: Any
) -> RequiredItem:
    version = _locked_draft(version)
    item = RequiredItem(rule_version=version)
    _apply_item_fields(item, fields)
    if not fields.get("order"):
        item.order = _next_order(version)
    _check_item(item)
    _attach_template(item, template, clear=False)
    item.save()
    audit.record("requireditem.create", actor=actor, target=item, after=_item_snapshot(item))
    return item


@transaction.atomic
def update_item(
    actor: User,
    item: RequiredItem,
    *,
    template: UploadedFile | None = None,
    clear_template: bool = False,
    **fields: Any,
) -> RequiredItem:
    _locked_draft(item.rule_version)
    item = RequiredItem.objects.get(pk=item.pk)
    before = _item_snapshot(item)
    _apply_item_fields(item, fields)
    _check_item(item)
    _attach_template(item, template, clear=clear_template)
    item.save()
    audit.record(
        "requireditem.update", actor=actor, target=item, before=before, after=_item_snapshot(item)
    )
    return item


@transaction.atomic
def remove_item(actor: User, item: RequiredItem) -> None:
    _locked_draft(item.rule_version)
    audit.record("requireditem.delete", actor=actor, target=item, before=_item_snapshot(item))
    RequiredItem.objects.filter(pk=item.pk).delete()


@transaction.atomic
def reorder_items(actor: User, version: RuleVersion, item_ids: Iterable[int]) -> None:
    """Put the version's items in the given order (every item exactly once)."""
    version = _locked_draft(version)
    ids = list(item_ids)
    current = dict(version.items.values_list("pk", "order"))
    if sorted(ids) != sorted(current):
        raise ValidationFailed("排序须包含本版本的全部要件项，且每项只出现一次")
    for position, pk in enumerate(ids, start=1):
        RequiredItem.objects.filter(pk=pk).update(order=position * 10)
    audit.record(
        "ruleversion.reorder_items",
        actor=actor,
        target=version,
        before={"order": sorted(current, key=lambda pk: (current[pk], pk))},
        after={"order": ids},
    )


@transaction.atomic
def move_item(actor: User, item: RequiredItem, offset: int) -> None:
    """Move an item one place up (-1) or down (+1) among its version's items."""
    version = _locked_draft(item.rule_version)
    ids = list(version.items.order_by("order", "id").values_list("pk", flat=True))
    position = ids.index(item.pk)
    target = max(0, min(len(ids) - 1, position + offset))
    ids.insert(target, ids.pop(position))
    reorder_items(actor, version, ids)

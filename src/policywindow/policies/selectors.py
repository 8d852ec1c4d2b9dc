"""Reads of the policy library. Data scope and "what the public may see" are decided here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.system.datascope import scope_filter, visible_departments
from policywindow.system.models import Department, DictItem, Status
from policywindow.system.params import get_param

from . import engine, wording
from .models import (
    ITEM_CONTENT_FIELDS,
    VERSION_CONTENT_FIELDS,
    Policy,
    PolicyAttachment,
    RequiredItem,
    Rule,
    RuleVersion,
)
from .search import all_terms, matching, search_terms

THEME_DICT = "policy_theme"


# ---------------------------------------------------------------- reference data


def theme_choices() -> list[tuple[str, str]]:
    """(value, label) of the enabled 政策主题 dictionary items."""
    return list(
        DictItem.objects.filter(
            dict_type__code=THEME_DICT, dict_type__status=Status.ENABLED, status=Status.ENABLED
        )
        .order_by("order", "id")
        .values_list("value", "label")
    )


def theme_labels() -> dict[str, str]:
    return dict(DictItem.objects.filter(dict_type__code=THEME_DICT).values_list("value", "label"))


def departments_for(user) -> QuerySet[Department]:
    """Departments a policy administrator may issue policies for (their data scope)."""
    return visible_departments(user).filter(status=Status.ENABLED).order_by("path")


def default_review_days() -> int:
    return int(get_param("general.review_limit_days"))


def lead_departments() -> QuerySet[Department]:
    """Any enabled department may lead a rule (e.g. 科技厅 for a 营商局 policy)."""
    return Department.objects.filter(status=Status.ENABLED).order_by("path")


def available_attributes(version: RuleVersion | None) -> dict[str, str] | None:
    """Names a rule's expressions may use, with labels; ``None`` while facts are unknown."""
    facts = engine.fact_labels()
    if not facts:
        return None
    items = {} if version is None or version.pk is None else item_labels(version)
    return {**facts, **items}


def condition_lines(version: RuleVersion) -> list[wording.Reading]:
    """Each eligibility condition of the version, in words beside its expression."""
    labels = available_attributes(version) or {}
    return wording.readings(version.eligibility_expression, labels)


def item_labels(version: RuleVersion) -> dict[str, str]:
    return dict(version.items.values_list("key", "label"))


# ---------------------------------------------------------------- policies (staff)


def policies_for(user) -> QuerySet[Policy]:
    """Policies issued by departments in the user's data scope (or created by them)."""
    return scope_filter(
        Policy.objects.select_related("issuing_department"),
        user,
        dept_field="issuing_department",
        owner_field="created_by",
    )


def search_policies(
    queryset: QuerySet[Policy], *, q: str = "", status: str = "", theme: str = ""
) -> QuerySet[Policy]:
    if status:
        queryset = queryset.filter(status=status)
    if theme:
        queryset = queryset.filter(theme=theme)
    return matching(queryset, q, text_field="search_text", title_field="title")


def policy_rules(policy: Policy) -> list[Rule]:
    """All rules of a policy with their newest version (``rule.head``)."""
    return with_heads(policy.rules.select_related("current"))


# ---------------------------------------------------------------- rules (staff)


def rules_for(user) -> QuerySet[Rule]:
    """Rules of the policies in the user's data scope."""
    return scope_filter(
        Rule.objects.select_related("policy", "current"),
        user,
        dept_field="policy__issuing_department",
        owner_field="policy__created_by",
    )


def search_rules(
    queryset: QuerySet[Rule], *, q: str = "", policy_id: int | None = None, state: str = ""
) -> QuerySet[Rule]:
    """Staff search: a rule matches when one of its versions holds every term."""
    if policy_id:
        queryset = queryset.filter(policy_id=policy_id)
    if state == "published":
        queryset = queryset.filter(current__isnull=False)
    elif state == "unpublished":
        queryset = queryset.filter(current__isnull=True)
    elif state == "draft":
        queryset = queryset.filter(
            Exists(RuleVersion.objects.filter(rule=OuterRef("pk"), status=RuleVersion.Status.DRAFT))
        )
    terms = search_terms(q)
    if terms:
        versions = RuleVersion.objects.filter(rule=OuterRef("pk")).filter(
            all_terms("search_text", terms)
        )
        queryset = queryset.filter(Exists(versions))
    return queryset.order_by("policy_id", "order", "id")


def with_heads(rules: Iterable[Rule]) -> list[Rule]:
    """Attach ``rule.head``: the newest version, the one staff edit or publish next."""
    rules = list(rules)
    prefetch_related_objects(
        rules,
        Prefetch(
            "versions",
            queryset=RuleVersion.objects.select_related("lead_department").order_by("-version"),
        ),
    )
    for rule in rules:
        versions = list(rule.versions.all())
        rule.head = versions[0] if versions else None
    return rules


def head_version(rule: Rule) -> RuleVersion:
    return rule.versions.select_related("lead_department").order_by("-version").first()


def version_of(rule: Rule, number: int | None) -> RuleVersion:
    """A given version of the rule (404 when it does not exist), or its newest."""
    if number is None:
        return head_version(rule)
    return get_object_or_404(rule.versions.select_related("lead_department"), version=number)


def versions_for(user) -> QuerySet[RuleVersion]:
    return RuleVersion.objects.select_related("rule", "rule__policy").filter(
        rule__in=rules_for(user)
    )


def items_for(user) -> QuerySet[RequiredItem]:
    return RequiredItem.objects.select_related("rule_version", "rule_version__rule").filter(
        rule_version__rule__in=rules_for(user)
    )


def attachments_for(user) -> QuerySet[PolicyAttachment]:
    return PolicyAttachment.objects.select_related("policy").filter(policy__in=policies_for(user))


# ---------------------------------------------------------------- public


def published_policies() -> QuerySet[Policy]:
    return Policy.objects.filter(status=Policy.Status.PUBLISHED).select_related(
        "issuing_department"
    )


def published_rules() -> QuerySet[Rule]:
    """Rules whose current version is published and whose policy is published."""
    return Rule.objects.filter(
        current__isnull=False,
        current__status=RuleVersion.Status.PUBLISHED,
        policy__status=Policy.Status.PUBLISHED,
    ).select_related("current", "current__lead_department", "policy")


def rule_by_code(code: str) -> Rule:
    """A published rule by its code; 404 when there is none."""
    return get_object_or_404(published_rules(), code=code)


def search_published_policies(*, q: str = "", theme: str = "") -> QuerySet[Policy]:
    """Published policies, each with ``public_rules``: its published rules."""
    rules = Prefetch(
        "rules", queryset=published_rules().order_by("order", "id"), to_attr="public_rules"
    )
    return search_policies(published_policies(), q=q, theme=theme).prefetch_related(rules)


def search_published_rules(*, q: str = "") -> QuerySet[Rule]:
    return matching(
        published_rules(), q, text_field="current__search_text", title_field="current__title"
    )


def public_policy(pk: int) -> Policy:
    return get_object_or_404(published_policies(), pk=pk)


def public_rules_of(policy: Policy) -> QuerySet[Rule]:
    return published_rules().filter(policy=policy).order_by("order", "id")


def public_attachment(policy_pk: int, attachment_pk: int) -> PolicyAttachment:
    return get_object_or_404(
        PolicyAttachment.objects.filter(policy__in=published_policies()),
        policy_id=policy_pk,
        pk=attachment_pk,
    )


def public_item(code: str, item_pk: int) -> RequiredItem:
    """An item of the rule's current published version (its template is public)."""
    rule = rule_by_code(code)
    return get_object_or_404(rule.current.items.all(), pk=item_pk)


@dataclass(frozen=True)
class Window:
    state: str  # "open" | "upcoming" | "closed" | "always"
    label: str

    @property
    def is_open(self) -> bool:
        return self.state in ("open", "always")


def application_window(version: RuleVersion, today: dt.date | None = None) -> Window:
    today = today or timezone.localdate()
    if version.opens_on is None and version.closes_on is None:
        return Window("always", "常年受理")
    if version.opens_on and today < version.opens_on:
        return Window("upcoming", "尚未开始")
    if version.closes_on and today > version.closes_on:
        return Window("closed", "已截止")
    return Window("open", "申报中")


# ---------------------------------------------------------------- version history


VERSION_DIFF_FIELDS = VERSION_CONTENT_FIELDS
ITEM_DIFF_FIELDS = ITEM_CONTENT_FIELDS


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ItemChange:
    key: str
    label: str
    change: str  # "added" | "removed" | "changed"
    fields: list[FieldChange] = field(default_factory=list)
    summary: str = ""  # what an added or removed item was


def _item_summary(item: RequiredItem) -> str:
    return "，".join([item.get_kind_display(), "必填" if item.required else "选填"])


@dataclass(frozen=True)
class VersionDiff:
    fields: list[FieldChange]
    items: list[ItemChange]

    @property
    def empty(self) -> bool:
        return not self.fields and not self.items


@dataclass(frozen=True)
class HistoryEntry:
    version: RuleVersion
    diff: VersionDiff | None  # None for the first version


def display_value(instance: Any, name: str) -> str:
    """A field's value as people read it (choices, yes/no, related names, lists)."""
    model_field = instance._meta.get_field(name)
    value = getattr(instance, name)
    if value is None or value == "" or value == []:
        return ""
    if model_field.choices:
        return str(getattr(instance, f"get_{name}_display")())
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _field_changes(old: Any, new: Any, names: tuple[str, ...]) -> list[FieldChange]:
    changes = []
    for name in names:
        before, after = display_value(old, name), display_value(new, name)
        if before != after:
            label = str(new._meta.get_field(name).verbose_name)
            changes.append(FieldChange(name, label, before, after))
    return changes


def version_diff(old: RuleVersion, new: RuleVersion) -> VersionDiff:
    """What changed from ``old`` to ``new``: guide and rule fields, and items by key."""
    old_items = {item.key: item for item in old.items.all()}
    new_items = {item.key: item for item in new.items.all()}
    items: list[ItemChange] = []
    for key, item in new_items.items():
        if key not in old_items:
            items.append(ItemChange(key, item.label, "added", summary=_item_summary(item)))
        elif changes := _field_changes(old_items[key], item, ITEM_DIFF_FIELDS):
            items.append(ItemChange(key, item.label, "changed", changes))
    items.extend(
        ItemChange(key, item.label, "removed", summary=_item_summary(item))
        for key, item in old_items.items()
        if key not in new_items
    )
    return VersionDiff(_field_changes(old, new, VERSION_DIFF_FIELDS), items)


def version_history(rule: Rule) -> list[HistoryEntry]:
    """Every version, newest first, each with what changed since the one before it."""
    versions = list(
        rule.versions.select_related("lead_department", "created_by", "published_by")
        .prefetch_related("items")
        .order_by("version")
    )
    entries = [
        HistoryEntry(version, version_diff(previous, version) if previous else None)
        for previous, version in zip([None, *versions[:-1]], versions, strict=True)
    ]
    return entries[::-1]

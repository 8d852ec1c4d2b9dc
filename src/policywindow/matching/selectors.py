"""Reads of 政策匹配: published rules to match, enterprise facts in bulk, an enterprise's matches.

The calculator's explanations are the engine's (``check_eligibility``); the versions come with
their required items prefetched, so explaining a failure costs no query.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from policywindow.applications.models import Application
from policywindow.applications.selectors_filing import NOT_COUNTED, today
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.enterprises.selectors import enterprise_facts
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion
from policywindow.policies.selectors import published_rules
from policywindow.system.models import User

from .models import AutoGrant, MatchRun

MISSING_PREFIX = ("缺少属性：", "缺少数据：")
# An eligible rule of an exclusion group (互斥组) that another member of the group outranks.
EXCLUDED = "excluded"
ORDER = {engine.ELIGIBLE: 0, EXCLUDED: 1, engine.UNKNOWN: 2, engine.INELIGIBLE: 3}
BADGES = {
    engine.ELIGIBLE: "符合条件",
    EXCLUDED: "互斥不计入",
    engine.INELIGIBLE: "不符合条件",
    engine.UNKNOWN: "信息不全",
}


def published_versions(rule_ids: Iterable[int] | None = None) -> list[RuleVersion]:
    """The current version of every published rule (of a published policy), items prefetched."""
    rules = published_rules()
    if rule_ids is not None:
        rules = rules.filter(pk__in=list(rule_ids))
    return list(
        RuleVersion.objects.filter(pk__in=rules.values("current_id"))
        .select_related("rule", "rule__policy", "lead_department")
        .prefetch_related("items")
        .order_by("rule__policy_id", "rule__order", "rule_id")
    )


# ---------------------------------------------------------------- the calculator


@dataclass(frozen=True)
class Match:
    """One rule's verdict for one enterprise (or a visitor's facts)."""

    version: RuleVersion
    status: str
    amount: Decimal | None
    failures: tuple[str, ...]
    unknowns: tuple[str, ...]
    # Why an eligible rule adds nothing: the member of its 互斥组 that counts instead.
    excluded_by: str = ""

    @property
    def rule(self) -> Any:
        return self.version.rule

    @property
    def shown_status(self) -> str:
        return EXCLUDED if self.excluded_by else self.status

    @property
    def badge(self) -> str:
        return BADGES[self.shown_status]

    @property
    def eligible(self) -> bool:
        return self.status == engine.ELIGIBLE

    @property
    def counts(self) -> bool:
        """Whether the rule adds its amount to the total (eligible, not ruled out by its group)."""
        return self.eligible and not self.excluded_by


def _shown_unknown(text: str) -> str:
    """The engine's "缺少属性：研发费用" reads "缺少数据：研发费用" to an enterprise."""
    old, new = MISSING_PREFIX
    return new + text.removeprefix(old) if text.startswith(old) else text


def assess(version: RuleVersion, facts: Mapping[str, Any]) -> Match:
    eligibility = engine.check_eligibility(version, facts)
    eligible = eligibility.status == engine.ELIGIBLE
    return Match(
        version=version,
        status=eligibility.status,
        amount=engine.expected_amount(version, facts) if eligible else None,
        failures=tuple(eligibility.failures),
        unknowns=tuple(_shown_unknown(text) for text in eligibility.unknowns),
    )


def calculate(
    facts: Mapping[str, Any],
    versions: Iterable[RuleVersion],
    applied: Mapping[int, Application] | None = None,
) -> list[Match]:
    """Every rule's verdict: those that count first (largest amount first), then the eligible
    ones their 互斥组 rules out, then unknown, then not. ``applied``: this year's applications
    by rule id (``applied_this_year``), which settle their group."""
    matches = settle_exclusions([assess(version, facts) for version in versions], applied or {})
    return sorted(matches, key=lambda m: (ORDER[m.shown_status], -(m.amount or 0), m.rule.code))


def settle_exclusions(matches: list[Match], applied: Mapping[int, Application]) -> list[Match]:
    """A 互斥组 contributes one member: the rule already applied for this year, else its eligible
    rule with the largest expected amount. Each other eligible member says why it is left out."""
    groups: dict[str, list[Match]] = defaultdict(list)
    for match in matches:
        if match.version.exclusion_group:
            groups[match.version.exclusion_group].append(match)
    reasons: dict[int, str] = {}
    for members in groups.values():
        taken = [m for m in members if m.rule.pk in applied]
        eligible = sorted(
            (m for m in members if m.eligible), key=lambda m: (-(m.amount or 0), m.rule.code)
        )
        if taken:
            keep = taken[0]
            why = f"贵企业本年度已申报同一互斥组的《{keep.version.title}》，同一企业只能享受其一"
        elif eligible:
            keep = eligible[0]
            why = (
                f"与《{keep.version.title}》属于同一互斥组，同一企业只能享受其一；"
                "合计按预计金额较高的一项计算"
            )
        else:
            continue
        reasons.update({id(m): why for m in eligible if m is not keep})
    return [replace(m, excluded_by=reasons[id(m)]) if id(m) in reasons else m for m in matches]


@dataclass(frozen=True)
class Summary:
    """The calculator's headline: rules that count, rules tried, the expected total."""

    eligible: int
    total: int
    amount: Decimal


def summary(matches: list[Match]) -> Summary:
    """预计可兑现合计: the expected amounts of the rules that count — an exclusion group adds
    its best member only (``settle_exclusions``); a rule without a known amount adds nothing."""
    counted = [m for m in matches if m.counts]
    amount = sum((m.amount for m in counted if m.amount is not None), Decimal("0.00"))
    return Summary(eligible=len(counted), total=len(matches), amount=amount)


def enterprise_matches(
    enterprise: Enterprise, applied: Mapping[int, Application] | None = None
) -> list[Match]:
    if applied is None:
        applied = applied_this_year(enterprise)
    return calculate(enterprise_facts(enterprise), published_versions(), applied)


def applied_this_year(enterprise: Enterprise) -> dict[int, Application]:
    """The enterprise's counted application of this year for each rule, in one query."""
    applications = Application.objects.filter(enterprise=enterprise, year=today().year).exclude(
        status__in=NOT_COUNTED
    )
    return {application.rule_id: application for application in applications.order_by("created_at")}


# ---------------------------------------------------------------- batch reads


def enterprise_count() -> int:
    return Enterprise.objects.count()


class _FactRow(NamedTuple):
    """An enterprise's fact columns as read by ``values_list``: what ``enterprise_facts`` reads
    of an ``Enterprise``, the derived codes being the model's own properties. A batch builds no
    model instance (100,000 enterprises load in 0.8 s instead of 2.9 s) and reads no encrypted
    column."""

    pk: int
    employees: int | None
    revenue: Decimal | None
    total_assets: Decimal | None
    rd_spend: Decimal | None
    export_value: Decimal | None
    registered_capital: Decimal
    high_tech: bool
    high_tech_valid_until: dt.date | None
    tech_sme: bool
    specialized: str
    size: str
    industry_id: str
    region_id: str
    established_on: dt.date | None

    industry_division = Enterprise.industry_division
    industry_section = Enterprise.industry_section
    city_code = Enterprise.city_code


def fact_chunks(
    size: int, enterprise_ids: Iterable[int] | None = None
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """(enterprise id, facts) in chunks of ``size``, by primary key: one query per chunk."""
    rows = Enterprise.objects.order_by("pk").values_list(*_FactRow._fields)
    if enterprise_ids is not None:
        rows = rows.filter(pk__in=list(enterprise_ids))
    last = 0
    while True:
        chunk = [_FactRow._make(row) for row in rows.filter(pk__gt=last)[:size]]
        if not chunk:
            return
        today = timezone.localdate()
        yield [(row.pk, enterprise_facts(row, today)) for row in chunk]
        last = chunk[-1].pk


def members_by_enterprise(enterprise_ids: Iterable[int]) -> dict[int, list[User]]:
    """The enterprises' 经办人 (administrators first), in one query."""
    members: dict[int, list[User]] = defaultdict(list)
    for member in (
        EnterpriseMember.objects.filter(enterprise_id__in=list(enterprise_ids))
        .select_related("user")
        .order_by("-is_admin", "joined_at", "id")
    ):
        members[member.enterprise_id].append(member.user)
    return members


# ---------------------------------------------------------------- runs and 免申即享


def runs() -> QuerySet[MatchRun]:
    return MatchRun.objects.select_related("started_by").prefetch_related("rules")


def run(pk: int) -> MatchRun:
    return get_object_or_404(runs(), pk=pk)


def auto_grants_of(enterprise: Enterprise | None) -> QuerySet[AutoGrant]:
    if enterprise is None:
        return AutoGrant.objects.none()
    return AutoGrant.objects.filter(enterprise=enterprise).select_related(
        "application", "rule_version"
    )


def auto_grant_of(enterprise: Enterprise | None, pk: int) -> AutoGrant:
    """One of the enterprise's own 免申即享 cases; another enterprise's is a 404."""
    return get_object_or_404(auto_grants_of(enterprise), pk=pk)

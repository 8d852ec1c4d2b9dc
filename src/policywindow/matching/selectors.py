"""Reads of 政策匹配: published rules to match, enterprise facts in bulk, an enterprise's matches.

The calculator's explanations are the engine's (``check_eligibility``); the versions come with
their required items prefetched, so explaining a failure costs no query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from policywindow.applications.models import Application
from policywindow.applications.selectors_filing import NOT_COUNTED, today
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.enterprises.selectors import enterprise_facts
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion
from policywindow.policies.selectors import published_rules
from policywindow.system.models import User

from .models import AutoGrant, MatchRun

# Enterprise columns that enterprise_facts reads (nothing else is loaded in a batch).
FACT_COLUMNS = (
    "employees",
    "revenue",
    "total_assets",
    "rd_spend",
    "export_value",
    "registered_capital",
    "high_tech",
    "high_tech_valid_until",
    "tech_sme",
    "specialized",
    "size",
    "industry",
    "region",
    "established_on",
)
MISSING_PREFIX = ("缺少属性：", "缺少数据：")
ORDER = {engine.ELIGIBLE: 0, engine.UNKNOWN: 1, engine.INELIGIBLE: 2}
BADGES = {engine.ELIGIBLE: "符合条件", engine.INELIGIBLE: "不符合条件", engine.UNKNOWN: "信息不全"}


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

    @property
    def rule(self) -> Any:
        return self.version.rule

    @property
    def badge(self) -> str:
        return BADGES[self.status]

    @property
    def eligible(self) -> bool:
        return self.status == engine.ELIGIBLE


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


def calculate(facts: Mapping[str, Any], versions: Iterable[RuleVersion]) -> list[Match]:
    """Every rule's verdict: eligible first (largest amount first), then unknown, then not."""
    matches = [assess(version, facts) for version in versions]
    return sorted(matches, key=lambda m: (ORDER[m.status], -(m.amount or 0), m.rule.code))


def enterprise_matches(enterprise: Enterprise) -> list[Match]:
    return calculate(enterprise_facts(enterprise), published_versions())


def applied_this_year(enterprise: Enterprise) -> dict[int, Application]:
    """The enterprise's counted application of this year for each rule, in one query."""
    applications = Application.objects.filter(enterprise=enterprise, year=today().year).exclude(
        status__in=NOT_COUNTED
    )
    return {application.rule_id: application for application in applications.order_by("created_at")}


# ---------------------------------------------------------------- batch reads


def enterprise_count() -> int:
    return Enterprise.objects.count()


def fact_chunks(
    size: int, enterprise_ids: Iterable[int] | None = None
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """(enterprise id, facts) in chunks of ``size``, by primary key: one query per chunk."""
    rows = Enterprise.objects.only(*FACT_COLUMNS).order_by("pk")
    if enterprise_ids is not None:
        rows = rows.filter(pk__in=list(enterprise_ids))
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last)[:size])
        if not chunk:
            return
        yield [(enterprise.pk, enterprise_facts(enterprise)) for enterprise in chunk]
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

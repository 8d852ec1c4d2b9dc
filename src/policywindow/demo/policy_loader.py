"""Demo policies and rules (policy_data) created and published through the policy services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.html import escape

from policywindow.policies import services
from policywindow.policies.models import Policy, Rule, RuleVersion
from policywindow.system.models import Department, User

from .pdf import promise_template
from .policy_data import DEMO_NOTE, POLICIES

# The application window stays open at least this long after the demo is loaded.
WINDOW_AFTER_LOAD = dt.timedelta(days=90)
ADDRESS = "省政务服务中心一楼 政策兑现综合窗口（演示地址）"
DECIMAL_SETTINGS = ("min_value", "max_value")
TEMPLATES = {"credit_promise": promise_template}
ARTICLE_NUMBERS = "一二三四五六七八九十"


def load_policies(actor: User) -> int:
    """Create and publish the missing demo policies and rules; returns how many were created.

    Policies are matched by title, rules by code, so a rule added to the data later is
    added to an existing policy.
    """
    window = application_window(timezone.localdate())
    departments = {d.code: d for d in Department.objects.all()}
    policies = {p.title: p for p in Policy.objects.filter(title__in=[p["title"] for p in POLICIES])}
    codes = set(Rule.objects.values_list("code", flat=True))
    created = 0
    for spec in POLICIES:
        policy = policies.get(spec["title"])
        if policy is None:
            fields = _policy_fields(spec, departments, window)
            policy = services.create_policy(actor, **fields)
            created += 1
        for order, rule in enumerate(spec["rules"], start=1):
            if rule["code"] not in codes:
                _create_rule(actor, policy, rule, order * 10, departments, window)
                created += 1
        if policy.status == Policy.Status.DRAFT:
            services.publish_policy(actor, policy)
    return created


def application_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The demo rules' application window, relative to the day the demo is loaded: from the
    start of that year to the end of the year ``WINDOW_AFTER_LOAD`` later, so the demo cases
    can be filed on the day and the window does not close under the demo weeks later."""
    return dt.date(today.year, 1, 1), dt.date((today + WINDOW_AFTER_LOAD).year, 12, 31)


def _policy_fields(
    spec: dict[str, Any], departments: dict[str, Department], window: tuple[dt.date, dt.date]
) -> dict[str, Any]:
    """The policy as the data gives it; it stays in force for the demo's application window."""
    return {
        "title": spec["title"],
        "doc_number": spec["doc_number"],
        "issuing_department": departments[spec["department"]],
        "publish_date": dt.date.fromisoformat(spec["publish_date"]),
        "effective_from": dt.date.fromisoformat(spec["effective_from"]),
        "effective_to": max(dt.date.fromisoformat(spec["effective_to"]), window[1]),
        "summary": spec["summary"],
        "full_text": _full_text(spec),
        "theme": spec["theme"],
        "sizes": spec["sizes"],
        "is_demo": True,
    }


def _full_text(spec: dict[str, Any]) -> str:
    """The policy body: the demo notice, then one article per rule (the summary shows apart)."""
    parts = [f"<p><strong>{escape(DEMO_NOTE)}</strong></p>"]
    for number, rule in enumerate(spec["rules"], start=1):
        parts += [
            f"<h3>第{ARTICLE_NUMBERS[number - 1]}条 {escape(rule['title'])}</h3>",
            f"<p>支持对象：{escape(rule['beneficiaries'])}。</p>",
            "<p>申报条件：</p>",
            *(f"<p>{escape(line)}</p>" for line in rule["conditions_text"].splitlines()),
            f"<p>支持标准：{escape(rule['standard_text'])}</p>",
        ]
    return "".join(parts)


def _create_rule(
    actor: User,
    policy: Policy,
    spec: dict[str, Any],
    order: int,
    departments: dict,
    window: tuple[dt.date, dt.date],
) -> Rule:
    """Rule, items, then the amount formula (it may name items), then publish."""
    lead = departments[spec["lead"]]
    rule = services.create_rule(
        actor,
        policy,
        code=spec["code"],
        order=order,
        title=spec["title"],
        beneficiaries=spec["beneficiaries"],
        conditions_text=spec["conditions_text"],
        standard_text=spec["standard_text"],
        time_limit_text=spec["time_limit_text"],
        address=ADDRESS,
        phone=lead.phone,
        eligibility_expression=spec["eligibility"],
        per_enterprise_cap=Decimal(spec["cap"]),
        annual_budget=Decimal(spec["budget"]),
        opens_on=window[0],
        closes_on=window[1],
        lead_department=lead,
        exclusion_group=spec.get("exclusion_group", ""),
    )
    version = RuleVersion.objects.get(rule=rule, version=1)
    for position, item in enumerate(spec["items"], start=1):
        services.add_item(actor, version, **_item_fields(item, position * 10))
    services.update_version(actor, version, amount_formula=spec["amount"])
    services.publish_version(actor, version)
    return rule


def _item_fields(item: tuple[str, str, str, dict[str, Any]], order: int) -> dict[str, Any]:
    """``add_item`` arguments: settings as the service takes them, a named template as a file."""
    key, label, kind, extra = item
    fields = {"key": key, "label": label, "kind": kind, "order": order, **extra}
    for name in DECIMAL_SETTINGS:
        if name in fields:
            fields[name] = Decimal(fields[name])
    if "template" in fields:
        fields["template"] = TEMPLATES[fields["template"]]()
    return fields

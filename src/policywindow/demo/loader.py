"""Loads the demo 政策库, 企业库 and applications through the real services (演示数据).

Run after ``system.demo.load_demo`` (it needs the demo departments and users).
Idempotent and incremental like that loader: policies are matched by title, rules by
code, enterprises by credit code, cases by enterprise and rule; a second run creates
nothing, and records added to the demo data later are added to an existing database.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from policywindow.applications.models import Application, ApplicationStatus
from policywindow.enterprises.models import Enterprise
from policywindow.policies.models import Policy, Rule
from policywindow.system.demo import USERS as DEMO_USERS
from policywindow.system.models import User

from .case_loader import load_cases
from .enterprise_loader import MEMBERS, link_members, load_enterprises
from .finance_loader import load_budgets, load_publicity
from .payment_loader import load_payments
from .policy_loader import load_policies
from .reform_loader import load_reform_demo
from .workflow_loader import load_workflows

POLICY_ADMIN = "zcdx_chief"
WINDOW_CLERK = "clerk"


@transaction.atomic
def load_business_demo() -> int:
    """Create the missing demo policies, enterprises, memberships and cases; returns how many."""
    usernames = [spec.username for spec in DEMO_USERS]
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    created = load_policies(users[POLICY_ADMIN])
    created += load_workflows(users[POLICY_ADMIN])
    created += load_enterprises()
    created += link_members(users[WINDOW_CLERK])
    created += load_budgets(users[POLICY_ADMIN])  # before the approvals that draw on them
    created += load_cases(users)
    created += load_publicity(users[POLICY_ADMIN])
    created += load_payments(users[POLICY_ADMIN], users["czt_officer"])  # 报送财政与拨付
    load_reform_demo()  # 改革任务督办; not part of the 政策兑现 count above
    return created


def demo_summary_text() -> str:
    """What the demo holds, for the demo command's output."""
    policies = Policy.objects.filter(is_demo=True)
    rules = Rule.objects.filter(policy__in=policies, current__isnull=False)
    enterprises = Enterprise.objects.filter(is_demo=True)
    cases = Application.objects.filter(enterprise__in=enterprises)
    counts = dict(cases.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_status = "、".join(
        f"{label} {counts[value]}" for value, label in ApplicationStatus.choices if value in counts
    )
    members = "；".join(f"{user} → {name}" for user, name in MEMBERS.items())
    return "\n".join(
        [
            f"演示业务数据：政策 {policies.count()} 项、细则 {rules.count()} 条、"
            f"企业 {enterprises.count()} 家、申报 {cases.count()} 件（{by_status or '无'}）",
            f"企业账号：{members}",
        ]
    )

"""Demo 财政报送: a budget for every demo rule, and the approved demo cases published.

Budgets come from each rule's declared annual budget and are created before the cases are
reviewed, so the demo approvals take their amounts from them. The cases the demo data marks
公示通过 are published in an earlier batch whose period has ended (they then pass through the
worker's sweep), those marked 公示中 in a batch still running. As with the cases, the services
stamp "now"; the batches and their timeline lines are then dated back (not the audit log).
Idempotent: budgets are matched by rule and year, batches by title.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from policywindow.applications.models import Application, ApplicationEvent
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import calendar, provisional
from policywindow.finance.models import Budget, PublicityBatch
from policywindow.finance.services import budgets, publicity
from policywindow.policies.models import Rule
from policywindow.system.models import User

from .case_data import CASES
from .case_loader import working_days_ago

PUBLICITY_DAYS = 5
# (title, published this many working days ago, the demo outcome of its cases)
BATCHES = (
    ("2026年第1批政策兑现审核结果公示（演示）", 16, S.PUBLICITY_PASSED),
    ("2026年第2批政策兑现审核结果公示（演示）", 3, S.IN_PUBLICITY),
)


def load_budgets(admin: User) -> int:
    """This year's budget for each demo rule that has none; returns how many were created."""
    year = timezone.localdate().year
    have = set(Budget.objects.filter(year=year).values_list("rule_id", flat=True))
    rules = Rule.objects.filter(policy__is_demo=True, current__annual_budget__isnull=False)
    created = 0
    for rule in rules.select_related("current").order_by("code"):
        if rule.pk not in have:
            total = rule.current.annual_budget
            budgets.create_budget(admin, rule, year, total, note="演示预算：按细则载明的年度预算")
            created += 1
    return created


def load_publicity(admin: User) -> int:
    """Publish the demo batches that do not exist yet; returns how many were created."""
    created = 0
    for title, age, outcome in BATCHES:
        if PublicityBatch.objects.filter(title=title).exists():
            continue
        ids = [pk for case in CASES if case.outcome == outcome for pk in _approved(case)]
        if not ids:
            continue
        batch = publicity.publish(admin, ids, title, PUBLICITY_DAYS)
        _date(batch, age)
        if batch.ends_at <= timezone.now():
            publicity.close_due()
            ApplicationEvent.objects.filter(
                application_id__in=ids, action="publicity_passed"
            ).update(occurred_at=batch.ends_at)
        created += 1
    return created


def _approved(case) -> list[int]:
    return list(
        Application.objects.filter(
            enterprise__name=case.enterprise, rule__code=case.rule, status=S.APPROVED
        ).values_list("pk", flat=True)
    )


def _date(batch: PublicityBatch, age: int) -> None:
    """Published at 10:00 ``age`` working days ago; the period and timeline lines follow."""
    day = working_days_ago(age, timezone.localdate())
    batch.starts_at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=calendar.SHANGHAI)
    period = calendar.deadline(batch.starts_at, batch.days)
    batch.ends_at = period.due_at
    batch.save(update_fields=["starts_at", "ends_at"])
    provisional.remember("ends_at", [(batch, period)])
    ApplicationEvent.objects.filter(action="publicize", data__batch=batch.pk).update(
        occurred_at=batch.starts_at, note=publicity.period_note(batch)
    )

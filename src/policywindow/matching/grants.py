"""免申即享: cases opened by matching for enterprises whose data proves they qualify.

A case is opened the way a filed and accepted application is — a draft with the rule
version's frozen form, numbered and moved to 待受理 (``transitions.move``), then accepted
through ``intake.accept``, which starts the rule's workflow — so it lands in the lead
department's 审批管理 to-do list like any other, and its reviewers confirm it there (one by
one or in a batch). The facts that proved eligibility are stored on the case. One case per
(enterprise, rule version), under a unique constraint; the enterprise is told and may decline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.forms import specs_of_version
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors_filing import duplicate_of, exclusive_rival, today
from policywindow.applications.services import intake
from policywindow.applications.services.filing import number_submission, prefill_answers
from policywindow.applications.services.supplement import items_by_key
from policywindow.core import audit
from policywindow.core.errors import Conflict, DomainError
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_of
from policywindow.notifications.services import notify
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion
from policywindow.system.models import User
from policywindow.workflow.services import runtime
from policywindow.workflow.subjects import APPLICATION

from . import selectors
from .models import AutoGrant, MatchRun

log = logging.getLogger(__name__)
GRANT_KIND = "auto_grant"
OPENED_NOTE = "免申即享：企业数据已证明符合条件，系统自动立案并直接进入审核"
CHECK_NOTE = "免申即享：由系统依据企业数据核验，无需企业提交"
DECLINE_NOTE = "企业放弃享受免申即享"
DECLINABLE = (S.IN_REVIEW, S.SUPPLEMENT_REQUIRED)


def facts_json(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as stored on the case: money as text, dates in ISO form."""
    return json.loads(json.dumps(dict(facts), cls=DjangoJSONEncoder))


def open_cases(hits: list[Any], *, run: MatchRun | None) -> int:
    """A case for each ``services.Hit`` (an enterprise meeting a 免申即享 rule) that has none
    yet and whose enterprise has a user to tell; returns how many were opened."""
    if not hits:
        return 0
    have = set(
        AutoGrant.objects.filter(
            enterprise_id__in={hit.enterprise_id for hit in hits},
            rule_version_id__in={hit.rule.version.pk for hit in hits},
        ).values_list("enterprise_id", "rule_version_id")
    )
    todo = [hit for hit in hits if (hit.enterprise_id, hit.rule.version.pk) not in have]
    members = selectors.members_by_enterprise({hit.enterprise_id for hit in todo})
    opened = 0
    for enterprise_id, facts, rule in todo:
        users = members.get(enterprise_id)
        if users and _open_one(enterprise_id, facts, rule.version, users, run):
            opened += 1
    return opened


def _open_one(
    enterprise_id: int,
    facts: Mapping[str, Any],
    version: RuleVersion,
    users: list[User],
    run: MatchRun | None,
) -> bool:
    """One case in its own savepoint: a rule that cannot start its workflow skips, logged."""
    try:
        with transaction.atomic():
            application = open_case(enterprise_id, facts, version, users[0], run)
    except (DomainError, IntegrityError) as exc:
        log.warning("免申即享未能立案 enterprise=%s version=%s: %s", enterprise_id, version.pk, exc)
        return False
    if application is None:
        return False
    _tell(users, application)
    return True


def open_case(
    enterprise_id: int,
    facts: Mapping[str, Any],
    version: RuleVersion,
    applicant: User,
    run: MatchRun | None = None,
) -> Application | None:
    """Create, number and accept the case; ``None`` when the enterprise already has one this
    year (once per year) or one for a rule of the same 互斥组."""
    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    year = today().year
    probe = Application(enterprise=enterprise, rule=version.rule, year=year)
    if (version.once_per_year and duplicate_of(probe)) or exclusive_rival(probe, version):
        return None
    proof = facts_json(facts)
    application = _draft(enterprise, version, applicant, year)
    AutoGrant.objects.create(
        enterprise=enterprise, rule_version=version, application=application, facts=proof, run=run
    )
    _submit(application, version, facts, proof)
    checklist = [
        {"key": key, "result": intake.CheckResult.COMPLETE, "comment": CHECK_NOTE}
        for key in items_by_key(application)
    ]
    return intake.accept(
        None, application, checklist, OPENED_NOTE, expected_revision=application.revision
    )


def _draft(enterprise: Enterprise, version: RuleVersion, applicant: User, year: int) -> Application:
    specs = specs_of_version(version)
    application = Application.objects.create(
        rule=version.rule,
        rule_version=version,
        enterprise=enterprise,
        applicant=applicant,
        year=year,
        form_snapshot=[spec.snapshot() for spec in specs],
        answers=prefill_answers(specs, enterprise),
        department_id=version.lead_department_id,
    )
    transitions.record_event(application, actor=None, action="create", note=OPENED_NOTE)
    audit.record(
        "application.create",
        target=application,
        after={"rule": version.rule.code, "version": version.version, "auto_grant": True},
        message=OPENED_NOTE,
    )
    return application


def _submit(
    application: Application,
    version: RuleVersion,
    facts: Mapping[str, Any],
    proof: dict[str, Any],
) -> None:
    eligibility = engine.check_eligibility(version, facts).as_dict()
    # Numbered as a filed submission is: the number and the row in the move's last statement.
    number_submission(
        None,
        application,
        {
            "eligibility": {**eligibility, "auto_grant": True, "facts": proof},
            "requested_amount": engine.expected_amount(version, facts),
        },
        note=OPENED_NOTE,
        data={"facts": proof},
    )


def _tell(users: list[User], application: Application) -> int:
    grant = application.auto_grant
    return notify(
        users,
        kind=GRANT_KIND,
        subject=f"免申即享：《{application.rule_version.title}》已为贵企业自动立案"[:200],
        body=(
            f"贵企业符合“{application.rule_version.title}”的条件，无需申报，系统已自动立案"
            f"（申报编号 {application.number}），由牵头部门审核确认。如不需要享受，可在立案页面放弃。"
        ),
        link=reverse("matching:auto_grant", args=[grant.pk]),
        dedupe_key=f"matching:grant:{application.pk}",
    )


# ---------------------------------------------------------------- the enterprise declines


@transaction.atomic
def decline(actor: User, grant_pk: int, reason: str = "") -> AutoGrant:
    """The enterprise does not want the benefit: the case is withdrawn and its open review
    tasks are cancelled (they leave the reviewers' to-do lists)."""
    grant = selectors.auto_grant_of(enterprise_of(actor), grant_pk)
    application = transitions.lock(grant.application_id)
    if application.status not in DECLINABLE:
        raise Conflict(
            f"该免申即享事项当前为“{application.get_status_display()}”，不能放弃",
            details={"status": application.status},
        )
    note = "；".join(part for part in (DECLINE_NOTE, reason.strip()[:200]) if part)
    runtime.cancel(actor, APPLICATION, application, DECLINE_NOTE)
    transitions.move(application, S.WITHDRAWN, actor=actor, action="withdraw", note=note)
    grant.declined_at = timezone.now()
    grant.save(update_fields=["declined_at"])
    audit.record(
        "autogrant.decline", actor=actor, target=grant, after={"application": application.number}
    )
    return grant

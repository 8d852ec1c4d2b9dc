"""Writes of 政策匹配: batch runs, 精准推送 and (through ``grants``) 免申即享 cases.

A run evaluates enterprises in chunks of ``CHUNK``: one query loads a chunk's facts (no model
instance, no encrypted column), every rule was compiled once for the run and is evaluated over
the whole chunk at once (``compiled``), and one transaction per chunk records the pushes and
cases the chunk produced and the run's progress. A push is recorded once per
(enterprise, rule) under a unique constraint and its message carries a dedupe key, so a rule
an enterprise already heard about is never pushed again — not by a later run, a retried
task or a concurrent one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.money import format_yuan
from policywindow.notifications.services import notify
from policywindow.policies import engine
from policywindow.policies.models import Rule
from policywindow.system.models import User

from . import grants, selectors
from .compiled import CompiledRule, FactTable, compile_rules
from .models import MatchPush, MatchRun

CHUNK = 1000
PUSH_KIND = "policy_match"

Facts = Mapping[str, Any]


class Hit(NamedTuple):
    """An enterprise that meets a rule now, with the facts that show it."""

    enterprise_id: int
    facts: Facts
    rule: CompiledRule


@dataclass
class Tally:
    enterprises: int = 0
    evaluations: int = 0
    eligible: int = 0
    pushed: int = 0
    granted: int = 0

    def add(self, other: Tally) -> None:
        for name in ("enterprises", "evaluations", "eligible", "pushed", "granted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# ---------------------------------------------------------------- matching a chunk


def eligible_hits(chunk: Sequence[tuple[int, Facts]], rules: list[CompiledRule]) -> list[Hit]:
    """Every (enterprise, rule) of the chunk whose rule the enterprise meets now, by enterprise
    then rule."""
    table = FactTable([facts for _, facts in chunk])
    pairs = sorted((row, n) for n, rule in enumerate(rules) for row in rule.eligible_rows(table))
    return [Hit(*chunk[row], rules[n]) for row, n in pairs]


def match_chunk(
    chunk: list[tuple[int, Facts]], rules: list[CompiledRule], *, run: MatchRun | None = None
) -> Tally:
    """Evaluate the chunk, then push and open 免申即享 cases in one transaction."""
    hits = eligible_hits(chunk, rules)
    tally = Tally(len(chunk), len(chunk) * len(rules), len(hits))
    if hits:
        with transaction.atomic():
            tally.pushed = push([hit for hit in hits if not hit.rule.version.auto_grant])
            tally.granted = grants.open_cases(
                [hit for hit in hits if hit.rule.version.auto_grant], run=run
            )
    return tally


# ---------------------------------------------------------------- 精准推送


def push(hits: list[Hit]) -> int:
    """Tell each enterprise about the rules it newly meets; returns how many pushes were new."""
    if not hits:
        return 0
    done = set(
        MatchPush.objects.filter(
            enterprise_id__in={hit.enterprise_id for hit in hits},
            rule_id__in={hit.rule.rule_id for hit in hits},
        ).values_list("enterprise_id", "rule_id")
    )
    new = [hit for hit in hits if (hit.enterprise_id, hit.rule.rule_id) not in done]
    members = selectors.members_by_enterprise({hit.enterprise_id for hit in new})
    link = reverse("matching:calculator")
    now = timezone.now()
    rows = [
        MatchPush(
            enterprise_id=enterprise_id,
            rule_id=rule.rule_id,
            rule_version_id=rule.version.pk,
            # An enterprise without a 经办人 has nobody to tell: the push is only recorded.
            recipients=_tell(users, enterprise_id, facts, rule, link)
            if (users := members.get(enterprise_id))
            else 0,
            pushed_at=now,
        )
        for enterprise_id, facts, rule in new
    ]
    MatchPush.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _tell(
    recipients: list[User], enterprise_id: int, facts: Facts, rule: CompiledRule, link: str
) -> int:
    version = rule.version
    amount = engine.expected_amount(version, facts)
    estimate = f"，预计可兑现 {format_yuan(amount)}" if amount is not None else ""
    return notify(
        recipients,
        kind=PUSH_KIND,
        subject=f"政策推送：贵企业符合《{version.title}》的申报条件"[:200],
        body=(
            f"根据贵企业登记的信息，贵企业已符合《{version.rule.policy.title}》"
            f"“{version.title}”的申报条件{estimate}。可在政策计算器中查看并立即申报。"
        ),
        link=link,
        dedupe_key=f"matching:push:{enterprise_id}:{rule.rule_id}",
    )


# ---------------------------------------------------------------- runs


def start_run(
    actor: User | None, *, trigger: str = MatchRun.Trigger.MANUAL, rules: Iterable[Rule] = ()
) -> MatchRun:
    """A queued run (all published rules, or only ``rules``); the worker runs it after commit."""
    from .tasks import run_matching

    with transaction.atomic():
        run = create_run(actor, trigger=trigger, rules=rules)
        transaction.on_commit(lambda: run_matching.enqueue(run.pk))
    return run


def create_run(actor: User | None, *, trigger: str, rules: Iterable[Rule] = ()) -> MatchRun:
    rules = list(rules)
    with transaction.atomic():
        run = MatchRun.objects.create(trigger=trigger, started_by=actor)
        run.rules.set(rules)
        audit.record(
            "matchrun.create",
            actor=actor,
            target=run,
            after={"trigger": trigger, "rules": [rule.code for rule in rules]},
        )
    return run


def execute_run(run_id: int, on_progress: Callable[[MatchRun], None] | None = None) -> MatchRun:
    """Run a queued run to its end (a run already started or finished is left alone)."""
    run = _claim(run_id)
    if run is None:
        return MatchRun.objects.get(pk=run_id)
    try:
        rule_ids = list(run.rules.values_list("pk", flat=True)) or None
        rules = compile_rules(selectors.published_versions(rule_ids))
        _update(run, rule_count=len(rules), total=selectors.enterprise_count())
        for chunk in selectors.fact_chunks(CHUNK):
            tally = match_chunk(chunk, rules, run=run)
            _advance(run, tally)
            if on_progress is not None:
                on_progress(run)
    except Exception as exc:
        _update(
            run, status=MatchRun.Status.FAILED, error=repr(exc)[:2000], finished_at=timezone.now()
        )
        raise
    _update(run, status=MatchRun.Status.DONE, finished_at=timezone.now())
    return run


def _claim(run_id: int) -> MatchRun | None:
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().get(pk=run_id)
        if run.status != MatchRun.Status.QUEUED:
            return None
        run.status, run.started_at = MatchRun.Status.RUNNING, timezone.now()
        run.save(update_fields=["status", "started_at"])
    return run


def _update(run: MatchRun, **fields: Any) -> None:
    MatchRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()


def _advance(run: MatchRun, tally: Tally) -> None:
    _update(
        run,
        done=F("done") + tally.enterprises,
        evaluations=F("evaluations") + tally.evaluations,
        eligible=F("eligible") + tally.eligible,
        pushed=F("pushed") + tally.pushed,
        granted=F("granted") + tally.granted,
    )


# ---------------------------------------------------------------- one enterprise (its data changed)


def match_enterprise(enterprise_id: int) -> Tally:
    """Match one enterprise against every published rule (after its data changed)."""
    rules = compile_rules(selectors.published_versions())
    tally = Tally()
    for chunk in selectors.fact_chunks(CHUNK, enterprise_ids=[enterprise_id]):
        tally.add(match_chunk(chunk, rules))
    return tally

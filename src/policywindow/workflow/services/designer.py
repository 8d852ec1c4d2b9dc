"""Drawing a rule's workflow (绘制工作流): save the draft, publish it as a version, copy another's.

A rule has at most one draft and one published version (database constraints). Publishing
retires the previous version; running cases keep theirs, because each instance points at the
``WorkflowDefinition`` row it started with and published rows are never edited again. Every
write locks the rule row first, so two administrators saving or publishing the same rule's
workflow at once run one after the other.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.models import RequiredItem, Rule, RuleVersion

from .. import spec as specs
from ..definition import DefinitionError
from ..models import WorkflowDefinition

MAX_NOTE = 200
Status = WorkflowDefinition.Status


def save_draft(actor: Any, rule: Rule, spec_data: Any, note: str = "") -> WorkflowDefinition:
    """Store what was drawn as the rule's draft (created as the next version when there is none).

    Only the format is checked here; a draft may be unpublishable (``problems`` says why).
    """
    spec = parsed(spec_data)
    with transaction.atomic():
        _lock(rule)
        return _store_draft(actor, rule, spec, _checked_note(note), action="workflow.save")


def copy_from(actor: Any, rule: Rule, source_rule: Rule) -> WorkflowDefinition:
    """Replace the rule's draft with the source rule's published workflow (or its draft)."""
    if source_rule.pk == rule.pk:
        raise ValidationFailed("不能从本细则复制工作流", details={"source": ["请选择其他细则"]})
    with transaction.atomic():
        _lock(rule)
        source = _copy_source(source_rule)
        note = f"复制自 {source_rule.code} 第 {source.version} 版"
        return _store_draft(
            actor, rule, parsed(source.spec), note, action="workflow.copy", source=source
        )


def publish(actor: Any, rule: Rule) -> WorkflowDefinition:
    """Publish the rule's draft; refused with every problem when the definition cannot run."""
    with transaction.atomic():
        locked = _lock(rule)
        draft = WorkflowDefinition.objects.filter(rule=locked, status=Status.DRAFT).first()
        if draft is None:
            raise Conflict(f"细则 {locked.code} 没有待发布的工作流草稿（可能已被他人发布）")
        found = specs.problems(parsed(draft.spec), extra_facts=form_facts(locked))
        if found:
            raise ValidationFailed(
                f"工作流第 {draft.version} 版尚不能发布，请先解决以下问题",
                details={"problems": found},
            )
        previous = WorkflowDefinition.objects.filter(rule=locked, status=Status.PUBLISHED).first()
        # Retire first: at most one published version per rule is a database constraint.
        if previous is not None:
            previous.status = Status.RETIRED
            previous.save(update_fields=["status", "updated_at"])
        draft.status = Status.PUBLISHED
        draft.published_by = actor
        draft.published_at = timezone.now()
        draft.save(update_fields=["status", "published_by", "published_at", "updated_at"])
        audit.record(
            "workflow.publish",
            actor=actor,
            target=draft,
            before={"published": previous.version if previous else None},
            after={"published": draft.version, "status": draft.status},
            message=draft.note,
        )
    return draft


# --------------------------------------------------------------------------- helpers
def parsed(spec_data: Any) -> specs.WorkflowSpec:
    """The spec, or ``ValidationFailed`` with the parser's Chinese message."""
    try:
        return specs.parse(spec_data)
    except DefinitionError as exc:
        raise ValidationFailed(exc.message, details={"spec": [exc.message]}) from exc


def form_facts(rule: Rule) -> dict[str, str]:
    """The form items a node condition may use besides ``spec.condition_facts``: the current
    version's (cases are filed under it), or the newest version's while none is published."""
    version_id = rule.current_id
    if version_id is None:
        newest = RuleVersion.objects.filter(rule=rule).order_by("-version").first()
        version_id = newest.pk if newest else None
    items = RequiredItem.objects.filter(rule_version_id=version_id)
    return dict(items.values_list("key", "label")) if version_id else {}


def _lock(rule: Rule) -> Rule:
    return Rule.objects.select_for_update().get(pk=rule.pk)


def _checked_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        message = f"版本说明不能超过 {MAX_NOTE} 个字"
        raise ValidationFailed(message, details={"note": [message]})
    return note


def _copy_source(source_rule: Rule) -> WorkflowDefinition:
    for status in (Status.PUBLISHED, Status.DRAFT):
        row = WorkflowDefinition.objects.filter(rule=source_rule, status=status).first()
        if row is not None:
            return row
    message = f"细则 {source_rule.code} 还没有工作流，无法复制"
    raise ValidationFailed(message, details={"source": [message]})


def _store_draft(
    actor: Any,
    rule: Rule,
    spec: specs.WorkflowSpec,
    note: str,
    *,
    action: str,
    source: WorkflowDefinition | None = None,
) -> WorkflowDefinition:
    """Create or update the draft of a *locked* rule and record ``action``."""
    draft = WorkflowDefinition.objects.filter(rule=rule, status=Status.DRAFT).first()
    before = {"version": draft.version, "spec": draft.spec} if draft else None
    if draft is None:
        top = WorkflowDefinition.objects.filter(rule=rule).aggregate(top=Max("version"))["top"]
        draft = WorkflowDefinition(rule=rule, version=(top or 0) + 1, created_by=actor)
    draft.spec = spec.to_dict()
    draft.note = note
    draft.save()
    after: dict[str, Any] = {"version": draft.version, "spec": draft.spec}
    if source is not None:
        after["source"] = {"rule": source.rule_id, "version": source.version}
    audit.record(action, actor=actor, target=draft, before=before, after=after, message=note)
    return draft

"""Drawing a workflow (绘制工作流): save the draft, publish it as a version, copy another's.

A workflow belongs to an owner: a rule (its applications run it) or a subject type for that
type's own workflow (``subjects``; applications' workflows always belong to their rules). An
owner has at most one draft and one published version (database constraints). Publishing
retires the previous version; running cases keep theirs, because each instance points at the
``WorkflowDefinition`` row it started with and published rows are never edited again. Every
write locks the owner first (``_lock``), so two administrators saving or publishing the same
workflow at once run one after the other.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from policywindow.core import audit
from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.policies.models import RequiredItem, Rule, RuleVersion

from .. import spec as specs
from .. import subjects
from ..definition import DefinitionError
from ..models import WorkflowDefinition

# A rule, or a registered subject type (its name) for that type's own workflow.
Owner = Rule | str

MAX_NOTE = 200
Status = WorkflowDefinition.Status
# Namespace of the PostgreSQL advisory lock that queues the writes of a subject type's workflow.
_TYPE_LOCK = 0x574B46  # "WKF"


def save_draft(actor: Any, owner: Owner, spec_data: Any, note: str = "") -> WorkflowDefinition:
    """Store what was drawn as the owner's draft (created as the next version when there is
    none).

    Only the format is checked here; a draft may be unpublishable (``problems`` says why).
    """
    spec = parsed(spec_data)
    with transaction.atomic():
        held = _lock(owner)
        return _store_draft(actor, held, spec, _checked_note(note), action="workflow.save")


def copy_from(actor: Any, owner: Owner, source_owner: Owner) -> WorkflowDefinition:
    """Replace the rule's draft with the source rule's published workflow (or its draft).

    Only rules copy from each other: a subject type has a single workflow of its own.
    """
    if not (isinstance(owner, Rule) and isinstance(source_owner, Rule)):
        message = "只能在细则之间复制工作流"
        raise ValidationFailed(message, details={"source": [message]})
    if source_owner.pk == owner.pk:
        raise ValidationFailed("不能从本细则复制工作流", details={"source": ["请选择其他细则"]})
    with transaction.atomic():
        rule = _lock(owner)
        source = _copy_source(source_owner)
        note = f"复制自 {source_owner.code} 第 {source.version} 版"
        return _store_draft(
            actor, rule, parsed(source.spec), note, action="workflow.copy", source=source
        )


def publish(actor: Any, owner: Owner) -> WorkflowDefinition:
    """Publish the owner's draft; refused with every problem when the definition cannot run."""
    with transaction.atomic():
        held = _lock(owner)
        draft = workflows_of(held).filter(status=Status.DRAFT).first()
        if draft is None:
            raise Conflict(f"{_named(held)} 没有待发布的工作流草稿（可能已被他人发布）")
        found = specs.problems(parsed(draft.spec), facts=condition_labels(held))
        if found:
            raise ValidationFailed(
                f"工作流第 {draft.version} 版尚不能发布，请先解决以下问题",
                details={"problems": found},
            )
        previous = workflows_of(held).filter(status=Status.PUBLISHED).first()
        # Retire first: at most one published version per owner is a database constraint.
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


# --------------------------------------------------------------------------- owners
def subject_of(subject_type: str) -> subjects.Subject:
    """The registered subject whose own workflow ``subject_type`` names; ``ValidationFailed``
    for a type not registered, or one whose workflows belong to rules (applications)."""
    try:
        subject = subjects.get(subject_type)
    except LookupError as exc:
        raise ValidationFailed(str(exc), details={"subject_type": [str(exc)]}) from exc
    if subject.type == subjects.APPLICATION:
        message = f"{subject.label}的工作流按细则绘制"
        raise ValidationFailed(message, details={"subject_type": [message]})
    return subject


def workflows_of(owner: Owner) -> QuerySet[WorkflowDefinition]:
    """Every version of the owner's workflow."""
    if isinstance(owner, Rule):
        return WorkflowDefinition.objects.filter(rule=owner)
    return WorkflowDefinition.objects.filter(subject_type=owner, rule__isnull=True)


def condition_labels(owner: Owner) -> dict[str, str]:
    """The names a node condition of the owner's workflow may use, with their labels: for a rule
    the applications' facts and its form items, for a subject type its subject's facts."""
    if isinstance(owner, Rule):
        return {**specs.condition_facts(), **form_facts(owner)}
    return subject_of(owner).fact_labels()


def form_facts(rule: Rule) -> dict[str, str]:
    """The form items a node condition may use besides ``spec.condition_facts``: the current
    version's (cases are filed under it), or the newest version's while none is published."""
    version_id = rule.current_id
    if version_id is None:
        newest = RuleVersion.objects.filter(rule=rule).order_by("-version").first()
        version_id = newest.pk if newest else None
    items = RequiredItem.objects.filter(rule_version_id=version_id)
    return dict(items.values_list("key", "label")) if version_id else {}


# --------------------------------------------------------------------------- helpers
def parsed(spec_data: Any) -> specs.WorkflowSpec:
    """The spec, or ``ValidationFailed`` with the parser's Chinese message."""
    try:
        return specs.parse(spec_data)
    except DefinitionError as exc:
        raise ValidationFailed(exc.message, details={"spec": [exc.message]}) from exc


def _lock(owner: Owner) -> Owner:
    """The owner, its workflow's writes queued until the end of the transaction: a rule's row
    lock; for a subject type, whose first draft has no row to lock yet, an advisory lock on its
    name (SQLite lets one transaction write at a time, so there is nothing to do there)."""
    if isinstance(owner, Rule):
        return Rule.objects.select_for_update().get(pk=owner.pk)
    subject_of(owner)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_TYPE_LOCK, owner])
    return owner


def _named(owner: Owner) -> str:
    if isinstance(owner, Rule):
        return f"细则 {owner.code}"
    return f"“{subject_of(owner).label}”"


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
    owner: Owner,
    spec: specs.WorkflowSpec,
    note: str,
    *,
    action: str,
    source: WorkflowDefinition | None = None,
) -> WorkflowDefinition:
    """Create or update the draft of a *locked* owner and record ``action``."""
    versions = workflows_of(owner)
    draft = versions.filter(status=Status.DRAFT).first()
    before = {"version": draft.version, "spec": draft.spec} if draft else None
    if draft is None:
        top = versions.aggregate(top=Max("version"))["top"]
        whose = {"rule": owner} if isinstance(owner, Rule) else {"subject_type": owner}
        draft = WorkflowDefinition(**whose, version=(top or 0) + 1, created_by=actor)
    draft.spec = spec.to_dict()
    draft.note = note
    draft.save()
    after: dict[str, Any] = {"version": draft.version, "spec": draft.spec}
    if source is not None:
        after["source"] = {"rule": source.rule_id, "version": source.version}
    audit.record(action, actor=actor, target=draft, before=before, after=after, message=note)
    return draft

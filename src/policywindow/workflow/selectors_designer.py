"""Reads of the workflow designer: rules with their workflow state, the versions of an owner's
workflow (a rule's, or a subject type's own: ``services.designer.Owner``), editor choices, and
the live preview (diagram and problems) of a spec that is still being drawn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.safestring import SafeString, mark_safe

from policywindow.core import inputs
from policywindow.policies.engine import fact_labels
from policywindow.policies.models import Rule, RuleVersion
from policywindow.policies.selectors import rules_for
from policywindow.policies.wording import describe
from policywindow.system.models import Department, Post, Role, Status, User

from . import candidates, subjects
from . import spec as specs
from .definition import DefinitionError
from .diagram import render_svg
from .models import WorkflowDefinition
from .services.designer import Owner, condition_labels, form_facts, workflows_of

WorkflowStatus = WorkflowDefinition.Status
STATES = [("none", "未绘制"), ("draft", "有草稿"), ("published", "已发布")]


def _row(status: str, column: str) -> Subquery:
    rows = WorkflowDefinition.objects.filter(rule=OuterRef("pk"), status=status)
    return Subquery(rows.values(column)[:1])


def rules_with_workflows(user: Any, *, q: str = "", state: str = "") -> QuerySet[Rule]:
    """The rules in the user's data scope, each with ``published_version``, ``published_at`` and
    ``draft_version`` (``None`` when absent); ``q`` searches code and title."""
    rules = rules_for(user)
    if q := q.strip():
        titled = RuleVersion.objects.filter(rule=OuterRef("pk"), title__icontains=q)
        rules = rules.filter(Q(code__icontains=q) | Exists(titled))
    rules = rules.order_by("code").annotate(
        published_version=_row(WorkflowStatus.PUBLISHED, "version"),
        published_at=_row(WorkflowStatus.PUBLISHED, "published_at"),
        draft_version=_row(WorkflowStatus.DRAFT, "version"),
    )
    if state == "none":
        return rules.filter(published_version__isnull=True, draft_version__isnull=True)
    if state == "draft":
        return rules.filter(draft_version__isnull=False)
    if state == "published":
        return rules.filter(published_version__isnull=False)
    return rules


def rule_title(rule: Rule) -> str:
    """The current version's title, or the newest version's while none is published."""
    if rule.current_id:
        return rule.current.title
    newest = RuleVersion.objects.filter(rule=rule).order_by("-version").first()
    return newest.title if newest else ""


def versions(owner: Owner) -> list[WorkflowDefinition]:
    return list(
        workflows_of(owner).select_related("created_by", "published_by").order_by("-version")
    )


def cases_called(owner: Owner) -> str:
    """What the cases running the owner's workflow are called in the designer's sentences."""
    return "申报" if isinstance(owner, Rule) else subjects.get(owner).label


def copy_sources(user: Any, rule: Rule) -> QuerySet[Rule]:
    """Other rules in the user's scope that have a workflow (published or draft) to copy."""
    drawn = WorkflowDefinition.objects.filter(
        rule=OuterRef("pk"), status__in=[WorkflowStatus.PUBLISHED, WorkflowStatus.DRAFT]
    )
    return (
        rules_for(user)
        .filter(Exists(drawn))
        .exclude(pk=rule.pk)
        .select_related("current")
        .order_by("code")
    )


# --------------------------------------------------------------------------- editor
def editor_choices() -> dict[str, Any]:
    """What the node form offers, as JSON-ready lists (the editor runs in the browser)."""
    departments = Department.objects.filter(status=Status.ENABLED).order_by("path", "order")
    roles = Role.objects.filter(status=Status.ENABLED, for_enterprise=False).order_by("order")
    staff = (
        User.objects.filter(is_active=True, kind=User.Kind.STAFF)
        .select_related("department")
        .order_by("department__path", "id")
    )
    return {
        "kinds": [{"value": k, "label": label} for k, label in candidates.KIND_LABELS.items()],
        "departments": [{"id": d.pk, "name": d.indented_name} for d in departments],
        "roles": [{"code": r.code, "name": r.name} for r in roles],
        "posts": [
            {"code": p.code, "name": p.name}
            for p in Post.objects.filter(status=Status.ENABLED).order_by("order", "id")
        ],
        "users": [
            {
                "id": u.pk,
                "name": u.real_name or u.username,
                "department": u.department.name if u.department else "",
            }
            for u in staff
        ],
        "modes": _options(specs.MODE_LABELS),
        "on_reject": _options(specs.ON_REJECT_LABELS),
        "on_timeout": _options(specs.ON_TIMEOUT_LABELS),
        "units": _options(specs.LIMIT_UNITS),
        "max_limit": specs.MAX_LIMIT,
    }


def _options(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "label": label} for value, label in labels.items()]


def condition_fact_groups(owner: Owner) -> list[tuple[str, list[tuple[str, str]]]]:
    """The names a node condition of the owner's workflow may use, with labels, grouped by where
    they come from (the names ``services.designer.condition_labels`` gives ``problems``)."""
    if isinstance(owner, Rule):
        groups = [
            ("申报信息", specs.APPLICATION_FACTS),
            ("本细则申报表单", form_facts(owner)),
            ("企业属性", fact_labels()),
        ]
    else:
        groups = [(f"{subjects.get(owner).label}信息", condition_labels(owner))]
    return [(title, list(facts.items())) for title, facts in groups if facts]


# --------------------------------------------------------------------------- preview
@dataclass(frozen=True)
class NodeSummary:
    level: int
    name: str
    who: str
    count: str  # "3 人", or when it is decided per case
    limit: str
    condition: str


@dataclass(frozen=True)
class Preview:
    """What the editor shows beside a spec: the diagram, why it cannot be published, who acts."""

    error: str = ""
    svg: SafeString | None = None
    problems: list[str] = field(default_factory=list)
    nodes: list[NodeSummary] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return not self.error and not self.problems


def preview(raw: str, owner: Owner) -> Preview:
    """The preview of a posted spec (JSON text) of ``owner``'s workflow; nothing is saved."""
    try:
        data = inputs.loads_checked(raw)  # NUL or a lone surrogate would fail when saved
    except (ValueError, RecursionError):
        return Preview(error="工作流数据无法读取，请刷新页面后重试")
    try:
        spec = specs.parse(data)
    except DefinitionError as exc:
        return Preview(error=exc.message)
    labels = condition_labels(owner)
    problems = specs.problems(spec, facts=labels)
    nodes = _summaries(spec, labels, per_case=f"按{cases_called(owner)}确定")
    return Preview(svg=diagram(spec), problems=problems, nodes=nodes)


def diagram(spec: specs.WorkflowSpec) -> SafeString | None:
    """The SVG of a spec (``render_svg`` escapes every text it draws); ``None`` when empty."""
    drawing = specs.drawing(spec)
    if drawing is None:
        return None
    definition, labels = drawing
    return mark_safe(render_svg(definition, node_labels=labels))  # noqa: S308


def _summaries(
    spec: specs.WorkflowSpec, labels: dict[str, str], *, per_case: str
) -> list[NodeSummary]:
    """Each node as the preview table lists it, its condition in words; ``per_case`` stands
    for the count of a node whose people are known only when a case starts."""
    summaries = []
    for index, level in enumerate(spec.levels, 1):
        for node in level.nodes:
            if node.assignee.needs_application:
                count = per_case
            else:
                count = f"{len(candidates.resolve(node.assignee))} 人"
            who = candidates.describe(node.assignee)
            condition = describe(node.condition, labels)
            summaries.append(NodeSummary(index, node.name, who, count, node.limit_label, condition))
    return summaries

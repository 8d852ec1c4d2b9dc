"""Demo applications filed and decided through the filing and intake services.

Every status change goes through ``applications.services`` as the demo users would
make it. The services stamp everything "now"; afterwards ``_age`` moves each case's
own timestamps (not the audit log) back to the working days its ``ages`` name, so
the queue and timelines read like weeks of real work — and a review accepted long
enough ago shows a due date in the past (the services take no clock to patch).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from policywindow.applications.forms import answers_as_data
from policywindow.applications.models import (
    Application,
    ApplicationEvent,
    Material,
    SupplementNotice,
)
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.selectors import form_items
from policywindow.applications.services import filing, intake
from policywindow.core import calendar, provisional
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_of
from policywindow.policies.models import Rule
from policywindow.system.models import User
from policywindow.workflow import spec as workflow_spec
from policywindow.workflow.models import TaskStatus, WorkflowInstance, WorkflowTask
from policywindow.workflow.services import runtime

from .case_data import ACCEPT_NOTE, CASES, GRANTED, NODE_OPINIONS, RULE_ANSWERS, DemoCase
from .enterprise_loader import MEMBERS
from .pdf import demo_upload

MEMBER_OF = {name: username for username, name in MEMBERS.items()}
INTAKE_CLERK = "clerk"


def load_cases(users: dict[str, User]) -> int:
    """File the demo cases whose enterprise has none for that rule yet; returns how many."""
    enterprises = {e.name: e for e in Enterprise.objects.filter(is_demo=True)}
    rules = {r.code: r for r in Rule.objects.select_related("current")}
    taken = set(Application.objects.values_list("enterprise_id", "rule_id"))
    todo = [
        case
        for case in CASES
        if (enterprises[case.enterprise].pk, rules[case.rule].pk) not in taken
    ]
    created = 0
    # Oldest filing first, so application numbers rise with the filing dates.
    for case in sorted(todo, key=lambda c: -c.ages[0]):
        filer = users[case.filed_by or MEMBER_OF[case.enterprise]]
        enterprise = enterprises[case.enterprise]
        if not case.filed_by and enterprise_of(filer) != enterprise:
            continue  # the account was linked to another enterprise meanwhile
        application = _file(case, filer, enterprise, rules[case.rule])
        _decide(case, application, filer, users[INTAKE_CLERK])
        _age(application, case.ages)
        created += 1
    return created


def _file(case: DemoCase, filer: User, enterprise: Enterprise, rule: Rule) -> Application:
    channel = Application.Channel.WINDOW if case.filed_by else Application.Channel.ONLINE
    application = filing.start_application(filer, enterprise, rule, channel)
    if case.outcome == S.DRAFT:
        data = {**answers_as_data(form_items(application), application.answers), **case.answers}
        return filing.save_answers(filer, application, data)
    data, files = _full_form(application, {**RULE_ANSWERS.get(case.rule, {}), **case.answers})
    filing.save_answers(filer, application, data, files)
    return filing.submit(filer, application)


def _full_form(application: Application, answers: dict[str, Any]) -> tuple[dict, dict]:
    """Every item filled: given answers over pre-filled ones; each file reused or a new PDF."""
    enterprise = application.enterprise
    answers = {"contact_phone": enterprise.contact_phone, **answers}
    specs = form_items(application)
    data = answers_as_data(specs, application.answers)
    files = {}
    for spec in specs:
        if not spec.is_file:
            if spec.key in answers:
                data[spec.key] = answers[spec.key]
            continue
        earlier = _earlier_material(enterprise, spec.material_code)
        if earlier is not None:  # the enterprise uploaded this kind of material before
            data[spec.keep_name] = [str(earlier.pk)]
        else:
            files[spec.key] = [demo_upload(spec.label, enterprise.name, enterprise.credit_code)]
    return data, files


def _earlier_material(enterprise: Enterprise, material_code: str) -> Material | None:
    if not material_code:
        return None
    return (
        Material.objects.filter(enterprise=enterprise, material_code=material_code)
        .order_by("-uploaded_at", "-id")
        .first()
    )


def _decide(case: DemoCase, application: Application, filer: User, clerk: User) -> None:
    if case.outcome in (S.DRAFT, S.SUBMITTED):
        return
    if case.fixes:
        application = _request_fixes(case, application, clerk)
        if case.resubmitted:
            application = _resubmit(case, application, filer)
    if case.outcome in (S.IN_REVIEW, *GRANTED):
        checklist = [{"key": s.key, "result": "complete"} for s in form_items(application)]
        intake.accept(
            clerk, application, checklist, ACCEPT_NOTE, expected_revision=application.revision
        )
        _review(case, application)
        if case.outcome in GRANTED:
            _approve_to_the_end(application)
    elif case.outcome == S.NOT_ACCEPTED:
        intake.refuse(clerk, application, case.note, expected_revision=application.revision)


def _review(case: DemoCase, application: Application) -> None:
    """Each approver named approves their open task, as they would on the case page."""
    for username, opinion in case.review:
        task = WorkflowTask.objects.get(
            application=application, assignee__username=username, status=TaskStatus.OPEN
        )
        runtime.decide(task.assignee, task.pk, runtime.Decision("approve", opinion))


def _approve_to_the_end(application: Application) -> None:
    """Every open task approved by its assignee, level after level, until the case is approved
    (the final approval takes the amount from the rule's budget, as on the case page)."""
    open_tasks = WorkflowTask.objects.filter(application=application, status=TaskStatus.OPEN)
    while task := open_tasks.select_related("assignee").order_by("level", "id").first():
        opinion = NODE_OPINIONS.get(task.node_key, "同意。")
        runtime.decide(task.assignee, task.pk, runtime.Decision("approve", opinion))


def _request_fixes(case: DemoCase, application: Application, clerk: User) -> Application:
    items = [{"key": key, "comment": comment} for key, comment in case.fixes]
    return intake.request_supplement(
        clerk, application, items, case.note, expected_revision=application.revision
    )


def _resubmit(case: DemoCase, application: Application, filer: User) -> Application:
    """The enterprise fixes exactly the items named: a new PDF per file item."""
    enterprise = application.enterprise
    specs = {spec.key: spec for spec in form_items(application)}
    data, files = {}, {}
    for key, _comment in case.fixes:
        spec = specs[key]
        if spec.is_file:
            title = f"{spec.label}（补正）"
            files[key] = [demo_upload(title, enterprise.name, enterprise.credit_code)]
        else:
            data[key] = case.answers[key]
    return filing.resubmit_supplement(filer, application, data, files)


# ---------------------------------------------------------------- dating the cases


def working_days_ago(count: int, today: dt.date) -> dt.date:
    """The working day ``count`` working days before today (0 is today itself)."""
    return calendar.working_day_before(today, count)


def _age(application: Application, ages: tuple[int, ...]) -> None:
    """Move the case's timestamps back: filing on ``ages[0]``, each later move on the next.

    Steps stay in order, minutes apart; a demo time still to come today keeps the real time.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    events = list(application.events.order_by("occurred_at", "id"))
    moved: list[tuple[dt.datetime, dt.datetime]] = []  # (real time, demo time) per event
    for minute, (event, step) in enumerate(zip(events, _steps(events), strict=True)):
        day = working_days_ago(ages[min(step, len(ages) - 1)], today)
        start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=calendar.SHANGHAI)
        # Each case and step at its own time of the working day (09:00–17:00). Numbered cases
        # are placed by their sequence so numbers follow filing times within a day too (a
        # pk-based spread differs between databases and could invert two same-day cases).
        base = int(application.number[-6:]) * 20 if application.number else application.pk * 47
        offset = (base + step * 7) % 420 + minute * 3
        moment = start + dt.timedelta(minutes=offset)
        moved.append((event.occurred_at, min(moment, event.occurred_at)))
        event.occurred_at = moved[-1][1]
    ApplicationEvent.objects.bulk_update(events, ["occurred_at"])
    _restamp(application, {e.action: e.occurred_at for e in events}, moved)


def _steps(events: list[ApplicationEvent]) -> list[int]:
    """Each event's step: a status change (other than the filing) starts the next one. The
    approval that finished the review belongs to the step of the case's approval it caused."""
    steps, step = [], 0
    for event in events:
        if event.to_status and event.action != "submit":
            step += 1
        steps.append(step)
    for i in range(1, len(events)):
        if events[i].action == "review_approved" and events[i - 1].action == "review_approve":
            steps[i - 1] = steps[i]
    return steps


def _restamp(
    application: Application,
    when: dict[str, dt.datetime],
    moved: list[tuple[dt.datetime, dt.datetime]],
) -> None:
    fields: dict[str, Any] = {"created_at": moved[0][1], "updated_at": moved[-1][1]}
    if application.number:
        fields["submitted_at"] = when["submit"]
    if "accept" in when:
        fields["accepted_at"] = when["accept"]
        due = calendar.deadline(when["accept"], application.rule_version.review_days)
        fields["due_at"] = due.due_at
        provisional.remember("due_at", [(application, due)])
    if "review_approved" in when:
        fields["decided_at"] = when["review_approved"]
    Application.objects.filter(pk=application.pk).update(**fields)
    for material in Material.objects.filter(application=application):
        # A file is dated with the step that saved it: the first event recorded after it.
        real = material.uploaded_at
        new = next((demo for was, demo in moved if was >= real), moved[-1][1])
        Material.objects.filter(pk=material.pk).update(uploaded_at=new)
    if "accept" in when:
        _restamp_review(application, when["accept"])
    if "supplement" in when:
        SupplementNotice.objects.filter(application=application).update(
            issued_at=when["supplement"], resolved_at=when.get("resubmit")
        )


def _restamp_review(application: Application, accepted_at: dt.datetime) -> None:
    """The workflow started when the case was accepted; tasks are dated by the decisions."""
    instance = WorkflowInstance.objects.select_related("workflow").get(application=application)
    finished = application.events.filter(action="review_approved").first()
    WorkflowInstance.objects.filter(pk=instance.pk).update(
        started_at=accepted_at, finished_at=finished.occurred_at if finished else None
    )
    decided = {
        event.data["task"]: event.occurred_at
        for event in application.events.filter(action__startswith="review_", data__has_key="task")
    }
    last = max(decided.values(), default=accepted_at)
    drawn = workflow_spec.parse(instance.workflow.spec)
    for task in instance.tasks.all():
        task.opened_at = accepted_at if task.level == 0 else last
        due = runtime.task_deadline(drawn.node(task.node_key), task.opened_at)
        task.due_at = due.due_at
        if task.decided_at is not None:
            task.decided_at = decided.get(task.pk, last)
        task.save(update_fields=["opened_at", "due_at", "decided_at"])
        provisional.remember("due_at", [(task, due)])

"""一表申请: start a draft, save answers and files, submit, resubmit after 补正.

The form is the rule version's required items, frozen into the application
when the draft starts. Drafts save partial answers; submitting validates the
whole form, refuses with a clear Chinese reason (outside the application
window, a duplicate for the year, an ineligible or not yet assessable
enterprise) and otherwise takes the next number and moves the draft to
待受理 — all in one transaction, so a refused submit leaves no number behind.

Each write is one transaction that reads what it changes once, locked, with what it needs
(``_locked``: the application with its enterprise, rule and version, and whether the actor
may edit it); no savepoint inside an idempotent API request's transaction (``transactions``:
nothing in between catches a failure to carry on). A submission takes its number in its last
statement (``numbering``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from redis.exceptions import RedisError

from policywindow.core import audit
from policywindow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from policywindow.core.transactions import write_transaction
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.enterprises.selectors import enterprise_facts
from policywindow.policies.models import RuleVersion
from policywindow.workflow.services import runtime
from policywindow.workflow.subjects import APPLICATION

from .. import transitions
from ..forms import (
    KEEP_SUFFIX,
    ApplicationFormBase,
    ItemSpec,
    answer_value,
    answers_as_data,
    data_value,
    field_for,
    form_class,
    initial_from,
    specs_of_snapshot,
    specs_of_version,
)
from ..models import Application, Material, SupplementNotice
from ..models import ApplicationStatus as S
from ..selectors_filing import (
    Assessment,
    YearFilings,
    assess_application,
    file_choices,
    today,
    window_problem,
    year_filings,
)
from . import numbering, uploads

log = logging.getLogger(__name__)
COUNTER_NOTE = "窗口代办"
PUBLISHED_ITEMS_SECONDS = 3600
INVALID_FORM = "申报表有未填写或填写有误的内容，请按提示修改"
NOT_FOUND = "申报不存在，或不是本企业（本人窗口代办）的申报"
NO_ENTERPRISE = "您的账号尚未关联企业，不能申报"
# Form data, or a function of the locked application that makes it (the API's JSON answers
# are read against the application's own items).
FormData = Mapping[str, Any] | Callable[[Application], Mapping[str, Any]]


# ---------------------------------------------------------------- the form


def build_form(
    application_or_version: Application | Any,
    data: Mapping[str, Any] | None = None,
    files: Mapping[str, Any] | None = None,
    only_keys: list[str] | None = None,
    *,
    draft: bool = False,
    fixing: bool = False,
    enterprise: Enterprise | None = None,
) -> ApplicationFormBase:
    """The form of an application (its frozen items and answers) or of a rule version.

    ``only_keys`` limits the form to those items (补正: only the items named in the
    notice); ``draft`` makes every item optional while still checking what is filled;
    ``fixing`` (the 补正 page) pre-selects none of the files found wanting.
    """
    if isinstance(application_or_version, Application):
        application = application_or_version
        specs = specs_of_snapshot(application.form_snapshot)
        enterprise, answers = application.enterprise, application.answers
    else:
        application = None
        specs = specs_of_version(application_or_version)
        answers = prefill_answers(specs, enterprise) if enterprise else {}
    if only_keys is not None:
        specs = [spec for spec in specs if spec.key in set(only_keys)]
    choices = file_choices(enterprise, application, specs)
    offers = choices.offers
    form = form_class(specs, offers=offers, draft=draft)
    built = form(data, files, initial=initial_from(specs, answers, offers, fixing=fixing))
    built.attached = choices.attached  # the application's files, when the form read them
    return built


def published_specs(version) -> list[ItemSpec]:
    """The items a filing is started on. A published version's items never change (policies
    refuses to edit them: ``version_frozen``), so they are kept in the cache, and a start or a
    one-request submission reads no item rows."""
    if version.status != RuleVersion.Status.PUBLISHED:
        return specs_of_version(version)
    key = f"applications:published-items:{version.pk}:{version.version}"
    try:
        snapshot = cache.get(key)
    except RedisError as exc:  # the cache is a shortcut, never a reason to refuse a filing
        log.warning("缓存不可用，申报表要件改为从数据库读取：%s", exc)
        return specs_of_version(version)
    if snapshot is None:
        snapshot = [spec.snapshot() for spec in specs_of_version(version)]
        try:
            cache.set(key, snapshot, PUBLISHED_ITEMS_SECONDS)
        except RedisError as exc:
            log.warning("缓存不可用，申报表要件未缓存：%s", exc)
    return specs_of_snapshot(snapshot)


def prefill_answers(specs: list[ItemSpec], enterprise: Enterprise) -> dict[str, Any]:
    """Answers taken from the enterprise record (``prefill_source``: a fact key or a field)."""
    facts = enterprise_facts(enterprise)
    answers: dict[str, Any] = {}
    for spec in specs:
        source = spec.prefill_source
        if not source or spec.is_file:
            continue
        value = facts[source] if source in facts else getattr(enterprise, source, None)
        if value is None or value == "":
            continue
        try:
            cleaned = field_for(spec, required=False).clean(data_value(spec, value))
        except ValidationError:
            continue  # a record value the item would refuse is left for the user to enter
        if (answer := answer_value(spec, cleaned)) is not None:
            answers[spec.key] = answer
    return answers


def _details(form: ApplicationFormBase) -> dict[str, list[str]]:
    return {name.removesuffix(KEEP_SUFFIX): list(errors) for name, errors in form.errors.items()}


def validated(form: ApplicationFormBase) -> ApplicationFormBase:
    if not form.is_valid():
        raise ValidationFailed(INVALID_FORM, details=_details(form))
    return form


# ---------------------------------------------------------------- who may file: the locked reads


def lock_enterprise(actor, enterprise: Enterprise | None, channel: str) -> Enterprise:
    """The enterprise filed for, locked: one enterprise's starts and submits queue here, so an
    open draft is found rather than made twice and two drafts cannot both pass the duplicate
    check. ``None``: the enterprise the actor acts for."""
    rows = Enterprise.objects.select_for_update(no_key=True, of=("self",))
    if channel == Application.Channel.WINDOW:
        if not actor.has_permission_code("window:apply:create"):
            raise PermissionDenied("您没有窗口代办申报的权限")
        return rows.get(pk=enterprise.pk)
    rows = rows.filter(members__user_id=actor.pk)
    locked = (rows if enterprise is None else rows.filter(pk=enterprise.pk)).first()
    if locked is None and enterprise is None:
        raise PermissionDenied(NO_ENTERPRISE, code="no_enterprise")
    if locked is None:
        raise PermissionDenied("只能为本人所属企业申报")
    return locked


def _locked(actor, application: Application | int, *, enterprise_too: bool = False) -> Application:
    """The application with its enterprise, rule and version, locked: a write's one read.

    The enterprise's own users, or the clerk who filed it at the counter, may change it; to
    anyone else it does not exist (never a hint that it does). ``enterprise_too`` also locks
    the enterprise row (a submit's duplicate check)."""
    pk = application.pk if isinstance(application, Application) else application
    member = Exists(
        EnterpriseMember.objects.filter(user_id=actor.pk, enterprise=OuterRef("enterprise_id"))
    )
    locked = (
        Application.objects.select_for_update(
            no_key=True, of=("self", "enterprise") if enterprise_too else ("self",)
        )
        .select_related("enterprise", "rule", "rule_version")
        .annotate(actor_is_member=member)
        .filter(pk=pk)
        .first()
    )
    counter_clerk = (
        locked is not None
        and locked.channel == Application.Channel.WINDOW
        and locked.applicant_id == actor.pk
    )
    if locked is None or not (counter_clerk or locked.actor_is_member):
        raise NotFound(NOT_FOUND)
    return locked


def published_version(rule):
    version = rule.current
    if version is None or version.status != RuleVersion.Status.PUBLISHED:
        raise ValidationFailed("该细则尚未发布或已停止申报")
    return version


def _duplicate_message(duplicate: Application) -> str:
    return (
        f"本企业 {duplicate.year} 年度已申报过该细则（申报编号 {duplicate.number or '—'}，"
        f"当前状态：{duplicate.get_status_display()}），该细则每年限申报一次"
    )


def refuse_duplicate(filings: YearFilings, application: Application, version) -> None:
    if version.once_per_year and (duplicate := filings.duplicate(application)) is not None:
        raise Conflict(_duplicate_message(duplicate), code="duplicate_application")
    if (rival := filings.rival(application, version)) is not None:
        raise Conflict(
            f"本企业 {rival.year} 年度已申报《{rival.rule_version.title}》（申报编号 {rival.number}），"
            f"与本细则属于同一互斥组，不能重复享受",
            code="mutually_exclusive",
        )


# ---------------------------------------------------------------- drafts


def start_application(
    actor, enterprise: Enterprise | None, rule, channel: str = Application.Channel.ONLINE
) -> Application:
    """A draft for the rule's current version, or the open draft reopened (on the current version).

    ``enterprise`` ``None``: the enterprise the actor acts for (the API)."""
    version = published_version(rule)
    with write_transaction():
        enterprise = lock_enterprise(actor, enterprise, channel)
        year = today().year
        filings = year_filings(enterprise.pk, rule.pk, year, version.exclusion_group)
        draft = filings.open_draft(rule.pk, channel=channel, applicant_id=actor.pk)
        if draft is not None:
            return _move_to_version(actor, _locked(actor, draft), version)
        refuse_duplicate(filings, Application(enterprise=enterprise, rule=rule, year=year), version)
        specs = published_specs(version)
        # The enterprise lock makes this start the only one: the unique draft constraint,
        # the backstop, cannot refuse it, so no savepoint is needed to recover.
        application = Application.objects.create(
            rule=rule,
            rule_version=version,
            enterprise=enterprise,
            applicant=actor,
            channel=channel,
            year=year,
            form_snapshot=[spec.snapshot() for spec in specs],
            department_id=version.lead_department_id,
        )
        # Answers are encrypted bound to the row's id: written once it has one (as
        # EncryptedModel.save would, without the savepoint it opens for that).
        if answers := prefill_answers(specs, enterprise):
            application.answers = answers
            application.save(update_fields=["answers"])
        note = COUNTER_NOTE if channel == Application.Channel.WINDOW else ""
        transitions.record_event(application, actor=actor, action="create", note=note)
        audit.record(
            "application.create",
            actor=actor,
            target=application,
            after={"rule": rule.code, "version": version.version, "channel": channel},
            message=note,
        )
        return uploads.remember(application, [])


def _move_to_version(actor, draft: Application, version) -> Application:
    """A draft started on an older version takes the current items, keeping matching answers."""
    if draft.rule_version_id == version.pk:
        return draft
    specs = published_specs(version)
    kinds = {spec.key: spec.kind for spec in specs}
    old_kinds = {spec.key: spec.kind for spec in specs_of_snapshot(draft.form_snapshot)}
    draft.answers = {
        key: value
        for key, value in draft.answers.items()
        if key in kinds and kinds[key] == old_kinds.get(key)
    }
    # Files of items the new version no longer has leave the draft with their answers.
    files = [spec.key for spec in specs if spec.is_file]
    Material.objects.filter(application=draft).exclude(item_key__in=files).update(application=None)
    draft.rule_version = version
    draft.form_snapshot = [spec.snapshot() for spec in specs]
    draft.department_id = version.lead_department_id
    draft.save(
        update_fields=["answers", "rule_version", "form_snapshot", "department", "updated_at"]
    )
    note = f"细则已更新为第 {version.version} 版，申报表已按新版本更新"
    transitions.record_event(draft, actor=actor, action="save_draft", note=note)
    audit.record(
        "application.save_draft", actor=actor, target=draft, after={"version": version.version}
    )
    return draft


def _present_keys(application: Application, data: Mapping, files: Mapping | None) -> list[str]:
    files = files or {}
    return [
        spec.key
        for spec in specs_of_snapshot(application.form_snapshot)
        if spec.key in data or spec.keep_name in data or spec.key in files
    ]


def save_answers(
    actor,
    application: Application | int,
    data: FormData,
    files: Mapping[str, Any] | None = None,
    *,
    partial: bool = False,
) -> Application:
    """Save a draft: what is filled is checked, nothing is required yet.

    ``partial`` (the API's PATCH) changes only the items present in ``data``/``files``;
    otherwise the data is the whole form and an item left out is cleared.
    """
    with write_transaction():
        return _save_answers(actor, _locked(actor, application), data, files, partial=partial)


def _save_answers(
    actor, locked: Application, data: FormData, files: Mapping | None, *, partial: bool
) -> Application:
    if locked.status != S.DRAFT:
        raise Conflict(f"申报当前状态为“{locked.get_status_display()}”，只有草稿可以修改")
    data = data(locked) if callable(data) else data
    only = _present_keys(locked, data, files) if partial else None
    form = validated(build_form(locked, data, files, only_keys=only, draft=True))
    changed, uploaded = _apply(actor, locked, form)
    if form.attached is not None:
        uploads.remember(locked, form.attached)
    if not (changed or uploaded):
        return locked  # nothing new: no save, no timeline line, no audit noise
    locked.save(update_fields=["answers", "updated_at"])
    transitions.record_event(locked, actor=actor, action="save_draft", data={"keys": changed})
    audit.record(
        "application.save_draft",
        actor=actor,
        target=locked,
        after={"items": changed, "uploaded": uploaded},
    )
    return locked


def save_draft(
    actor, application: Application, data: Mapping[str, Any], files: Mapping[str, Any] | None
) -> tuple[Application, dict[str, list[str]]]:
    """The page's 保存草稿: a refused upload does not cost the typed answers.

    When only new uploads are refused, everything else (the answers, the other files, the files
    kept) is saved without them, and the refused items come back with their errors; any other
    problem refuses the whole save, as ``save_answers`` does.
    """
    files = files or {}
    try:
        return save_answers(actor, application, data, files), {}
    except ValidationFailed as exc:
        refused = {key: problems for key, problems in exc.details.items() if key in files}
        if not refused or len(refused) < len(exc.details):
            raise
    rest = MultiValueDict({key: _uploads(files, key) for key in files if key not in refused})
    return save_answers(actor, application, data, rest), refused


def _uploads(files: Mapping[str, Any], key: str) -> list[Any]:
    if hasattr(files, "getlist"):
        return files.getlist(key)
    value = files[key]
    return list(value) if isinstance(value, list | tuple) else [value]


def add_materials(actor, application: Application | int, item_key: str, files: list) -> Application:
    """Attach more files to one file item of a draft (the API's upload)."""

    def keeping_the_attached(locked: Application) -> dict[str, list[str]]:
        specs = {spec.key: spec for spec in specs_of_snapshot(locked.form_snapshot)}
        spec = specs.get(item_key)
        if spec is None or not spec.is_file:
            message = f"申报表中没有名为“{item_key}”的附件材料项"
            raise ValidationFailed(message, details={"item": [message]})
        return {spec.keep_name: [str(pk) for pk in locked.answers.get(item_key, [])]}

    return save_answers(actor, application, keeping_the_attached, {item_key: files}, partial=True)


def _apply(
    actor, application: Application, form: ApplicationFormBase
) -> tuple[list[str], list[str]]:
    """Write the form's answers and files into the (locked) application; returns what changed.

    ``form.attached`` (the application's files, as the form read them) follows the changes."""
    before = dict(application.answers)
    answers = dict(before)
    uploaded: list[str] = []
    for key, value in form.answers().items():
        _set_answer(answers, key, value)
    changes = form.file_changes()
    specs = {spec.key: spec for spec in form.specs}
    attached = {m.pk: m for m in form.attached or []}  # read whenever there are file changes
    for key, (kept, new_files) in changes.items():
        files = [_keep(actor, application, form.offered(key)[pk], key) for pk in kept]
        for upload, kind in new_files:
            material = uploads.store(
                actor,
                upload,
                kind=kind,
                application=application,
                item_key=key,
                material_code=specs[key].material_code,
            )
            files.append(material)
            uploaded.append(material.original_name)
        ids = [material.pk for material in files]
        dropped = [pk for pk, m in attached.items() if m.item_key == key and pk not in ids]
        Material.objects.filter(pk__in=dropped).update(application=None)
        for pk in dropped:
            del attached[pk]
        attached.update((material.pk, material) for material in files)
        _set_answer(answers, key, ids)
    if form.attached is not None:
        form.attached = list(attached.values())
    application.answers = answers
    changed = sorted(
        key for key in answers.keys() | before.keys() if answers.get(key) != before.get(key)
    )
    return changed, uploaded


def _keep(actor, application: Application, offer, key: str) -> Material:
    """A kept file stays; a file uploaded for another application is attached as a copy."""
    if offer.attached:
        return offer.material
    return uploads.attach_copy(actor, offer.material, application=application, item_key=key)


def _set_answer(answers: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", []):
        answers.pop(key, None)
    else:
        answers[key] = value


# ---------------------------------------------------------------- submit


def refuse_ineligible(assessment: Assessment) -> None:
    eligibility = assessment.eligibility
    if eligibility.status == "ineligible":
        reasons = "；".join(eligibility.failures)
        raise ValidationFailed(
            f"不符合申报条件：{reasons}",
            code="ineligible",
            details={"eligibility": list(eligibility.failures)},
        )
    if eligibility.status == "unknown":
        reasons = "；".join(eligibility.unknowns)
        raise ValidationFailed(
            f"暂无法判断是否符合申报条件（{reasons}），请先补全企业信息或申报表后再提交",
            code="eligibility_unknown",
            details={"eligibility": list(eligibility.unknowns)},
        )


def submit(actor, application: Application | int) -> Application:
    """Validate the whole draft, refuse with a clear reason, or number it and move it to 待受理."""
    with write_transaction():
        locked = _locked(actor, application, enterprise_too=True)
        if locked.status != S.DRAFT:
            raise Conflict(
                f"该申报已提交（申报编号 {locked.number}，当前状态：{locked.get_status_display()}）",
                code="already_submitted",
            )
        version = locked.rule_version
        if version.pk != locked.rule.current_id:
            raise Conflict(
                "该细则已发布新版本，请重新打开申报表核对后再提交", code="version_changed"
            )
        if problem := window_problem(version):
            raise ValidationFailed(problem, code="outside_window")
        filings = year_filings(
            locked.enterprise_id, locked.rule_id, locked.year, version.exclusion_group
        )
        refuse_duplicate(filings, locked, version)
        specs = specs_of_snapshot(locked.form_snapshot)
        form = validated(build_form(locked, answers_as_data(specs, locked.answers)))
        assessment = assess_application(locked)
        refuse_ineligible(assessment)
        if form.attached is not None:
            uploads.remember(locked, form.attached)
        return number_submission(actor, locked, assessed(assessment))


def assessed(assessment: Assessment) -> dict[str, Any]:
    """What a submission stores of its pre-check."""
    return {"eligibility": assessment.eligibility.as_dict(), "requested_amount": assessment.amount}


def number_submission(
    actor, application: Application, changes: dict[str, Any], *, note: str = "", data=None
) -> Application:
    """Move a checked, locked draft (a filing made whole in one request, a 免申即享 case) to
    待受理 with its number: the timeline, the enterprise's message and the audit event first,
    naming the number ``PENDING``; the number and the row (with ``changes``) last
    (``numbering``)."""
    if application.channel == Application.Channel.WINDOW:
        note = note or COUNTER_NOTE
    return transitions.move(
        application,
        S.SUBMITTED,
        actor=actor,
        action="submit",
        note=note,
        data={**(data or {}), "number": numbering.PENDING},
        changes={"number": numbering.PENDING, "submitted_at": timezone.now(), **changes},
        persist=numbering.save_numbered,
    )


@transaction.atomic
def resubmit_supplement(
    actor, application: Application, data: Mapping[str, Any], files: Mapping[str, Any] | None = None
) -> Application:
    """After 补正: only the items of the open notice may change; the notice is resolved and the
    case goes back to 待受理 (补正 asked at the window) or to its reviewer (asked in review)."""
    locked = _locked(actor, application)
    if locked.status != S.SUPPLEMENT_REQUIRED:
        raise Conflict(f"申报当前状态为“{locked.get_status_display()}”，无需补正")
    notice = (
        SupplementNotice.objects.select_for_update()
        .filter(application=locked, resolved_at__isnull=True)
        .first()
    )
    if notice is None:
        raise Conflict("没有待处理的补正告知")
    keys = [item.get("key") for item in notice.items if isinstance(item, dict)]
    form = validated(build_form(locked, data, files, only_keys=keys))
    changed, _ = _apply(actor, locked, form)
    assessment = assess_application(locked)
    refuse_ineligible(assessment)
    notice.resolved_at = timezone.now()
    notice.save(update_fields=["resolved_at"])
    labels = {spec.key: spec.label for spec in form.specs}
    move = {
        "action": "resubmit",
        "data": {"items": [{"key": key, "label": labels.get(key, key)} for key in changed]},
        "changes": {
            "answers": locked.answers,
            "eligibility": assessment.eligibility.as_dict(),
            "requested_amount": assessment.amount,
        },
    }
    if runtime.in_review_supplement(APPLICATION, locked.pk):  # asked by a reviewer: back to them
        return runtime.resume(actor, APPLICATION, locked, **move)
    return transitions.move(locked, S.SUBMITTED, actor=actor, **move)

"""一表申请: start a draft, save answers and files, submit, resubmit after 补正.

The form is the rule version's required items, frozen into the application
when the draft starts. Drafts save partial answers; submitting validates the
whole form, refuses with a clear Chinese reason (outside the application
window, a duplicate for the year, an ineligible or not yet assessable
enterprise) and otherwise takes the next number and moves the draft to
待受理 — all in one transaction, so a refused submit leaves no number behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from policywindow.core import audit
from policywindow.core.errors import Conflict, PermissionDenied, ValidationFailed
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_facts, enterprise_of
from policywindow.workflow.services import runtime

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
    assess_application,
    duplicate_of,
    exclusive_rival,
    material_offers,
    open_draft,
    today,
    window_problem,
)
from . import uploads
from .numbering import next_number

COUNTER_NOTE = "窗口代办"
INVALID_FORM = "申报表有未填写或填写有误的内容，请按提示修改"


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
    offers = material_offers(enterprise, application, specs)
    form = form_class(specs, offers=offers, draft=draft)
    return form(data, files, initial=initial_from(specs, answers, offers, fixing=fixing))


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


def _validated(form: ApplicationFormBase) -> ApplicationFormBase:
    if not form.is_valid():
        raise ValidationFailed(INVALID_FORM, details=_details(form))
    return form


# ---------------------------------------------------------------- who may file


def _ensure_may_file_for(actor, enterprise: Enterprise, channel: str) -> None:
    if channel == Application.Channel.WINDOW:
        if not actor.has_permission_code("window:apply:create"):
            raise PermissionDenied("您没有窗口代办申报的权限")
        return
    acting_for = enterprise_of(actor)
    if acting_for is None or acting_for.pk != enterprise.pk:
        raise PermissionDenied("只能为本人所属企业申报")


def _ensure_may_edit(actor, application: Application) -> None:
    """The enterprise's own users, or the clerk who filed it at the counter."""
    if application.channel == Application.Channel.WINDOW and application.applicant_id == actor.pk:
        return
    acting_for = enterprise_of(actor)
    if acting_for is None or acting_for.pk != application.enterprise_id:
        raise PermissionDenied("只能办理本企业的申报")


def _published_version(rule):
    version = rule.current
    if version is None or version.status != "published":
        raise ValidationFailed("该细则尚未发布或已停止申报")
    return version


def _duplicate_message(duplicate: Application) -> str:
    return (
        f"本企业 {duplicate.year} 年度已申报过该细则（申报编号 {duplicate.number or '—'}，"
        f"当前状态：{duplicate.get_status_display()}），该细则每年限申报一次"
    )


def _refuse_duplicate(application: Application, version) -> None:
    if version.once_per_year and (duplicate := duplicate_of(application)) is not None:
        raise Conflict(_duplicate_message(duplicate), code="duplicate_application")
    if (rival := exclusive_rival(application, version)) is not None:
        raise Conflict(
            f"本企业 {rival.year} 年度已申报《{rival.rule_version.title}》（申报编号 {rival.number}），"
            f"与本细则属于同一互斥组，不能重复享受",
            code="mutually_exclusive",
        )


# ---------------------------------------------------------------- drafts


@transaction.atomic
def start_application(
    actor, enterprise: Enterprise, rule, channel: str = Application.Channel.ONLINE
) -> Application:
    """A draft for the rule's current version, or the open draft reopened (on the current version)."""
    version = _published_version(rule)
    _ensure_may_file_for(actor, enterprise, channel)
    year = today().year
    draft = open_draft(enterprise, rule, year, channel=channel, applicant=actor)
    if draft is not None:
        return _move_to_version(actor, draft, version)
    _refuse_duplicate(Application(enterprise=enterprise, rule=rule, year=year), version)
    specs = specs_of_version(version)
    try:
        with transaction.atomic():  # the unique draft constraint may refuse: keep the outer one
            application = Application.objects.create(
                rule=rule,
                rule_version=version,
                enterprise=enterprise,
                applicant=actor,
                channel=channel,
                year=year,
                form_snapshot=[spec.snapshot() for spec in specs],
                answers=prefill_answers(specs, enterprise),
                department_id=version.lead_department_id,
            )
    except IntegrityError:
        # A concurrent start of the same filing committed its draft first: that is the draft.
        draft = open_draft(enterprise, rule, year, channel=channel, applicant=actor)
        if draft is None:
            raise
        return _move_to_version(actor, draft, version)
    note = COUNTER_NOTE if channel == Application.Channel.WINDOW else ""
    transitions.record_event(application, actor=actor, action="create", note=note)
    audit.record(
        "application.create",
        actor=actor,
        target=application,
        after={"rule": rule.code, "version": version.version, "channel": channel},
        message=note,
    )
    return application


def _move_to_version(actor, draft: Application, version) -> Application:
    """A draft started on an older version takes the current items, keeping matching answers."""
    if draft.rule_version_id == version.pk:
        return draft
    specs = specs_of_version(version)
    kinds = {spec.key: spec.kind for spec in specs}
    old_kinds = {spec.key: spec.kind for spec in specs_of_snapshot(draft.form_snapshot)}
    draft.answers = {
        key: value
        for key, value in draft.answers.items()
        if key in kinds and kinds[key] == old_kinds.get(key)
    }
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


@transaction.atomic
def save_answers(
    actor,
    application: Application,
    data: Mapping[str, Any],
    files: Mapping[str, Any] | None = None,
    *,
    partial: bool = False,
) -> Application:
    """Save a draft: what is filled is checked, nothing is required yet.

    ``partial`` (the API's PATCH) changes only the items present in ``data``/``files``;
    otherwise the data is the whole form and an item left out is cleared.
    """
    locked = transitions.lock(application.pk)
    if locked.status != S.DRAFT:
        raise Conflict(f"申报当前状态为“{locked.get_status_display()}”，只有草稿可以修改")
    _ensure_may_edit(actor, locked)
    only = _present_keys(locked, data, files) if partial else None
    form = _validated(build_form(locked, data, files, only_keys=only, draft=True))
    changed, uploaded = _apply(actor, locked, form)
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


@transaction.atomic
def add_materials(actor, application: Application, item_key: str, files: list) -> Application:
    """Attach more files to one file item of a draft (the API's upload)."""
    locked = transitions.lock(application.pk)
    specs = {spec.key: spec for spec in specs_of_snapshot(locked.form_snapshot)}
    spec = specs.get(item_key)
    if spec is None or not spec.is_file:
        message = f"申报表中没有名为“{item_key}”的附件材料项"
        raise ValidationFailed(message, details={"item": [message]})
    kept = [str(pk) for pk in locked.answers.get(item_key, [])]
    return save_answers(actor, locked, {spec.keep_name: kept}, {item_key: files}, partial=True)


def _apply(
    actor, application: Application, form: ApplicationFormBase
) -> tuple[list[str], list[str]]:
    """Write the form's answers and files into the (locked) application; returns what changed."""
    before = dict(application.answers)
    answers = dict(before)
    uploaded: list[str] = []
    for key, value in form.answers().items():
        _set_answer(answers, key, value)
    changes = form.file_changes()
    specs = {spec.key: spec for spec in form.specs}
    attached = {
        m.pk: m for m in Material.objects.filter(application=application, item_key__in=changes)
    }
    for key, (kept, new_files) in changes.items():
        ids = [_keep(actor, application, form.offered(key)[pk], key) for pk in kept]
        for upload, kind in new_files:
            material = uploads.store(
                actor,
                upload,
                kind=kind,
                application=application,
                item_key=key,
                material_code=specs[key].material_code,
            )
            ids.append(material.pk)
            uploaded.append(material.original_name)
        dropped = [pk for pk, m in attached.items() if m.item_key == key and pk not in ids]
        Material.objects.filter(pk__in=dropped).update(application=None)
        _set_answer(answers, key, ids)
    application.answers = answers
    changed = sorted(
        key for key in answers.keys() | before.keys() if answers.get(key) != before.get(key)
    )
    return changed, uploaded


def _keep(actor, application: Application, offer, key: str) -> int:
    """A kept file stays; a file uploaded for another application is attached as a copy."""
    if offer.attached:
        return offer.material.pk
    return uploads.attach_copy(actor, offer.material, application=application, item_key=key).pk


def _set_answer(answers: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", []):
        answers.pop(key, None)
    else:
        answers[key] = value


# ---------------------------------------------------------------- submit


def _refuse_ineligible(assessment: Assessment) -> None:
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


@transaction.atomic
def submit(actor, application: Application) -> Application:
    """Validate the whole draft, refuse with a clear reason, or number it and move it to 待受理."""
    locked = transitions.lock(application.pk)
    if locked.status != S.DRAFT:
        raise Conflict(
            f"该申报已提交（申报编号 {locked.number}，当前状态：{locked.get_status_display()}）",
            code="already_submitted",
        )
    _ensure_may_edit(actor, locked)
    # One enterprise's submissions queue here, so two drafts cannot both pass the duplicate check.
    locked.enterprise = Enterprise.objects.select_for_update().get(pk=locked.enterprise_id)
    version = locked.rule_version
    if version.pk != locked.rule.current_id:
        raise Conflict("该细则已发布新版本，请重新打开申报表核对后再提交", code="version_changed")
    if problem := window_problem(version):
        raise ValidationFailed(problem, code="outside_window")
    _refuse_duplicate(locked, version)
    specs = specs_of_snapshot(locked.form_snapshot)
    _validated(build_form(locked, answers_as_data(specs, locked.answers)))
    assessment = assess_application(locked)
    _refuse_ineligible(assessment)
    number = next_number(locked.year)
    channel_note = COUNTER_NOTE if locked.channel == Application.Channel.WINDOW else ""
    return transitions.move(
        locked,
        S.SUBMITTED,
        actor=actor,
        action="submit",
        note=channel_note,
        data={"number": number},
        changes={
            "number": number,
            "submitted_at": timezone.now(),
            "eligibility": assessment.eligibility.as_dict(),
            "requested_amount": assessment.amount,
        },
    )


@transaction.atomic
def resubmit_supplement(
    actor, application: Application, data: Mapping[str, Any], files: Mapping[str, Any] | None = None
) -> Application:
    """After 补正: only the items of the open notice may change; the notice is resolved and the
    case goes back to 待受理 (补正 asked at the window) or to its reviewer (asked in review)."""
    locked = transitions.lock(application.pk)
    if locked.status != S.SUPPLEMENT_REQUIRED:
        raise Conflict(f"申报当前状态为“{locked.get_status_display()}”，无需补正")
    _ensure_may_edit(actor, locked)
    notice = (
        SupplementNotice.objects.select_for_update()
        .filter(application=locked, resolved_at__isnull=True)
        .first()
    )
    if notice is None:
        raise Conflict("没有待处理的补正告知")
    keys = [item.get("key") for item in notice.items if isinstance(item, dict)]
    form = _validated(build_form(locked, data, files, only_keys=keys))
    changed, _ = _apply(actor, locked, form)
    assessment = assess_application(locked)
    _refuse_ineligible(assessment)
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
    if runtime.in_review_supplement(locked):  # asked by a reviewer: back to that reviewer
        return runtime.resume(actor, locked, **move)
    return transitions.move(locked, S.SUBMITTED, actor=actor, **move)

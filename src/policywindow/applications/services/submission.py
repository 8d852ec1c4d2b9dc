"""一次提交: a whole filing in one request (the integrators' API) — answers, files, submit.

What needs no lock happens before the transaction opens: the answers and every file are checked
against the rule's published items by the same form as the pages' (type by content, PDF content,
extension against content, size, count, required items), each file is hashed and stored under a
random name. The transaction then locks the enterprise, refuses a duplicate for the year, a
mutually exclusive filing or an open draft of the same rule, inserts the application and its
materials, checks eligibility, writes the timeline line, the enterprise's message and the audit
event, and takes the number in its last statement (``numbering``). A refusal anywhere leaves
nothing behind: no row, and the stored files are removed again.

Items pre-filled from the enterprise record on the pages are not filled in here: the request
carries every answer. Earlier uploads are not reused: the files come with the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.files.uploadedfile import UploadedFile

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.transactions import write_transaction

from ..forms import ApplicationFormBase, ItemSpec, form_class, typed_answers
from ..models import Application, Material
from ..selectors_filing import assess, today, window_problem, year_filings
from . import uploads
from .filing import (
    assessed,
    lock_enterprise,
    number_submission,
    published_specs,
    published_version,
    refuse_duplicate,
    refuse_ineligible,
    validated,
)


def prepare_filing(
    actor,
    rule,
    data: Callable[[list[ItemSpec]], Mapping[str, Any]],
    files: Mapping[str, list[UploadedFile]],
) -> Callable[[], Application]:
    """Check and store a whole filing, before any transaction; returns the function that files
    and submits it (in its own transaction, or the caller's) and returns the numbered
    application (待受理).

    ``data`` makes the form data from the version's items (the API reads its JSON answers
    against them); ``files`` are the uploads of each file item, by its key."""
    version = published_version(rule)
    if problem := window_problem(version):
        raise ValidationFailed(problem, code="outside_window")
    specs = published_specs(version)
    _refuse_unknown_files(specs, files)
    form = validated(form_class(specs, offers={}, draft=False)(data(specs), files))
    materials = _stored(actor, form)

    def file_and_submit() -> Application:
        try:
            with write_transaction():
                return _file(actor, rule, version, form, materials)
        except BaseException:
            uploads.discard(materials)
            raise

    return file_and_submit


def _refuse_unknown_files(specs: list[ItemSpec], files: Mapping[str, Any]) -> None:
    file_items = {spec.key for spec in specs if spec.is_file}
    unknown = [key for key in files if key not in file_items]
    if unknown:
        message = "申报表中没有该附件项"
        raise ValidationFailed(message, details={key: [message] for key in unknown})


def _stored(actor, form: ApplicationFormBase) -> list[Material]:
    """The checked uploads hashed and stored, as material rows not yet saved."""
    specs = {spec.key: spec for spec in form.specs}
    stored: list[Material] = []
    try:
        for key, (_, new_files) in form.file_changes().items():
            for upload, kind in new_files:
                code = specs[key].material_code
                stored.append(
                    uploads.prepared(actor, upload, kind=kind, item_key=key, material_code=code)
                )
    except BaseException:
        uploads.discard(stored)
        raise
    return stored


def _file(actor, rule, version, form: ApplicationFormBase, materials: list[Material]):
    enterprise = lock_enterprise(actor, None, Application.Channel.ONLINE)
    year = today().year
    filings = year_filings(enterprise.pk, rule.pk, year, version.exclusion_group)
    draft = filings.open_draft(rule.pk, channel=Application.Channel.ONLINE, applicant_id=actor.pk)
    if draft is not None:
        raise Conflict(
            f"本企业已有该细则的申报草稿（草稿 #{draft.pk}），请在该草稿中填报并提交",
            code="draft_exists",
            details={"draft": draft.pk},
        )
    application = Application(
        rule=rule,
        rule_version=version,
        enterprise=enterprise,
        applicant=actor,
        year=year,
        form_snapshot=[spec.snapshot() for spec in form.specs],
        department_id=version.lead_department_id,
    )
    refuse_duplicate(filings, application, version)
    application.save(force_insert=True)
    uploads.attach_all(application, materials)
    # The answers (encrypted, bound to the row's id) go in with the number, in the last write.
    answers = {key: value for key, value in form.answers().items() if value is not None}
    for material in materials:
        answers.setdefault(material.item_key, []).append(material.pk)
    application.answers = answers
    assessment = assess(version, enterprise, typed_answers(form.specs, application.answers))
    refuse_ineligible(assessment)
    uploads.remember(application, materials)
    return number_submission(actor, application, {**assessed(assessment), "answers": answers})

"""Archiving disbursed cases: 已拨付 → 已办结 with the case's full file frozen as one zip.

The zip is built first, outside any transaction (rendering and copying materials takes
seconds and must not hold the case row); then one transaction locks the case, checks that
nothing moved meanwhile (its revision), moves it to ARCHIVED and records the archive with the
zip's SHA-256 and an audit event. A zip whose transaction fails is deleted again. Many cases
are archived by a background task, one case (one transaction) at a time, with progress.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from policywindow.fundforms.models import FundForm

from . import package, selectors
from .models import Archive, ArchiveBatch

logger = logging.getLogger(__name__)

ARCHIVE_PERMISSION = "finance:archive:archive"
MAX_BATCH = 200
# A batch run that has not recorded a case for this long is taken for dead and run again.
STALLED_AFTER = dt.timedelta(minutes=10)


def archive_case(actor: Any, application_id: int, *, batch: ArchiveBatch | None = None) -> Archive:
    """Archive one 已拨付 case in the actor's scope; refused (Conflict) in any other state."""
    require_permission(actor, ARCHIVE_PERMISSION)
    case = selectors.in_scope(actor, [application_id]).first()
    if case is None:
        raise NotFound("所选办件不存在或不在您的数据范围内，请刷新后重试")
    _check(case)
    archived_at = timezone.now()
    built = package.build(case, archived_at=archived_at, archived_by=_name(actor))
    field = Archive._meta.get_field("file")
    with built.handle:
        name = field.generate_filename(None, f"{case.number}.zip")
        stored = field.storage.save(name, File(built.handle, name=name))
    try:
        with transaction.atomic():
            return _record(actor, case, built, stored, archived_at, batch)
    except BaseException:
        field.storage.delete(stored)
        raise


def _name(actor: Any) -> str:
    return actor.real_name or actor.username


def _check(case: Application) -> None:
    if case.status == S.ARCHIVED or Archive.objects.filter(application=case).exists():
        raise Conflict(f"办件 {case.number} 已归档，不能重复归档")
    if case.status != S.DISBURSED:
        label = S(case.status).label
        raise Conflict(f"办件 {case.number} 当前状态为“{label}”，只有已拨付的办件可以归档")
    if not FundForm.objects.filter(application=case).exists():
        raise Conflict(f"办件 {case.number} 尚未出具经费审批表，请先在“经费审批表”中出具后再归档")


def _record(
    actor: Any,
    case: Application,
    built: package.Built,
    stored: str,
    archived_at: dt.datetime,
    batch: ArchiveBatch | None,
) -> Archive:
    locked = transitions.lock(case.pk)
    _check(locked)
    transitions.move(
        locked,
        S.ARCHIVED,
        actor=actor,
        action="archive",
        note=f"归档文件 {len(built.entries)} 个，SHA-256 {built.sha256}",
        expected_revision=case.revision,
    )
    try:
        with transaction.atomic():
            archive = Archive.objects.create(
                application=locked,
                file=stored,
                sha256=built.sha256,
                size=built.size,
                file_count=len(built.entries),
                archived_by=actor,
                archived_at=archived_at,
                batch=batch,
            )
    except IntegrityError as exc:  # archived by someone else at the same moment
        raise Conflict(f"办件 {case.number} 已归档，不能重复归档") from exc
    audit.record(
        "archive.create",
        actor=actor,
        target=archive,
        after={
            "application": case.number,
            "sha256": built.sha256,
            "size": built.size,
            "files": len(built.entries),
        },
    )
    return archive


def open_archive(archive: Archive) -> FieldFile:
    """The stored zip, for a download; a file that went missing is a clear 404."""
    try:
        return archive.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise NotFound("归档文件在存储中缺失，请联系系统管理员") from None


# ---------------------------------------------------------------- many cases at once


def start_batch(actor: Any, application_ids: Iterable[int]) -> ArchiveBatch:
    """Check the chosen cases now (clear errors at once) and archive them in the background."""
    require_permission(actor, ARCHIVE_PERMISSION)
    ids = sorted(set(application_ids))
    if not ids:
        raise ValidationFailed("请先勾选要归档的办件", details={"applications": ["请勾选办件"]})
    if len(ids) > MAX_BATCH:
        message = f"一次最多归档 {MAX_BATCH} 件，本次勾选了 {len(ids)} 件"
        raise ValidationFailed(message, details={"applications": [message]})
    cases = list(selectors.in_scope(actor, ids))
    if len(cases) != len(ids):
        raise NotFound("所选办件不存在或不在您的数据范围内，请刷新后重试")
    problems = []
    for case in cases:
        try:
            _check(case)
        except Conflict as exc:
            problems.append(exc.message)
    if problems:
        raise Conflict("以下办件不能归档：" + "；".join(problems))
    with transaction.atomic():
        batch = ArchiveBatch.objects.create(
            application_ids=ids, created_by=actor, created_at=timezone.now(), total=len(ids)
        )
        audit.record(
            "archivebatch.create",
            actor=actor,
            target=batch,
            after={"applications": [case.number for case in cases]},
        )
        transaction.on_commit(lambda: _enqueue(batch.pk))
    return batch


def _enqueue(batch_id: int) -> None:
    from .tasks import run_archive_batch  # the task module imports this one

    run_archive_batch.enqueue(batch_id)


def run_batch(batch: ArchiveBatch) -> ArchiveBatch:
    """Archive every case of the batch that is not archived yet, one transaction each.

    A second run (after a worker died) skips what the first archived; a case that cannot
    be archived is listed with the reason and the others go on.
    """
    ArchiveBatch.objects.filter(pk=batch.pk).update(
        errors=[], failed=0, finished_at=None, touched_at=timezone.now()
    )
    archived = set(
        Archive.objects.filter(application_id__in=batch.application_ids).values_list(
            "application_id", flat=True
        )
    )
    for pk in batch.application_ids:
        if pk not in archived:
            _archive_one(batch, pk)
    ArchiveBatch.objects.filter(pk=batch.pk).update(finished_at=timezone.now())
    batch.refresh_from_db()
    return batch


def _archive_one(batch: ArchiveBatch, pk: int) -> None:
    try:
        archive_case(batch.created_by, pk, batch=batch)
    except (DomainError, OSError) as exc:
        logger.warning("case %s of archive batch %s not archived: %s", pk, batch.pk, exc)
        number = Application.objects.filter(pk=pk).values_list("number", flat=True).first()
        reason = exc.message if isinstance(exc, DomainError) else f"文件存储出错：{exc}"
        _note_failure(batch, {"application": pk, "number": number or "", "reason": reason})
    _count(batch)


def _note_failure(batch: ArchiveBatch, failure: dict[str, Any]) -> None:
    with transaction.atomic():
        row = ArchiveBatch.objects.select_for_update().get(pk=batch.pk)
        row.errors = [*row.errors, failure]
        row.failed = F("failed") + 1
        row.save(update_fields=["errors", "failed"])


def _count(batch: ArchiveBatch) -> None:
    done = Archive.objects.filter(application_id__in=batch.application_ids).count()
    ArchiveBatch.objects.filter(pk=batch.pk).update(done=done, touched_at=timezone.now())


def claim_stalled_batches() -> list[int]:
    """Runs that died part-way (never finished, no case recorded for a while), marked as
    touched now so that the next sweep leaves them to the run queued for them."""
    now = timezone.now()
    since = now - STALLED_AFTER
    stalled = ArchiveBatch.objects.filter(finished_at__isnull=True, created_at__lt=since).exclude(
        touched_at__gte=since
    )
    ids = list(stalled.values_list("pk", flat=True))
    ArchiveBatch.objects.filter(pk__in=ids).update(touched_at=now)
    return ids

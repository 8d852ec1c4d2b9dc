"""Issuing fund approval forms in batches, and producing their signed files.

Issuing is one transaction: the chosen cases are locked and checked, numbers are taken from
the year's locked sequence, and each form's content is frozen with a timeline line and an
audit event. The files (signed PDFs, Excel) are made by background tasks queued when that
transaction commits — rendering a hundred forms takes seconds, which must hold neither the
request nor the number sequence (or SQLite's write lock). The forms are made in chunks that
the workers share (``produce_files``). Files depend only on the frozen content, so whoever
makes a file — a worker, a second run after a worker died, or a download that cannot wait —
makes the same bytes, and the first one recorded stays (``_save``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from policywindow.applications import transitions
from policywindow.applications.models import Application
from policywindow.core import audit
from policywindow.core.access import require_permission
from policywindow.core.errors import Conflict, NotFound, ValidationFailed

from . import numbering, rendering, selectors, snapshot
from .models import FormBatch, FormChunk, FormSequence, FundForm

logger = logging.getLogger(__name__)

MAX_BATCH = 100
MAX_LABEL = 60
# A run that has not recorded a file for this long is taken for dead and run again.
STALLED_AFTER = dt.timedelta(minutes=10)
# Forms laid out at once: the unit a worker takes. 25 share the layout's fixed cost (styles,
# fonts, page set-up) and still give the two workers of a batch of 100 two chunks each.
CHUNK = 25
# How long a run holds a chunk (or the batch's last step) it took: a chunk takes seconds, and
# the sweep frees what a dead run held (claim_stalled_batches) whatever is left of this.
LEASE = STALLED_AFTER


def issue_batch(actor: Any, application_ids: Iterable[int], label: str = "") -> FormBatch:
    """Issue a numbered form for each chosen case, as one batch; the signed files are made
    by the background task ``produce_batch_files``, queued when the batch commits."""
    return _issue(actor, sorted(set(application_ids)), label.strip())


def _issue(actor: Any, ids: list[int], label: str) -> FormBatch:
    require_permission(actor, "finance:form:create")
    if not ids:
        raise ValidationFailed(
            "请先勾选要出具审批表的办件", details={"applications": ["请勾选办件"]}
        )
    if len(ids) > MAX_BATCH:
        message = f"一个批次最多 {MAX_BATCH} 件，本次勾选了 {len(ids)} 件"
        raise ValidationFailed(message, details={"applications": [message]})
    if len(label) > MAX_LABEL:
        message = f"批次名称不能超过 {MAX_LABEL} 个字"
        raise ValidationFailed(message, details={"label": [message]})
    try:
        with transaction.atomic():
            return _issue_locked(actor, ids, label)
    except IntegrityError as exc:  # a concurrent batch took one of these cases first
        raise Conflict("所选办件中有的刚刚已出具审批表，请刷新后重试") from exc


def _issue_locked(actor: Any, ids: list[int], label: str) -> FormBatch:
    locked = list(Application.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    cases = {case.pk: case for case in selectors.issuable(actor, ids)}
    _check(ids, locked, cases)
    now = timezone.now()
    year = timezone.localdate(now).year
    (batch_seq,) = numbering.take(FormSequence.Kind.BATCH, year)
    form_seqs = numbering.take(FormSequence.Kind.FORM, year, len(ids))
    batch = FormBatch.objects.create(
        number=numbering.batch_number(year, batch_seq),
        year=year,
        sequence=batch_seq,
        label=label,
        created_by=actor,
        created_at=now,
        files_total=len(ids) + 1,  # every form's PDF and the batch's own
    )
    total = Decimal("0")
    for pk, sequence in zip(ids, form_seqs, strict=True):
        form = _issue_form(actor, cases[pk], batch, year, sequence, now)
        total += form.approved_amount
    audit.record(
        "formbatch.issue",
        actor=actor,
        target=batch,
        after={"number": batch.number, "forms": len(ids), "total": str(total), "label": label},
    )
    runs = math.ceil(len(ids) / CHUNK)
    transaction.on_commit(lambda: _enqueue_files(batch.pk, runs))
    return batch


def _enqueue_files(batch_id: int, runs: int) -> None:
    """One run per chunk: each free worker takes one and they share the batch's chunks."""
    from .tasks import produce_batch_files  # the task module imports this one

    for _ in range(runs):
        produce_batch_files.enqueue(batch_id)


def _check(ids: list[int], locked: list[Application], cases: dict[int, Application]) -> None:
    """Every chosen case exists, is in the actor's scope, is eligible and has no form yet."""
    found = {case.pk for case in locked}
    if any(pk not in found or pk not in cases for pk in ids):
        raise NotFound("所选办件不存在或不在您的数据范围内，请刷新后重试")
    problems = []
    for case in locked:
        if case.status not in selectors.ELIGIBLE_STATUSES or case.approved_amount is None:
            label = case.get_status_display()
            problems.append(f"{case.number}（当前状态“{label}”，公示通过后方可出具）")
    taken = FundForm.objects.filter(application_id__in=ids).select_related("application")
    problems += [f"{form.application.number}（已出具 {form.number}）" for form in taken]
    if problems:
        raise Conflict("以下办件不能出具经费审批表：" + "；".join(problems))


def _issue_form(
    actor: Any, case: Application, batch: FormBatch, year: int, sequence: int, now
) -> FundForm:
    number = numbering.form_number(year, sequence)
    form = FundForm.objects.create(
        application=case,
        batch=batch,
        number=number,
        year=year,
        sequence=sequence,
        content=snapshot.build(case, number=number, issued_at=now, issued_by=actor),
        approved_amount=case.approved_amount,
        issued_by=actor,
        issued_at=now,
    )
    transitions.record_event(case, actor=actor, action="fund_form", note=f"审批表编号 {number}")
    audit.record(
        "fundform.issue",
        actor=actor,
        target=form,
        after={
            "number": number,
            "application": case.number,
            "approved_amount": str(case.approved_amount),
            "batch": batch.number,
        },
    )
    return form


# ---------------------------------------------------------------- files


def produce_files(batch: FormBatch) -> FormBatch:
    """Make the batch's missing files: each form's signed PDF, the batch's, then its Excel.

    The forms are made chunk by chunk (``CHUNK`` forms laid out at once, each then written
    out, signed and recorded); several runs of the batch at once — one per worker — each take
    the next free chunk, and whichever run ends last joins the batch PDF and makes the Excel.
    Only what has no recorded file is made, so a run after one that died part-way finishes
    the rest and leaves what was made alone. A file that fails is counted and the run goes
    on; the failure is shown on the batch page and that file is tried again on download.
    """
    _chunks(batch)
    taken: set[int] = set()  # a chunk that failed here is left to the next run or download
    while chunk := _claim_chunk(batch, taken):
        if not taken:
            _start_run(batch)
        taken.add(chunk.pk)
        _make_chunk(batch, chunk)
    if not _chunks_busy(batch):  # else the run that holds the last chunk finishes the batch
        _finish(batch, started=bool(taken))
    batch.refresh_from_db()
    return batch


def _start_run(batch: FormBatch) -> None:
    """Progress shown as running; the failures of a run that had finished are forgotten (not
    those of a run still going in another worker). A run with nothing to make changes
    nothing: one of a batch's later runs must not wipe the failures its first one shows."""
    now = timezone.now()
    FormBatch.objects.filter(pk=batch.pk, files_finished_at__isnull=False).update(
        files_failed=0, files_error="", files_finished_at=None
    )
    FormBatch.objects.filter(pk=batch.pk).update(files_touched_at=now)


def _chunks(batch: FormBatch) -> list[FormChunk]:
    """The batch's chunks, cut on its first run: ``CHUNK`` forms each, in number order. Two
    runs cutting at once make the same rows (the second one's are ignored)."""
    chunks = list(batch.chunks.order_by("index"))
    if chunks:
        return chunks
    sequences = list(batch.forms.order_by("sequence").values_list("sequence", flat=True))
    runs = [sequences[i : i + CHUNK] for i in range(0, len(sequences), CHUNK)]
    FormChunk.objects.bulk_create(
        [FormChunk(batch=batch, index=i, first=run[0], last=run[-1]) for i, run in enumerate(runs)],
        ignore_conflicts=True,
    )
    return list(batch.chunks.order_by("index"))


def _claim_chunk(batch: FormBatch, taken: set[int]) -> FormChunk | None:
    """The next chunk no run holds, held by this one for ``LEASE``. SKIP LOCKED: two runs
    asking at the same moment get different chunks, and neither waits for the other."""
    now = timezone.now()
    with transaction.atomic():
        chunk = (
            FormChunk.objects.select_for_update(skip_locked=True)
            .filter(batch=batch, done_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .exclude(pk__in=taken)
            .order_by("index")
            .first()
        )
        if chunk is not None:
            chunk.claimed_until = now + LEASE
            chunk.save(update_fields=["claimed_until"])
    return chunk


def _chunks_busy(batch: FormBatch) -> bool:
    """Whether another run still holds a chunk of the batch (it will finish the batch)."""
    held = Q(claimed_until__gte=timezone.now())
    return batch.chunks.filter(held, done_at__isnull=True).exists()


def _make_chunk(batch: FormBatch, chunk: FormChunk) -> None:
    """Lay the chunk's forms out once; write out, sign and record each one still without a
    file; keep the layout as the chunk's part of the batch PDF while that is still to make."""
    forms = list(_forms_of(chunk))
    try:
        sheets = rendering.lay_out_forms([form.content for form in forms])
    except Exception:  # e.g. a broken snapshot: each form alone, so that only it fails
        logger.exception("chunk %s could not be laid out; its forms are made one by one", chunk)
        for form in forms:
            if not form.sha256:
                _attempt(batch, form_file, form)
        FormChunk.objects.filter(pk=chunk.pk).update(claimed_until=None)
        return
    for index, form in enumerate(forms):
        if not form.sha256:
            _attempt(batch, _chunk_form_file(sheets, index), form)
    part = _save_part(chunk, sheets) if _batch_pdf_missing(batch) else ""
    FormChunk.objects.filter(pk=chunk.pk).update(
        part=part, done_at=timezone.now(), claimed_until=None
    )


def _forms_of(chunk: FormChunk):
    return chunk.batch.forms.filter(sequence__range=(chunk.first, chunk.last)).order_by("sequence")


def _chunk_form_file(sheets: rendering.Sheets, index: int):
    def produce(form: FundForm) -> bytes:
        return _stored_pdf(form, _form_name(form), lambda: _signed_form(form, sheets.form(index)))

    return produce


def _batch_pdf_missing(batch: FormBatch) -> bool:
    return FormBatch.objects.filter(pk=batch.pk, sha256="").exists()


def _save_part(chunk: FormChunk, sheets: rendering.Sheets) -> str:
    """The chunk's pages as one unsigned PDF in storage; "" when it cannot be written (the
    batch PDF lays the chunk out again then, and reports the reason if it fails too)."""
    try:
        data = sheets.part()
    except Exception:
        logger.exception("part of chunk %s was not written", chunk)
        return ""
    name = chunk.part.field.generate_filename(
        chunk, f"formchunk-{chunk.batch_id}-{chunk.index}.pdf"
    )
    return chunk.part.storage.save(name, ContentFile(data))


def _finish(batch: FormBatch, *, started: bool) -> None:
    """The batch PDF and Excel, made by the one run whose claim on the batch succeeds (two
    runs ending at once: the other leaves them); then the parts are deleted."""
    made = FormBatch.objects.filter(pk=batch.pk).exclude(sha256="").exclude(xlsx="")
    if not started and made.exists():
        return
    now = timezone.now()
    free = Q(files_claimed_until__isnull=True) | Q(files_claimed_until__lt=now)
    if not FormBatch.objects.filter(free, pk=batch.pk).update(files_claimed_until=now + LEASE):
        return
    if not started:
        _start_run(batch)
    batch.refresh_from_db()
    if not batch.sha256:
        _attempt(batch, batch_file, batch)
    _attempt(batch, batch_workbook, batch)
    batch.refresh_from_db(fields=["sha256"])
    if batch.sha256:
        _drop_parts(batch)
    FormBatch.objects.filter(pk=batch.pk).update(
        files_finished_at=timezone.now(), files_claimed_until=None
    )


def _drop_parts(batch: FormBatch) -> None:
    chunks = list(batch.chunks.exclude(part=""))
    for chunk in chunks:
        chunk.part.delete(save=False)
    FormChunk.objects.filter(pk__in=[c.pk for c in chunks]).update(part="")


def _attempt(batch: FormBatch, produce, record: FundForm | FormBatch) -> None:
    try:
        produce(record)
    except Exception as exc:  # one bad file must not stop the other forms of the batch
        logger.exception("file of %s in batch %s was not produced", record, batch.number)
        FormBatch.objects.filter(pk=batch.pk).update(
            files_failed=F("files_failed") + 1,
            files_error=f"{record}：{exc}"[:300],
            files_touched_at=timezone.now(),
        )


def claim_stalled_batches() -> list[int]:
    """Batches whose file run died part-way (never finished, no file recorded for a while),
    marked as touched now so that the next sweep leaves them to the run queued for them; the
    chunks and the batch the dead run held are freed for that run."""
    now = timezone.now()
    since = now - STALLED_AFTER
    stalled = FormBatch.objects.filter(
        files_done__lt=F("files_total"), files_finished_at__isnull=True, created_at__lt=since
    ).exclude(files_touched_at__gte=since)
    ids = list(stalled.values_list("pk", flat=True))
    FormBatch.objects.filter(pk__in=ids).update(files_touched_at=now, files_claimed_until=None)
    FormChunk.objects.filter(batch_id__in=ids, done_at__isnull=True).update(claimed_until=None)
    return ids


def _count_files(batch_id: int) -> None:
    """Record how many of the batch's signed PDFs exist (the progress the batch page shows)."""
    forms = FundForm.objects.filter(batch_id=batch_id).exclude(sha256="").count()
    own = FormBatch.objects.filter(pk=batch_id).exclude(sha256="").exists()
    FormBatch.objects.filter(pk=batch_id).update(
        files_done=forms + int(own), files_touched_at=timezone.now()
    )


def _sign(pdf: bytes, moment, reason: str) -> bytes:
    from .signing import sign_pdf  # pyHanko is heavy; loaded on the first document

    return sign_pdf(pdf, moment=moment, reason=reason)


def _signed_form(form: FundForm, unsigned: bytes) -> bytes:
    return _sign(unsigned, form.issued_at, f"{rendering.FORM_TITLE} {form.number}")


def render_form(form: FundForm) -> bytes:
    """The form's signed PDF as rendered from its snapshot (same content on every call)."""
    return _signed_form(form, rendering.form_pdf(form.content))


def render_batch(batch: FormBatch) -> bytes:
    """The batch's signed PDF: its summary, then its chunks' parts — as their runs stored
    them, or laid out now, the same bytes either way."""
    forms = list(batch.forms.order_by("sequence"))
    summary = rendering.summary_pdf(_header(batch, forms), [form.content for form in forms])
    parts = [_part(chunk, forms) for chunk in _chunks(batch)]
    unsigned = rendering.join_pdfs(summary, parts)
    return _sign(unsigned, batch.created_at, f"{rendering.BATCH_TITLE} {batch.number}")


def _part(chunk: FormChunk, forms: list[FundForm]) -> bytes:
    if chunk.part:
        try:
            with chunk.part.open("rb") as handle:
                return handle.read()
        except FileNotFoundError:
            pass
    contents = [f.content for f in forms if chunk.first <= f.sequence <= chunk.last]
    return rendering.lay_out_forms(contents).part()


def _header(batch: FormBatch, forms: list[FundForm]) -> rendering.BatchHeader:
    return rendering.BatchHeader(
        number=batch.number,
        label=batch.label,
        created_at=timezone.localtime(batch.created_at),
        created_by=snapshot.person(batch.created_by),
        org_name=forms[0].content["org_name"],
    )


def _form_name(form: FundForm) -> str:
    return f"fundform-{form.year}-{form.sequence:04d}.pdf"


def form_file(form: FundForm) -> bytes:
    return _stored_pdf(form, _form_name(form), lambda: render_form(form))


def batch_file(batch: FormBatch) -> bytes:
    name = f"formbatch-{batch.year}-{batch.sequence:03d}.pdf"
    return _stored_pdf(batch, name, lambda: render_batch(batch))


def _stored_pdf(record: FundForm | FormBatch, name: str, render: Callable[[], bytes]) -> bytes:
    """The stored signed PDF; made (and its SHA-256 recorded) the first time it is needed.

    A stored file that went missing is rendered again and restored only when it comes out
    identical to the recorded SHA-256 — never a different document under the same record.
    """
    if record.sha256:
        try:
            with record.pdf.open("rb") as handle:
                return handle.read()
        except (FileNotFoundError, ValueError):
            data = render()
            if hashlib.sha256(data).hexdigest() != record.sha256:
                raise NotFound(
                    "存档文件缺失，且无法重现与存档一致的文件，请联系系统管理员"
                ) from None
            _save(record, name, data, restore=True)
            return data
    data = render()
    _save(record, name, data)
    return data


def _save(record: Model, name: str, data: bytes, *, restore: bool = False) -> None:
    """Store the file; when two requests make it at once, the first recorded one stays."""
    digest = hashlib.sha256(data).hexdigest()
    stored = record.pdf.storage.save(
        record.pdf.field.generate_filename(record, name), ContentFile(data)
    )
    model = type(record)
    claim = model.objects.filter(pk=record.pk, sha256=digest if restore else "")
    if claim.update(pdf=stored, sha256=digest):
        record.pdf.name, record.sha256 = stored, digest
        _count_files(record.batch_id if isinstance(record, FundForm) else record.pk)
    else:
        record.pdf.storage.delete(stored)
        record.refresh_from_db(fields=["pdf", "sha256"])


def batch_workbook(batch: FormBatch) -> bytes:
    """The batch's Excel, made on first need (it is a working copy: not signed, not hashed)."""
    if batch.xlsx:
        try:
            with batch.xlsx.open("rb") as handle:
                return handle.read()
        except FileNotFoundError:
            pass
    forms = list(batch.forms.order_by("sequence"))
    data = rendering.batch_xlsx(_header(batch, forms), [form.content for form in forms])
    name = batch.xlsx.field.generate_filename(
        batch, f"formbatch-{batch.year}-{batch.sequence:03d}.xlsx"
    )
    stored = batch.xlsx.storage.save(name, ContentFile(data))
    FormBatch.objects.filter(pk=batch.pk).update(xlsx=stored)
    batch.xlsx.name = stored
    return data

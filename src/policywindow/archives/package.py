"""The archive zip of one case, written to a temporary file as it is built.

Entries (file names in UTF-8):

    manifest.json                 what the case is, and the SHA-256 and size of every entry
    01-经费审批表.pdf              the signed fund approval form, as stored by fundforms
    02-办件归档表.pdf              the case print: form data, materials, opinions and timeline
    03-审核意见.csv                every review decision (node, reviewer, decision, opinion, date)
    04-办理记录.csv                the case timeline
    申报材料/<要件>/<原文件名>       every material of the filed form, byte for byte
    审核附件/<节点>-<审核人>/<原文件名>  files approvers attached to their decisions

Materials are copied in chunks and checked against the SHA-256 recorded at upload: a file
that went missing or changed is refused, never archived silently.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from typing import IO, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from policywindow.applications import selectors as case_reads
from policywindow.applications.models import Application
from policywindow.core.errors import Conflict
from policywindow.core.files import clean_original_name
from policywindow.core.money import format_yuan, to_chinese_capital
from policywindow.core.pdf_render import render_pdf
from policywindow.core.spreadsheets import csv_bytes
from policywindow.fundforms import services as fundforms
from policywindow.workflow.models import TaskAttachment, TaskStatus, WorkflowTask

FORMAT = "policywindow-archive/1"
FUND_FORM_NAME = "01-经费审批表.pdf"
CASE_PDF_NAME = "02-办件归档表.pdf"
OPINIONS_NAME = "03-审核意见.csv"
TIMELINE_NAME = "04-办理记录.csv"
MANIFEST_NAME = "manifest.json"
CHUNK = 1024 * 1024
OPINION_COLUMNS = (
    "层级",
    "轮次",
    "审核节点",
    "审核部门",
    "审核人",
    "审核结果",
    "审核意见",
    "说明",
    "核定金额（元）",
    "核减理由",
    "审核时间",
)
TIMELINE_COLUMNS = ("时间", "办理人", "环节", "审核节点", "状态变化", "意见/说明")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    sha256: str
    size: int
    original_name: str = ""


@dataclass(frozen=True)
class Opinion:
    level: int
    round: int
    node: str
    department: str
    reviewer: str
    decision: str
    opinion: str
    reason: str
    approved_amount: str
    amount_reason: str
    decided_at: str

    def row(self) -> list[Any]:
        return list(asdict(self).values())


@dataclass
class Built:
    """The finished zip in a temporary file (rewound), with its hash, size and entries."""

    handle: IO[bytes]
    sha256: str
    size: int
    entries: list[Entry]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def opinions(application: Application) -> list[Opinion]:
    """Every decision made on the case, all rounds, in the order they were made."""
    tasks = (
        WorkflowTask.objects.filter(application=application, decided_at__isnull=False)
        .select_related("assignee", "department")
        .order_by("decided_at", "pk")
    )
    return [
        Opinion(
            level=task.level + 1,
            round=task.round,
            node=task.node_name,
            department=task.department.name if task.department_id else "",
            reviewer=task.assignee.real_name or task.assignee.username,
            decision=TaskStatus(task.status).label,
            opinion=task.opinion,
            reason=task.reason,
            approved_amount=str(task.approved_amount) if task.approved_amount is not None else "",
            amount_reason=task.amount_reason,
            decided_at=_local(task.decided_at),
        )
        for task in tasks
    ]


def timeline_rows(application: Application) -> list[list[str]]:
    rows = []
    for entry in case_reads.timeline(application):
        move = f"{entry.from_label} → {entry.to_label}" if entry.from_label else entry.to_label
        items = "；".join(f"{i.get('label', '')}：{i.get('comment', '')}" for i in entry.items)
        note = "；".join(part for part in (entry.note, items) if part)
        rows.append(
            [_local(entry.occurred_at), entry.actor, entry.action_label, entry.node, move, note]
        )
    return rows


def case_pdf(application: Application, fund_form: Any, archived_at: dt.datetime) -> bytes:
    """办件归档表: who applied for what, the form as filed, materials, opinions, timeline."""
    approved = application.approved_amount
    context = {
        "app": application,
        "org_name": settings.POLICYWINDOW_ORG_NAME,
        "demo": application.rule.policy.is_demo or application.enterprise.is_demo,
        "sections": case_reads.answer_sections(application),
        "opinions": opinions(application),
        "timeline": timeline_rows(application),
        "fund_form": fund_form,
        "requested": format_yuan(application.requested_amount),
        "approved": format_yuan(approved),
        "approved_capital": to_chinese_capital(approved) if approved is not None else "—",
        "submitted": _local(application.submitted_at),
        "accepted": _local(application.accepted_at),
        "decided": _local(application.decided_at),
        "archived": _local(archived_at),
    }
    html = render_to_string("archives/pdf/case.html", context)
    return render_pdf(html, what=f"办件归档表 {application.number}")


class _Writer:
    """Adds entries to the zip, each with its SHA-256, under unique safe names."""

    def __init__(self, handle: IO[bytes], moment: dt.datetime) -> None:
        self.zip = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED)
        self.date_time = timezone.localtime(moment).timetuple()[:6]
        self.entries: list[Entry] = []
        self.taken: set[str] = set()

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def _unique(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot or "/" in ext:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        self.taken.add(candidate)
        return candidate

    def add(self, name: str, data: bytes, kind: str) -> None:
        name = self._unique(name)
        self.zip.writestr(self._info(name), data)
        self.entries.append(Entry(name, kind, hashlib.sha256(data).hexdigest(), len(data)))

    def copy(self, folder: str, stored: Any, kind: str) -> None:
        """A stored upload (material or attachment), checked against its recorded SHA-256."""
        original = clean_original_name(stored.original_name)
        name = self._unique(f"{folder}/{original}")
        digest, size = hashlib.sha256(), 0
        try:
            source = stored.file.open("rb")
        except (FileNotFoundError, ValueError):
            raise Conflict(f"文件“{original}”在存储中缺失，不能归档，请联系系统管理员") from None
        with source, self.zip.open(self._info(name), "w", force_zip64=True) as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                target.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != stored.sha256:
            raise Conflict(f"文件“{original}”与上传时的校验码不一致，不能归档，请联系系统管理员")
        self.entries.append(Entry(name, kind, digest.hexdigest(), size, stored.original_name))

    def abort(self) -> None:
        """Drop a zip left unfinished (its temporary file is discarded by the caller)."""
        with contextlib.suppress(Exception):
            self.zip.close()

    def close(self, manifest: dict[str, Any]) -> None:
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        self.zip.writestr(self._info(MANIFEST_NAME), data)
        self.zip.close()


def _folder(*parts: str) -> str:
    return "/".join(clean_original_name(part) for part in parts)


def _add_materials(writer: _Writer, application: Application) -> None:
    for row in case_reads.answer_rows(application):
        for material in row.materials:
            writer.copy(_folder("申报材料", row.spec.label), material, "material")


def _add_attachments(writer: _Writer, application: Application) -> None:
    attachments = (
        TaskAttachment.objects.filter(task__application=application)
        .select_related("task__assignee")
        .order_by("task__decided_at", "pk")
    )
    for attachment in attachments:
        task = attachment.task
        who = task.assignee.real_name or task.assignee.username
        writer.copy(_folder("审核附件", f"{task.node_name}-{who}"), attachment, "attachment")


def manifest(
    application: Application, archived_at: dt.datetime, archived_by: str, entries: list[Entry]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "application": {
            "number": application.number,
            "enterprise": application.enterprise.name,
            "credit_code": application.enterprise.credit_code,
            "policy": application.rule.policy.title,
            "rule": f"{application.rule.code} {application.rule_version.title}",
            "approved_amount": str(application.approved_amount or ""),
            "fund_form": application.fund_form.number,
        },
        "archived_at": timezone.localtime(archived_at).isoformat(timespec="seconds"),
        "archived_by": archived_by,
        "algorithm": "SHA-256",
        "files": [asdict(entry) for entry in entries],
    }


def build(application: Application, *, archived_at: dt.datetime, archived_by: str) -> Built:
    """The zip of a case that has its fund approval form (the caller checked that)."""
    fund_form = application.fund_form
    handle = tempfile.TemporaryFile()  # noqa: SIM115  handed to the caller, who closes it
    writer = _Writer(handle, archived_at)
    try:
        writer.add(FUND_FORM_NAME, fundforms.form_file(fund_form), "fund_form")
        writer.add(CASE_PDF_NAME, case_pdf(application, fund_form, archived_at), "case_pdf")
        writer.add(
            OPINIONS_NAME,
            csv_bytes(OPINION_COLUMNS, (o.row() for o in opinions(application))),
            "opinions",
        )
        writer.add(
            TIMELINE_NAME, csv_bytes(TIMELINE_COLUMNS, timeline_rows(application)), "timeline"
        )
        _add_materials(writer, application)
        _add_attachments(writer, application)
        writer.close(manifest(application, archived_at, archived_by, writer.entries))
    except BaseException:
        writer.abort()
        handle.close()
        raise
    return _finished(handle, writer.entries)


def _finished(handle: IO[bytes], entries: list[Entry]) -> Built:
    handle.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return Built(handle, digest.hexdigest(), size, entries)

"""Verification of a form or batch PDF: is it ours, unchanged, and the file we issued?

``valid`` means: exactly one signature, made with our signing certificate, cryptographically
sound, covering the whole file (nothing appended after signing). ``matches_record`` means the
file's SHA-256 is the one recorded when the form or batch was issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from . import signing
from .models import FormBatch, FundForm
from .numbering import NUMBER_PATTERN

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    valid: bool
    intact: bool
    signer: str = ""
    signed_at: dt.datetime | None = None
    form_number: str = ""
    matches_record: bool = False
    summary: str = ""
    problems: tuple[str, ...] = ()
    sha256: str = ""
    record: FundForm | FormBatch | None = field(default=None, compare=False)


def verify(pdf: bytes) -> Result:
    """The verdict on ``pdf`` (bytes of an uploaded or stored file), in Chinese."""
    digest = hashlib.sha256(pdf).hexdigest()
    if not pdf.startswith(b"%PDF-"):
        return _failed(digest, "不是 PDF 文件，无法验证")
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    except Exception:  # any unreadable structure is a verdict, not a crash
        logger.info("unreadable PDF submitted for verification", exc_info=True)
        return _failed(digest, "文件结构已损坏，无法读取签名，不能作为有效审批表使用")
    if not signatures:
        return _failed(digest, "该文件没有数字签名，不是本系统出具的审批表")
    signature = signatures[0]
    number = _number_of(signature.sig_object.get("/Reason"))
    try:
        status = validate_pdf_signature(signature, signing.validation_context())
    except Exception:
        logger.info("signature could not be validated", exc_info=True)
        return _failed(digest, "签名数据已损坏，无法验证", number=number)
    record = _record(number)
    problems = _problems(status, len(signatures))
    valid = not problems
    matches = valid and record is not None and record.sha256 == digest
    if valid and not matches:
        problems.append(
            "签名有效，但与系统存档的文件不一致"
            if record is not None
            else "签名有效，但系统中没有该编号的存档记录"
        )
    return Result(
        valid=valid,
        intact=bool(status.intact),
        signer=_signer_name(status.signing_cert),
        signed_at=status.signer_reported_dt,
        form_number=number,
        matches_record=matches,
        summary=_summary(valid, matches, problems),
        problems=tuple(problems),
        sha256=digest,
        record=record,
    )


def _signer_name(certificate) -> str:
    """``通用名（单位）`` from the certificate's subject, as people read a seal."""
    subject = certificate.subject.native
    name = subject.get("common_name") or certificate.subject.human_friendly
    organization = subject.get("organization_name")
    return f"{name}（{organization}）" if organization else name


def _problems(status, count: int) -> list[str]:
    problems = []
    if not status.intact:
        problems.append("文件内容在签名后被修改，签名已失效")
    elif not status.valid:
        problems.append("签名值校验未通过，签名无效")
    if not signing.is_ours(status.signing_cert):
        problems.append("签名证书不是本系统的签章证书，该文件不是本系统出具")
    elif status.intact and status.valid and not status.trusted:
        problems.append("本系统签章证书未通过校验（可能已过期），请联系系统管理员")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE or count > 1:
        problems.append("签名之后文件又被追加修改")
    return problems


def _summary(valid: bool, matches: bool, problems: list[str]) -> str:
    if valid and matches:
        return "验证通过：本文件由本系统出具并经数字签名，内容完整，与存档一致"
    return problems[0]


def _failed(digest: str, summary: str, *, number: str = "") -> Result:
    return Result(
        valid=False,
        intact=False,
        form_number=number,
        summary=summary,
        problems=(summary,),
        sha256=digest,
    )


def _number_of(reason: object) -> str:
    match = NUMBER_PATTERN.search(str(reason or ""))
    return match.group(0) if match else ""


def _record(number: str) -> FundForm | FormBatch | None:
    if not number:
        return None
    return (
        FundForm.objects.filter(number=number).first()
        or FormBatch.objects.filter(number=number).first()
    )

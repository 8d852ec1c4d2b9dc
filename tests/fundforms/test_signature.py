"""Digital signatures: every issued PDF is signed; any change, a foreign signer or no signature
is reported; the signing key is kept private; production can bring its own PKCS#12."""

from __future__ import annotations

import datetime as dt
import io
import re
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from policywindow.fundforms import rendering, services, signing
from policywindow.fundforms.signing import CERT_FILE, KEY_FILE
from policywindow.fundforms.verification import verify

pytestmark = pytest.mark.django_db


def test_an_issued_form_verifies_and_matches_its_record(issued):
    result = verify(services.form_file(issued))
    assert result.valid and result.intact and result.matches_record
    assert result.form_number == issued.number
    assert result.record == issued
    assert "辽宁省营商环境建设局" in result.signer
    assert result.signed_at == issued.issued_at.replace(microsecond=0)
    assert result.summary.startswith("验证通过")


def test_a_batch_pdf_verifies_and_matches_its_batch(issued):
    batch = issued.batch
    result = verify(services.batch_file(batch))
    assert result.valid and result.matches_record and result.form_number == batch.number


def _stream_offset(pdf: bytes) -> int:
    """A byte in the middle of the largest stream inside the signed range (the font program)."""
    start = pdf.index(b"/ByteRange")
    first_range_end = int(re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf[start:]).group(1))
    streams = [
        (m.end(), pdf.index(b"endstream", m.end()))
        for m in re.finditer(rb"stream\r?\n", pdf[:first_range_end])
    ]
    begin, end = max(streams, key=lambda span: span[1] - span[0])
    return (begin + end) // 2


def test_one_changed_byte_in_the_signed_range_breaks_the_signature(issued):
    pdf = bytearray(services.form_file(issued))
    pdf[_stream_offset(bytes(pdf))] ^= 0x01
    result = verify(bytes(pdf))
    assert not result.valid and not result.intact and not result.matches_record
    assert result.problems == ("文件内容在签名后被修改，签名已失效",)  # still our signer
    assert result.form_number == issued.number  # it still says which form it claims to be


def test_an_update_appended_after_signing_is_reported(issued):
    writer = IncrementalPdfFileWriter(io.BytesIO(services.form_file(issued)))
    writer.root["/PageMode"] = generic.NameObject("/UseOutlines")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    result = verify(out.getvalue())
    assert not result.valid and result.intact
    assert "签名之后文件又被追加修改" in result.problems


def test_a_pdf_signed_by_someone_else_is_not_ours(issued, settings, signing_dir, tmp_path):
    org = settings.POLICYWINDOW_ORG_NAME
    settings.POLICYWINDOW_SIGNING_DIR = tmp_path / "impostor"
    settings.POLICYWINDOW_ORG_NAME = "某冒用单位"
    forged = services.render_form(issued)  # same content, signed with another key
    settings.POLICYWINDOW_SIGNING_DIR, settings.POLICYWINDOW_ORG_NAME = signing_dir, org
    result = verify(forged)
    assert result.intact and not result.valid and not result.matches_record
    assert result.summary == "签名证书不是本系统的签章证书，该文件不是本系统出具"
    assert "某冒用单位" in result.signer


def test_an_unsigned_pdf_or_another_file_is_refused(issued):
    unsigned = rendering.form_pdf(issued.content)
    result = verify(unsigned)
    assert not result.valid and result.summary == "该文件没有数字签名，不是本系统出具的审批表"
    assert verify(b"PK\x03\x04 not a pdf").summary == "不是 PDF 文件，无法验证"
    assert "文件结构已损坏" in verify(b"%PDF-1.7\n garbage").summary


def test_a_valid_signature_on_a_file_we_have_no_record_of_is_flagged(issued):
    data = services.form_file(issued)
    issued.delete()
    result = verify(data)
    assert result.valid and not result.matches_record
    assert result.summary == "签名有效，但系统中没有该编号的存档记录"


def test_the_command_passes_a_good_form_and_fails_a_changed_one(issued, tmp_path, capsys):
    good = tmp_path / "good.pdf"
    good.write_bytes(services.form_file(issued))
    call_command("verify_form", str(good))
    out = capsys.readouterr().out
    assert "签名有效：是" in out and issued.number in out and "验证通过" in out
    bad = tmp_path / "bad.pdf"
    data = bytearray(good.read_bytes())
    data[_stream_offset(bytes(data))] ^= 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="验证未通过：文件内容在签名后被修改"):
        call_command("verify_form", str(bad))
    with pytest.raises(CommandError, match="无法读取文件"):
        call_command("verify_form", str(tmp_path / "missing.pdf"))


def test_the_generated_key_is_private_and_outside_the_uploads(issued, settings):
    directory = settings.POLICYWINDOW_SIGNING_DIR
    for name in (KEY_FILE, CERT_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert not directory.resolve().is_relative_to(settings.MEDIA_ROOT.resolve())


def test_a_signing_directory_inside_the_uploads_is_refused(settings):
    settings.POLICYWINDOW_SIGNING_DIR = settings.MEDIA_ROOT / "keys"
    with pytest.raises(ImproperlyConfigured, match="不能位于上传文件目录"):
        signing.identity()


def _pkcs12(path, password: bytes, common_name: str):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, cert, None, BestAvailableEncryption(password)
        )
    )


def test_production_signs_with_its_own_pkcs12_and_keeps_trusting_the_earlier_key(
    people, make_approved, issued, settings, tmp_path
):
    earlier = services.form_file(issued)
    _pkcs12(tmp_path / "seal.p12", b"s3cret", "辽宁省营商环境建设局电子印章")
    settings.POLICYWINDOW_SIGNING_PKCS12 = str(tmp_path / "seal.p12")
    settings.POLICYWINDOW_SIGNING_PKCS12_PASSWORD = "s3cret"
    case = make_approved("丙测试科技有限公司")
    form = services.issue_batch(people["admin"], [case.pk]).forms.get()
    result = verify(services.form_file(form))
    assert result.valid and result.matches_record
    assert "辽宁省营商环境建设局电子印章" in result.signer
    assert not verify(earlier).valid  # the generated key is no longer ours ...
    settings.POLICYWINDOW_SIGNING_TRUSTED_CERTS = [
        str(settings.POLICYWINDOW_SIGNING_DIR / CERT_FILE)
    ]
    assert verify(earlier).valid  # ... unless its certificate is kept as an earlier one


def test_a_wrong_pkcs12_password_is_a_clear_configuration_error(settings, tmp_path):
    _pkcs12(tmp_path / "seal.p12", b"right", "印章")
    settings.POLICYWINDOW_SIGNING_PKCS12 = str(tmp_path / "seal.p12")
    settings.POLICYWINDOW_SIGNING_PKCS12_PASSWORD = "wrong"
    with pytest.raises(ImproperlyConfigured, match="无法读取签章证书"):
        signing.identity()

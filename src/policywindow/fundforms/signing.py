"""Digital signatures of issued PDFs (pyHanko), and the trust they are verified against.

Production configures its own PKCS#12 (``POLICYWINDOW_SIGNING_PKCS12`` and
``POLICYWINDOW_SIGNING_PKCS12_PASSWORD``). Otherwise an RSA key and a self-signed certificate
in the issuing body's name are made on first use in ``POLICYWINDOW_SIGNING_DIR`` (mode 0600,
never under MEDIA_ROOT, where nothing key-like may be served).

Signing is deterministic: the signing time and the file identifier come from the form's
snapshot, pyHanko's "modified now" stamp is left out (the rendered PDF already carries the
issue date) and RSA PKCS#1 v1.5 signatures are deterministic, so signing the same rendering
with the same key gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

KEY_FILE = "form-signing-key.pem"
CERT_FILE = "form-signing-cert.pem"
LOCK_FILE = ".form-signing.lock"
KEY_BITS = 3072
VALID_YEARS = 10
FIELD_NAME = "IssuerSignature"


@dataclass(frozen=True)
class Identity:
    signer: signers.SimpleSigner
    # Certificates whose signatures are ours: the one in force and earlier ones after a change.
    ours: tuple[asn1_x509.Certificate, ...]
    # Trust anchors for path building: ours plus the chain that came with the PKCS#12.
    anchors: tuple[asn1_x509.Certificate, ...]


def identity() -> Identity:
    """The signer in force and the certificates whose signatures count as ours."""
    return _load(
        settings.POLICYWINDOW_SIGNING_PKCS12,
        settings.POLICYWINDOW_SIGNING_PKCS12_PASSWORD,
        str(settings.POLICYWINDOW_SIGNING_DIR),
        tuple(settings.POLICYWINDOW_SIGNING_TRUSTED_CERTS),
        settings.POLICYWINDOW_ORG_NAME,
    )


@functools.lru_cache(maxsize=4)
def _load(
    pkcs12: str, password: str, directory: str, extra: tuple[str, ...], org_name: str
) -> Identity:
    if pkcs12:
        loaded = signers.SimpleSigner.load_pkcs12(pkcs12, passphrase=password.encode() or None)
        if loaded is None:
            raise ImproperlyConfigured(f"无法读取签章证书 {pkcs12}（文件或密码不正确）")
    else:
        key_path, cert_path = _generated_key(Path(directory), org_name)
        loaded = signers.SimpleSigner.load(str(key_path), str(cert_path))
    signer = _KeptKeySigner(
        signing_cert=loaded.signing_cert,
        signing_key=loaded.signing_key,
        cert_registry=loaded.cert_registry,
        signature_mechanism=loaded.signature_mechanism,
    )
    ours = (signer.signing_cert, *(load_cert_from_pemder(path) for path in extra))
    chain = tuple(signer.cert_registry or ())
    return Identity(signer, ours, (*ours, *chain))


class _KeptKeySigner(signers.SimpleSigner):
    """pyHanko parses the private key again for every signature (about 40 ms for RSA-3072,
    most of a form's signing time); this signer parses it once."""

    @functools.cached_property
    def _private_key(self):
        return serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if mechanism != "rsassa_pkcs1v15":
            return super().sign_raw(data, digest_algorithm)
        return self._private_key.sign(
            data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
        )


def _reserved_bytes(ident: Identity) -> int:
    """Room for the signature container: the embedded certificates plus the signature and
    attributes. Given up front, so pyHanko need not sign a dummy first to measure it."""
    certificates = (ident.signer.signing_cert, *(ident.signer.cert_registry or ()))
    return 8192 + sum(len(cert.dump()) for cert in certificates)


def _generated_key(directory: Path, org_name: str) -> tuple[Path, Path]:
    """The key and certificate made on first use; one process makes them, the others wait."""
    media = Path(settings.MEDIA_ROOT).resolve()
    if directory.resolve().is_relative_to(media):
        raise ImproperlyConfigured("签章密钥目录不能位于上传文件目录（MEDIA_ROOT）之内")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    with open(directory / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (key_path.exists() and cert_path.exists()):
            key_pem, cert_pem = _self_signed(org_name)
            _write_private(cert_path, cert_pem)
            _write_private(key_path, key_pem)
    return key_path, cert_path


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _self_signed(org_name: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org_name}经费审批表电子签章"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def validation_context() -> ValidationContext:
    """Our anchors only; offline (no revocation fetching on a government intranet)."""
    return ValidationContext(
        trust_roots=list(identity().anchors), allow_fetching=False, revocation_mode="soft-fail"
    )


def is_ours(certificate: asn1_x509.Certificate) -> bool:
    """Whether a signature was made with one of our signing certificates (not merely by a
    certificate the same CA issued to someone else)."""
    return any(certificate.sha256 == mine.sha256 for mine in identity().ours)


class _SnapshotWriter(IncrementalPdfFileWriter):
    """An incremental writer that adds nothing time- or chance-dependent to the signed file."""

    @classmethod
    def _handle_id(cls, prev):  # pyHanko would draw the updated file's identifier at random
        first = prev.trailer["/ID"][0]
        raw = first.original_bytes if isinstance(first, generic.TextStringObject) else first
        updated = hashlib.sha256(bytes(raw) + b"/signed").digest()[:16]
        return generic.ArrayObject(
            [generic.ByteStringObject(bytes(raw)), generic.ByteStringObject(updated)]
        )

    def _update_meta(self) -> None:  # pyHanko would stamp ModDate with the current time
        return None


class _TimedSigner(signers.PdfSigner):
    """Signs with a given signing time (the moment the form was issued), not the clock's."""

    def __init__(self, *args, moment: dt.datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.moment = moment

    def init_signing_session(self, *args, **kwargs):
        session = super().init_signing_session(*args, **kwargs)
        session.system_time = self.moment
        return session


def sign_pdf(pdf: bytes, *, moment: dt.datetime, reason: str) -> bytes:
    """``pdf`` (rendered with a file identifier, see ``rendering.document_id``) signed by the
    issuing body at ``moment``."""
    ident = identity()
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=reason,
        name=settings.POLICYWINDOW_ORG_NAME,
        location=settings.POLICYWINDOW_ORG_NAME,
        md_algorithm="sha256",
    )
    writer = _SnapshotWriter(io.BytesIO(pdf))
    output = _TimedSigner(meta, signer=ident.signer, moment=moment).sign_pdf(
        writer, bytes_reserved=_reserved_bytes(ident)
    )
    return output.getvalue()

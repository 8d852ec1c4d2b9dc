"""Personal data at rest: SM4-GCM with a rotating key ring, and keyed hashes for equality search.

密评 (GB/T 39786-2021) asks for the SM series, so values are encrypted with SM4 in GCM mode
(authenticated) and compared through HMAC-SM3 ("blind index"); keys live outside the database
(``core.keys``). A stored value is a text envelope::

    pw1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>

``pw1`` is the format, the key id (``data-<n>``) names the key of the ring that encrypted it, the
nonce is 12 random bytes per value. The associated data binds the envelope to its format, key
id and *context* — the table, column and row it belongs to — so a value copied into another
column or row does not decrypt. New values are encrypted with the newest key; older keys stay
readable until ``policywindow rotate-data-key`` has re-encrypted every value (docs/operations.md).

Keys are looked up once per process (``reset`` forgets them): a process started before a
rotation keeps encrypting with the key it knew until restarted, which is why the rotation command
re-checks before an old key may be retired.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import keys

VERSION = "pw1"
DATA_KEY = "data"  # the ring: data-1, data-2, ...
INDEX_KEY = "data-index"
SM4_KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
_KEY_ID = re.compile(r"data-[1-9]\d{0,5}")
_cache: dict[str, Any] = {}


class DecryptionFailed(Exception):
    """A stored value that does not decrypt: altered, moved from elsewhere, or its key is missing."""


def reset() -> None:
    """Forget the keys read so far (after a rotation, or when a test changes the key dir)."""
    _cache.clear()


@receiver(setting_changed)
def _key_dir_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "POLICYWINDOW_KEY_DIR":
        reset()


def ring() -> dict[int, str]:
    """The data keys present (environment or key directory), by number."""
    return keys.numbered_keys(DATA_KEY)


def next_key_id() -> str:
    present = ring()
    return f"{DATA_KEY}-{max(present, default=0) + 1}"


def current_key_id() -> str:
    """The key new values are encrypted with: the newest of the ring (``data-1`` made outside
    production when there is none; production refuses to start without one)."""
    if "current" not in _cache:
        present = ring()
        key_id = present[max(present)] if present else f"{DATA_KEY}-1"
        data_key(key_id, create=None)
        _cache["current"] = key_id
    return _cache["current"]


def data_key(key_id: str, *, create: bool | None = False) -> bytes:
    """The SM4 key ``key_id``; never made up unless ``create`` says so."""
    if (key := _cache.get(key_id)) is None:
        if not _KEY_ID.fullmatch(key_id):
            raise ImproperlyConfigured(f"无效的数据密钥编号 {key_id!r}")
        key = keys.load_key(key_id, length=SM4_KEY_BYTES, create=create)
        if len(key) != SM4_KEY_BYTES:
            raise ImproperlyConfigured(f"数据密钥 {key_id} 须为 16 字节（32 位十六进制）")
        _cache[key_id] = key
    return key


def _index_key() -> bytes:
    if (key := _cache.get(INDEX_KEY)) is None:
        key = _cache[INDEX_KEY] = keys.load_key(INDEX_KEY)
    return key


def _aad(key_id: str, context: str) -> bytes:
    return "\0".join((VERSION, key_id, context)).encode()


def encrypt(data: bytes, context: str) -> str:
    """``data`` encrypted with the current key into an envelope bound to ``context``."""
    key_id = current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(data_key(key_id)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(_aad(key_id, context))
    body = nonce + encryptor.update(data) + encryptor.finalize() + encryptor.tag
    return f"{VERSION}:{key_id}:{base64.b64encode(body).decode()}"


def key_id_of(envelope: str) -> str:
    """The key id an envelope names; ``DecryptionFailed`` if it is not an envelope."""
    parts = envelope.split(":")
    if len(parts) != 3 or parts[0] != VERSION or not _KEY_ID.fullmatch(parts[1]):
        raise DecryptionFailed("不是本系统的加密数据格式（可能被改写为明文或其他内容）")
    return parts[1]


def is_envelope(text: str) -> bool:
    try:
        key_id_of(text)
    except DecryptionFailed:
        return False
    return True


def decrypt(envelope: str, context: str) -> bytes:
    """The plaintext of ``envelope`` encrypted for ``context``; ``DecryptionFailed`` otherwise."""
    try:
        key_id = key_id_of(envelope)
        body = base64.b64decode(envelope.rsplit(":", 1)[1], validate=True)
    except (DecryptionFailed, binascii.Error) as exc:
        raise DecryptionFailed(f"{context}：不是本系统的加密数据格式") from exc
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed(f"{context}：密文长度不对")
    try:
        key = data_key(key_id)
    except ImproperlyConfigured as exc:
        raise DecryptionFailed(f"{context}：无法取得数据密钥 {key_id}（{exc}）") from exc
    nonce, ciphertext, tag = body[:NONCE_BYTES], body[NONCE_BYTES:-TAG_BYTES], body[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(_aad(key_id, context))
    try:
        return decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag as exc:
        raise DecryptionFailed(
            f"{context}：密文校验失败——数据被篡改、从其他行或列移来，或密钥 {key_id} 不是加密时的密钥"
        ) from exc


def normalize(value: str) -> str:
    """What equality means for identifiers: no blanks or hyphens, upper case
    (``024-1234 5678`` = ``02412345678``, ``…123x`` = ``…123X``)."""
    return "".join(value.split()).replace("-", "").upper()


def blind_index(kind: str, value: str) -> str:
    """HMAC-SM3 of the normalised value (hex): equal values of one ``kind`` — whatever table
    they are in — have equal indexes; without the index key nothing can be guessed from it."""
    mac = hmac.HMAC(_index_key(), hashes.SM3())
    mac.update(f"{kind}\0{normalize(value)}".encode())
    return mac.finalize().hex()


def fingerprint(key: bytes) -> str:
    """A short SM3 fingerprint naming a key (for the backup manifest), not revealing it."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"policywindow key fingerprint\0" + key)
    return digest.finalize().hex()[:16]


def key_fingerprints() -> dict[str, str]:
    """The fingerprints of the data keys and the index key present (none is made up here)."""
    found = {name: data_key(name) for name in ring().values()}
    if keys.has_key(INDEX_KEY):
        found[INDEX_KEY] = keys.load_key(INDEX_KEY, create=False)
    return {name: fingerprint(key) for name, key in found.items()}

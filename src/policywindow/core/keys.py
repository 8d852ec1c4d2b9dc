"""Secret keys kept outside the database (DESIGN.md §6, 密评 GB/T 39786-2021).

A key is found, in order, in the environment variable ``POLICYWINDOW_KEY_<NAME>`` (hex) or in
the file ``<POLICYWINDOW_KEY_DIR>/<name>.key`` (hex, mode 0600). Outside production a missing
key is generated into that file on first use, so the demo and the tests need no set-up; in
production a missing key is a configuration error, never a silently made-up key (a new audit key
would make every earlier event look forged, a new data key would make stored data unreadable).
"""

from __future__ import annotations

import os
import re
import secrets
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def env_name(name: str) -> str:
    return "POLICYWINDOW_KEY_" + name.upper().replace("-", "_")


def key_path(name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ValueError(f"invalid key name {name!r}")
    return Path(settings.POLICYWINDOW_KEY_DIR) / f"{name}.key"


def _parse(text: str, where: str) -> bytes:
    try:
        value = bytes.fromhex(text.strip())
    except ValueError as exc:
        raise ImproperlyConfigured(f"密钥 {where} 不是十六进制字符串") from exc
    if len(value) < 16:
        raise ImproperlyConfigured(f"密钥 {where} 太短（至少 16 字节）")
    return value


def _write_new(path: Path, value: bytes) -> None:
    """Create ``path`` holding ``value`` in hex (mode 0600); ``FileExistsError`` if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value.hex())


def _generate(path: Path, length: int) -> bytes:
    value = secrets.token_bytes(length)
    # O_EXCL: two processes starting at once agree on the first key written.
    try:
        _write_new(path, value)
    except FileExistsError:
        return _parse(path.read_text(), str(path))
    return value


def numbered_keys(prefix: str) -> dict[int, str]:
    """The keys ``<prefix>-<n>`` present in the environment or the key directory, by ``n``
    (a key ring: the data key is rotated by adding ``data-<n+1>``)."""
    found: dict[int, str] = {}
    env = re.compile(re.escape(env_name(prefix)) + r"_([1-9]\d{0,5})")
    for variable, value in os.environ.items():
        if value and (match := env.fullmatch(variable)):
            found[int(match[1])] = f"{prefix}-{match[1]}"
    directory = Path(settings.POLICYWINDOW_KEY_DIR)
    file = re.compile(re.escape(prefix) + r"-([1-9]\d{0,5})\.key")
    for path in directory.iterdir() if directory.is_dir() else ():
        if match := file.fullmatch(path.name):
            found[int(match[1])] = f"{prefix}-{match[1]}"
    return dict(sorted(found.items()))


def create_key(name: str, *, length: int = KEY_BYTES) -> Path:
    """Write a new random key file ``name`` (mode 0600); an existing key is never replaced."""
    if has_key(name):
        raise FileExistsError(f"密钥 {name} 已存在")
    path = key_path(name)
    _write_new(path, secrets.token_bytes(length))
    return path


def has_key(name: str) -> bool:
    return bool(os.environ.get(env_name(name))) or key_path(name).exists()


def load_key(name: str, *, length: int = KEY_BYTES, create: bool | None = None) -> bytes:
    """The key called ``name``; ``create`` defaults to "outside production only"."""
    if text := os.environ.get(env_name(name)):
        return _parse(text, env_name(name))
    path = key_path(name)
    if path.exists():
        return _parse(path.read_text(), str(path))
    if create is None:
        create = not settings.PRODUCTION
    if not create:
        raise ImproperlyConfigured(
            f"缺少密钥 {name}：请设置环境变量 {env_name(name)} 或放置文件 {path}（见 docs/deployment.md）"
        )
    return _generate(path, length)


@cache
def cached_key(name: str) -> bytes:
    """``load_key`` once per process (keys do not change while a process runs)."""
    return load_key(name)

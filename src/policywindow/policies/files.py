"""Uploaded files of the policy library (item templates, policy attachments).

Type by content, size limits, random names and permission-checked downloads are
``policywindow.core.files``; this module states the library's allowed types and turns a
refused file into a field error of the form it came from.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from policywindow.core import files as core_files
from policywindow.core.errors import ValidationFailed
from policywindow.core.files import random_name, send_file, sha256_of  # noqa: F401 — used as files.x

FILE_TYPES = tuple(core_files.FILE_TYPES)


def check_upload(upload: UploadedFile, *, field: str, allowed: tuple[str, ...], max_mb: int) -> str:
    """The file's type when its content and size are acceptable; else a field error."""
    try:
        return core_files.check_file(upload, allowed_types=allowed, max_size_mb=max_mb)
    except ValidationError as exc:
        raise ValidationFailed(exc.messages[0], details={field: exc.messages}) from exc

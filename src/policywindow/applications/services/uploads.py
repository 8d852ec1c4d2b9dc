"""Uploaded application materials: stored under random names, reused across applications.

Checking a file (type by content, size) is ``policywindow.core.files``; this module keeps
the ``Material`` rows.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

from policywindow.core.files import FILE_TYPES, clean_original_name, random_name, sha256_of

from ..models import Application, Material


def store(
    actor,
    upload: UploadedFile,
    *,
    kind: str,
    application: Application,
    item_key: str,
    material_code: str,
) -> Material:
    """Save an already checked file under a random name; returns its ``Material`` row."""
    material = Material(
        enterprise_id=application.enterprise_id,
        application=application,
        item_key=item_key,
        material_code=material_code,
        original_name=clean_original_name(upload.name),
        content_type=FILE_TYPES[kind].mime,
        size=upload.size,
        sha256=sha256_of(upload),
        uploaded_by=actor,
    )
    material.file.save(random_name(kind), upload, save=False)
    material.save()
    return material


def attach_copy(actor, source: Material, *, application: Application, item_key: str) -> Material:
    """Reuse a file the enterprise uploaded before: a new row for this application, same file."""
    return Material.objects.create(
        enterprise_id=application.enterprise_id,
        application=application,
        item_key=item_key,
        material_code=source.material_code,
        file=source.file.name,
        original_name=source.original_name,
        content_type=source.content_type,
        size=source.size,
        sha256=source.sha256,
        uploaded_by=actor,
    )

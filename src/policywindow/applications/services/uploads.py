"""Uploaded application materials: stored under random names, reused across applications.

Checking a file (type by content, size) is ``policywindow.core.files``; this module keeps
the ``Material`` rows.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

from policywindow.core.files import FILE_TYPES, clean_original_name, random_name, sha256_of

from ..models import Application, Material


def remember(application: Application, materials: list[Material]) -> Application:
    """Keep the files this request read or wrote as the application's ``materials``, as
    ``prefetch_related`` would: the response lists them without reading them again."""
    known = Material.objects.filter(application=application)
    known._result_cache = sorted(materials, key=lambda m: (m.uploaded_at, m.pk))
    known._prefetch_done = True
    application._prefetched_objects_cache = {"materials": known}
    return application


def prepared(
    actor, upload: UploadedFile, *, kind: str, item_key: str, material_code: str
) -> Material:
    """A checked file hashed and stored under a random name, its row not saved yet: by
    ``store``, or by ``attach_all`` after the transaction opened (``discard`` removes the file of
    a row that was not kept)."""
    material = Material(
        item_key=item_key,
        material_code=material_code,
        original_name=clean_original_name(upload.name),
        content_type=FILE_TYPES[kind].mime,
        size=upload.size,
        sha256=sha256_of(upload),
        uploaded_by=actor,
    )
    material.file.save(random_name(kind), upload, save=False)
    return material


def attach_all(application: Application, materials: list[Material]) -> None:
    """Save prepared files as the application's materials (one INSERT)."""
    for material in materials:
        material.application, material.enterprise_id = application, application.enterprise_id
    Material.objects.bulk_create(materials)


def discard(materials: list[Material]) -> None:
    """Remove the stored files of prepared materials whose rows were not kept."""
    for material in materials:
        if material.file.name:
            material.file.storage.delete(material.file.name)


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
    material = prepared(actor, upload, kind=kind, item_key=item_key, material_code=material_code)
    material.application, material.enterprise_id = application, application.enterprise_id
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

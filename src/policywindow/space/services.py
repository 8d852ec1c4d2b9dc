"""Issuing the documents of 法人空间: each rendered once, stored, its SHA-256 recorded.

A document is issued the first time it is needed — by the background sweep a few minutes after
the step that earned it, or by the enterprise's download or the clerk's print if that comes
first. Either way the
stored file is what every later download sends, so the SHA-256 the space shows is the SHA-256
of the file the enterprise holds.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from policywindow.applications.models import Application
from policywindow.core import audit
from policywindow.core.errors import NotFound
from policywindow.core.files import random_name

from . import documents
from .models import SpaceDocument

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 100


def issue(
    application: Application, kind: str, *, actor: Any = None, base_url: str = ""
) -> SpaceDocument:
    """The stored document of ``kind`` for what the application is now; rendered and recorded
    the first time. NotFound when the application has not earned that document."""
    due = documents.due_now(application, kind)
    if due is None:
        raise NotFound("该文书尚未出具")
    stored = SpaceDocument.objects.filter(application=application, kind=kind, basis=due.basis)
    existing = stored.first()
    if existing is not None:
        return existing
    data = documents.render(application, kind, base_url)
    document = SpaceDocument(
        application=application,
        kind=kind,
        basis=due.basis,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    document.file.save(random_name("pdf"), ContentFile(data), save=False)
    try:
        with transaction.atomic():
            document.save()
            audit.record(
                "space.document.issue",
                actor=actor,
                target=document,
                after={"application": application.number, "kind": kind, "sha256": document.sha256},
            )
    except IntegrityError:  # issued meanwhile by the sweep or another download: keep theirs
        document.file.delete(save=False)
        return stored.get()
    return document


def issue_missing(limit: int = SWEEP_LIMIT) -> int:
    """Issue up to ``limit`` documents that applications have earned but nobody issued yet.

    Only where the site's address is configured: a document prints the full address of the
    status page, which without it is known only from the request that downloads it."""
    if not settings.POLICYWINDOW_SITE_URL:
        logger.debug("POLICYWINDOW_SITE_URL 未配置：文书在首次下载或打印时出具")
        return 0
    issued = 0
    for rule in documents.RULES:
        on_file = SpaceDocument.objects.filter(
            application=OuterRef("pk"), kind=rule.kind, basis=OuterRef(rule.basis_field)
        )
        pending = (
            documents.with_bases(Application.objects.all())
            .filter(rule.when)
            .exclude(Exists(on_file))
            .select_related("enterprise", "rule__policy", "rule_version", "department")
            .order_by("pk")[: limit - issued]
        )
        for application in pending:
            try:
                issue(application, rule.kind)
            except Exception:  # one broken case must not stop the others; retried next sweep
                logger.exception("document %s of %s was not issued", rule.kind, application.pk)
                continue
            issued += 1
        if issued >= limit:
            break
    return issued

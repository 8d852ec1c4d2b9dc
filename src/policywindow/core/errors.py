"""Domain errors shared by services, views and the API.

A service raises one of these with a Chinese message; views turn it into a
form or page message and the API into ``{"code", "message", "details"}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class DomainError(Exception):
    code = "invalid"
    http_status = 400

    def __init__(
        self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code


class ValidationFailed(DomainError):
    """Field-level problems: ``details`` maps field name to a list of messages."""

    code = "validation_error"


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


def full_clean_or_fail(instance: models.Model, exclude: list[str] | None = None) -> None:
    """Model validation as a ``ValidationFailed`` with field-level messages."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise ValidationFailed("提交的内容有误", details=exc.message_dict) from exc


def refuse_duplicate(duplicates: models.QuerySet, field: str, message: str) -> None:
    if duplicates.exists():
        raise ValidationFailed(message, details={field: [message]})

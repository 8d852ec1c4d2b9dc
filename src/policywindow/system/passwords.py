"""Password rules of 等保 2.0 level 3: length, three character classes, no username inside."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MIN_LENGTH = 8
_CLASSES = (
    (re.compile(r"[a-z]"), "小写字母"),
    (re.compile(r"[A-Z]"), "大写字母"),
    (re.compile(r"\d"), "数字"),
    (re.compile(r"[^a-zA-Z\d]"), "特殊字符"),
)


class MinimumLengthValidator:
    def validate(self, password: str, user=None) -> None:
        if len(password) < MIN_LENGTH:
            raise ValidationError(f"密码长度至少 {MIN_LENGTH} 位", code="password_too_short")

    def get_help_text(self) -> str:
        return f"至少 {MIN_LENGTH} 位"


class CharacterClassValidator:
    def validate(self, password: str, user=None) -> None:
        present = sum(1 for pattern, _ in _CLASSES if pattern.search(password))
        if present < 3:
            raise ValidationError(
                "密码须包含大写字母、小写字母、数字、特殊字符中的至少三类",
                code="password_too_simple",
            )

    def get_help_text(self) -> str:
        return "包含大写字母、小写字母、数字、特殊字符中的至少三类"


class NotContainingUsernameValidator:
    def validate(self, password: str, user=None) -> None:
        username = getattr(user, "username", "") or ""
        if username and username.lower() in password.lower():
            raise ValidationError("密码不能包含用户名", code="password_contains_username")

    def get_help_text(self) -> str:
        return "不能包含用户名"

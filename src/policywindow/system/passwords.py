"""Password rules of 等保 2.0 level 3: length, three character classes, no username inside,
not a common password."""

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


# Passwords that pass the class rule yet head every Chinese leaked-password list.
COMMON_IN_CHINA = frozenset(
    p.lower()
    for p in (
        "Aa123456",
        "Aa123456.",
        "Aa123456!",
        "Aa112233",
        "Aa111111",
        "Abc@1234",
        "Abc@123456",
        "Abc123456",
        "Abcd@1234",
        "Abcd1234",
        "Admin@123",
        "Admin@1234",
        "Admin123!",
        "Admin@2024",
        "Root@123",
        "Test@123",
        "Huawei@123",
        "Password1",
        "Password@1",
        "Password@123",
        "P@ssw0rd",
        "P@ssword1",
        "P@ssw0rd123",
        "Passw0rd",
        "Passw0rd!",
        "Qwer1234",
        "Qwer@1234",
        "Qwer!234",
        "Qwerty123",
        "Asdf1234",
        "Zxcv1234",
        "1qaz@WSX",
        "1qaz!QAZ",
        "1qaz2wsx!",
        "Qq123456",
        "Zz123456",
        "Woaini1314",
        "woaini520",
        "Woaini@1314",
        "Welcome1",
        "Welcome@123",
    )
)


class CommonPasswordValidator:
    """Refuse well-known passwords: Django's list of 20,000 plus the Chinese favourites above.

    Case-insensitive, so ``PASSWORD1`` is as common as ``Password1``.
    """

    def __init__(self) -> None:
        from django.contrib.auth.password_validation import (
            CommonPasswordValidator as DjangoCommonPasswords,
        )

        self.passwords = DjangoCommonPasswords().passwords | COMMON_IN_CHINA

    def validate(self, password: str, user=None) -> None:
        if password.lower().strip() in self.passwords:
            raise ValidationError(
                "该密码是常见弱口令，容易被猜中，请换一个", code="password_too_common"
            )

    def get_help_text(self) -> str:
        return "不能是常见弱口令（如 Password1、Aa123456）"

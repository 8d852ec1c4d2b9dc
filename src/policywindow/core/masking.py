"""Masking of bank account, ID and phone numbers for pages, the API and logs (DESIGN.md §6)."""

from __future__ import annotations

MASK = "*"


def mask_account(text: str) -> str:
    """Keep only the last 4 characters: ``6222021234561234`` -> ``**** **** **** 1234``.

    The number of masked groups is fixed, so the mask does not reveal the length either.
    """
    compact = "".join((text or "").split())
    if not compact:
        return ""
    if len(compact) <= 4:
        return MASK * len(compact)
    return f"{MASK * 4} {MASK * 4} {MASK * 4} {compact[-4:]}"


def mask_id_number(text: str) -> str:
    """Keep the first 3 and the last 4 characters: ``210102199001011234`` -> ``210***********1234``."""
    compact = "".join((text or "").split())
    if len(compact) <= 7:
        return MASK * len(compact)
    return compact[:3] + MASK * (len(compact) - 7) + compact[-4:]


def mask_phone(text: str) -> str:
    """Masked like an ID number: ``13812345678`` -> ``138****5678``."""
    return mask_id_number(text)

"""Masking of bank accounts and ID numbers (DESIGN.md §6)."""

from __future__ import annotations

import pytest

from policywindow.core.masking import mask_account, mask_id_number


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("6222021001123456789", "**** **** **** 6789"),
        ("6222 0210 0112 3456 789", "**** **** **** 6789"),
        ("12345678", "**** **** **** 5678"),
    ],
)
def test_account_keeps_only_the_last_four(account, masked):
    assert mask_account(account) == masked


def test_account_mask_does_not_reveal_the_length():
    assert len(mask_account("12345678")) == len(mask_account("6222021001123456789012"))


@pytest.mark.parametrize(("short", "masked"), [("", ""), ("123", "***"), ("1234", "****")])
def test_short_or_empty_accounts_reveal_nothing(short, masked):
    assert mask_account(short) == masked


def test_id_number_keeps_first_three_and_last_four():
    assert mask_id_number("21010219900101123X") == "210***********123X"
    assert mask_id_number("") == ""
    assert mask_id_number("1234567") == "*******"

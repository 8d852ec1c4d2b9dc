"""Every action the product writes to the operation log has a Chinese name in 操作日志."""

from __future__ import annotations

import re
from pathlib import Path

import policywindow
from policywindow.core.audit import action_label

SOURCE = Path(policywindow.__file__).parent
RECORDED = re.compile(r'(?:audit\.record|record)\(\s*"([a-z_]+\.[a-z_.]+)"')


def recorded_actions() -> set[str]:
    actions: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        actions.update(RECORDED.findall(path.read_text(encoding="utf-8")))
    return actions


def test_the_scan_finds_the_actions_it_should():
    assert {"user.reset_password", "admin_request.approve", "role.grant"} <= recorded_actions()


def test_every_recorded_action_has_a_chinese_label():
    unlabelled = sorted(a for a in recorded_actions() if action_label(a) == a)
    assert unlabelled == []

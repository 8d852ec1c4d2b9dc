"""Label tables grow only through their register functions (core/labels.py), which refuse to
name a code twice differently."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from policywindow.applications import transitions
from policywindow.core import audit
from policywindow.core.labels import add_labels


def test_the_same_label_again_is_fine_a_different_one_is_refused():
    table = {"policy.publish": "发布政策"}
    add_labels(table, {"policy.publish": "发布政策", "policy.expire": "政策失效"}, what="t")
    assert table == {"policy.publish": "发布政策", "policy.expire": "政策失效"}
    clash = re.escape("policy.publish: '发布政策' / '上线政策'")
    with pytest.raises(ImproperlyConfigured, match=clash):
        add_labels(table, {"policy.publish": "上线政策", "policy.other": "其他"}, what="t")
    assert "policy.other" not in table, "a refused batch adds nothing"


def test_a_case_step_is_named_alike_on_the_timeline_and_in_the_log(monkeypatch):
    monkeypatch.setattr(transitions, "ACTION_LABELS", {})
    monkeypatch.setattr(audit, "ACTION_LABELS", dict(audit.ACTION_LABELS))
    transitions.register_step_labels({"certify": "出具证明"})
    assert transitions.ACTION_LABELS == {"certify": "出具证明"}
    assert audit.action_label("application.certify") == "出具证明"


def test_the_apps_registered_their_steps_and_actions():
    assert transitions.ACTION_LABELS["accept"] == "窗口受理"  # applications' own
    assert transitions.ACTION_LABELS["publicize"] == "公示"  # finance's
    assert audit.action_label("application.publicize") == "公示"
    assert audit.action_label("ruleversion.publish") == "发布细则版本"  # policies'

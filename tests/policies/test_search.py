"""Chinese full-text search over policies and rules (the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from policywindow.policies import selectors, services
from policywindow.policies.search import normalize, search_terms

from .conftest import LICENSE, add_items

pytestmark = pytest.mark.django_db


def test_normalize_folds_width_case_and_spaces():
    assert normalize("ＡＢＣ　研发\n 费用  CNAS") == "abc 研发 费用 cnas"
    assert search_terms(" 专精特新  小巨人 专精特新 ") == ["专精特新", "小巨人"]


@pytest.fixture
def library(policy_admin, make_policy, make_rule):
    """Three published policies with rules, and one draft rule that must stay unfindable."""

    def publish(policy, code, title, **guide):
        for name in ("beneficiaries", "conditions_text", "standard_text"):
            guide.setdefault(name, f"{title}：见政策原文")
        rule = make_rule(code=code, title=title, policy=policy, **guide)
        add_items(policy_admin, rule.versions.get(), LICENSE)
        services.publish_version(policy_admin, rule.versions.get())
        return rule

    rd = make_policy("辽宁省科技创新若干政策", summary="支持企业加大科技投入")
    publish(rd, "RD-01", "企业研发费用后补助", standard_text="按上年研发费用 10% 补助")
    sme = make_policy(
        "辽宁省促进中小企业专精特新发展实施意见", summary="培育“专精特新”中小企业", theme="industry"
    )
    publish(sme, "ZJTX-01", "国家级专精特新“小巨人”企业奖励")
    publish(sme, "ZJTX-02", "省级专精特新中小企业奖励")
    jobs = make_policy(
        "稳岗返还政策", summary="对不裁员或少裁员的企业返还失业保险费", theme="employment"
    )
    publish(jobs, "WG-01", "失业保险稳岗返还", beneficiaries="参保企业，研发型企业亦可")
    make_rule(code="DRAFT-01", title="数字化转型研发奖励（草稿）", policy=jobs)
    for policy in (rd, sme, jobs):
        services.publish_policy(policy_admin, policy)
    return {"rd": rd, "sme": sme, "jobs": jobs}


def titles(queryset) -> list[str]:
    return [p.title for p in queryset]


def test_a_word_inside_a_rule_title_finds_the_policy_and_the_rule(library):
    found = titles(selectors.search_published_policies(q="研发"))
    assert "辽宁省科技创新若干政策" in found
    rules = [r.code for r in selectors.search_published_rules(q="研发费用")]
    assert rules == ["RD-01"]


def test_zhuanjingtexin_finds_the_zhuanjingtexin_rules_title_matches_first(library):
    rules = [r.code for r in selectors.search_published_rules(q="专精特新")]
    assert sorted(rules) == ["ZJTX-01", "ZJTX-02"]
    assert titles(selectors.search_published_policies(q="专精特新")) == [
        "辽宁省促进中小企业专精特新发展实施意见"
    ]


def test_every_word_must_match(library):
    assert titles(selectors.search_published_policies(q="专精特新 小巨人")) == [
        "辽宁省促进中小企业专精特新发展实施意见"
    ]
    assert titles(selectors.search_published_policies(q="专精特新 稳岗")) == []
    assert [r.code for r in selectors.search_published_rules(q="省级 奖励")] == ["ZJTX-02"]


def test_title_matches_rank_before_body_matches(library):
    # All three mention 企业; only the 专精特新 policy has it in its title. Without ranking the
    # newest policy (稳岗返还) would come first.
    found = titles(selectors.search_published_policies(q="企业"))
    assert found == [
        "辽宁省促进中小企业专精特新发展实施意见",
        "稳岗返还政策",
        "辽宁省科技创新若干政策",
    ]
    rules = [r.code for r in selectors.search_published_rules(q="奖励")]
    assert rules == ["ZJTX-01", "ZJTX-02"]


def test_draft_rule_texts_are_not_searchable_in_public(library):
    assert titles(selectors.search_published_policies(q="数字化转型")) == []
    assert list(selectors.search_published_rules(q="数字化转型")) == []


def test_staff_search_sees_draft_rules_and_full_width_input(library, policy_admin):
    visible = selectors.rules_for(policy_admin)
    assert [r.code for r in selectors.search_rules(visible, q="数字化转型")] == ["DRAFT-01"]
    assert [r.code for r in selectors.search_rules(visible, q="ｒｄ－０１")] == ["RD-01"]


def test_unpublished_policies_are_not_in_public_search(library, policy_admin):
    services.withdraw_policy(policy_admin, library["sme"], "修订")
    assert titles(selectors.search_published_policies(q="专精特新")) == []
    assert list(selectors.search_published_rules(q="专精特新")) == []


def test_wildcards_in_the_query_are_literal(library):
    assert titles(selectors.search_published_policies(q="%")) == ["辽宁省科技创新若干政策"]
    assert titles(selectors.search_published_policies(q="_")) == []

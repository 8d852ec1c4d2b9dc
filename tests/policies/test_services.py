"""Policy and rule services: validation, publishing, versioning and the frozen published version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from policywindow.core.errors import Conflict, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.policies import selectors, services
from policywindow.policies.models import Policy, RequiredItem, Rule, RuleVersion
from policywindow.system.models import SystemParameter
from tests.pdfs import minimal

from .conftest import LICENSE, RD_AMOUNT, add_items

pytestmark = pytest.mark.django_db

PDF = minimal("test")


def details(exc_info) -> dict:
    return exc_info.value.details


# ---------------------------------------------------------------- policies


def test_create_policy_sanitises_the_full_text_and_is_audited(policy_admin, department):
    policy = services.create_policy(
        policy_admin,
        title="  辽宁省稳岗返还政策 ",
        issuing_department=department,
        full_text='<p onclick="x()">正文<script>alert(1)</script></p><a href="javascript:x">链接</a>'
        '<table><tr><td colspan="2">表格</td></tr></table><img src="http://x/y.png">',
    )
    assert policy.title == "辽宁省稳岗返还政策"
    assert policy.status == Policy.Status.DRAFT
    assert "<script" not in policy.full_text and "onclick" not in policy.full_text
    assert "javascript" not in policy.full_text and "<img" not in policy.full_text
    assert '<td colspan="2">表格</td>' in policy.full_text
    event = AuditEvent.objects.get(action="policy.create", object_id=str(policy.pk))
    assert event.after["title"] == "辽宁省稳岗返还政策"
    assert event.actor == policy_admin


def test_plain_text_without_markup_is_escaped_into_paragraphs(policy_admin, department):
    policy = services.create_policy(
        policy_admin,
        title="政策",
        issuing_department=department,
        full_text="第一条 总则\n\n第二条 范围",
    )
    assert policy.full_text == "<p>第一条 总则</p><p>第二条 范围</p>"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"effective_from": dt.date(2026, 5, 1), "effective_to": dt.date(2026, 4, 1)},
            "effective_to",
            "失效日期不能早于生效日期",
        ),
        ({"theme": "nonsense"}, "theme", "请选择有效的政策主题"),
        ({"sizes": ["huge"]}, "sizes", "企业规模只能是大型、中型、小型、微型"),
        ({"title": ""}, "title", ""),
    ],
)
def test_bad_policy_input_is_a_field_error(policy_admin, department, fields, field, message):
    data = {"title": "政策", "issuing_department": department, **fields}
    with pytest.raises(ValidationFailed) as exc:
        services.create_policy(policy_admin, **data)
    assert message in details(exc)[field][0]
    assert not Policy.objects.exists()


def test_doc_number_is_unique(policy_admin, policy, department):
    with pytest.raises(ValidationFailed) as exc:
        services.create_policy(
            policy_admin,
            title="另一政策",
            issuing_department=department,
            doc_number=policy.doc_number,
        )
    assert details(exc)["doc_number"] == ["该文号已被其他政策使用"]


def test_issuing_department_must_be_in_the_admins_data_scope(
    policy_admin, make_department, narrowed_scope
):
    narrowed_scope("policy_admin")
    elsewhere = make_department("大连市科技局")
    with pytest.raises(ValidationFailed) as exc:
        services.create_policy(policy_admin, title="政策", issuing_department=elsewhere)
    assert details(exc)["issuing_department"] == ["只能选择您数据范围内的部门作为发文部门"]


def test_update_records_before_and_after(policy_admin, policy):
    services.update_policy(
        policy_admin,
        policy,
        title="辽宁省研发费用后补助政策（修订）",
        issuing_department=policy.issuing_department,
    )
    event = AuditEvent.objects.get(action="policy.update")
    assert event.before["title"] == "辽宁省研发费用后补助政策"
    assert event.after["title"] == "辽宁省研发费用后补助政策（修订）"


def test_publish_withdraw_and_expire_follow_the_status_table(policy_admin, policy):
    services.publish_policy(policy_admin, policy)
    policy.refresh_from_db()
    assert policy.status == Policy.Status.PUBLISHED
    assert policy.publish_date == timezone.localdate()
    with pytest.raises(Conflict, match="不能发布"):
        services.publish_policy(policy_admin, policy)
    with pytest.raises(ValidationFailed) as exc:
        services.withdraw_policy(policy_admin, policy, "  ")
    assert details(exc)["reason"] == ["请填写撤回原因"]
    services.withdraw_policy(policy_admin, policy, "文件修订")
    policy.refresh_from_db()
    assert policy.status == Policy.Status.WITHDRAWN
    with pytest.raises(Conflict, match="不能设为失效"):
        services.expire_policy(policy_admin, policy)
    services.publish_policy(policy_admin, policy)
    services.expire_policy(policy_admin, policy)
    policy.refresh_from_db()
    assert policy.status == Policy.Status.EXPIRED
    actions = list(
        AuditEvent.objects.filter(object_type="policies.policy")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "policy.create",
        "policy.publish",
        "policy.withdraw",
        "policy.publish",
        "policy.expire",
    ]
    assert AuditEvent.objects.get(action="policy.withdraw").message == "撤回原因：文件修订"


def test_a_policy_past_its_expiry_cannot_be_published(policy_admin, make_policy):
    old = make_policy("旧政策", effective_to=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(Conflict, match="失效，不能发布"):
        services.publish_policy(policy_admin, old)


def test_attachment_content_must_match_its_type(policy_admin, policy):
    fake = SimpleUploadedFile("通知.pdf", b"MZ\x90\x00 not a pdf")
    with pytest.raises(ValidationFailed) as exc:
        services.add_attachment(policy_admin, policy, fake)
    assert "的扩展名是 .pdf，但内容不是 PDF 文件" in details(exc)["file"][0]
    attachment = services.add_attachment(
        policy_admin, policy, SimpleUploadedFile("实施细则.pdf", PDF)
    )
    assert attachment.original_name == "实施细则.pdf"
    assert "实施细则" not in attachment.file.name  # stored under a random name
    assert attachment.file.name.endswith(".pdf")


# ---------------------------------------------------------------- rules


def test_create_rule_makes_a_first_draft_with_the_default_review_days(rule, department):
    version = rule.versions.get()
    assert (version.version, version.status) == (1, RuleVersion.Status.DRAFT)
    assert version.review_days == 5
    assert version.lead_department == department
    assert rule.current is None
    assert "研发费用后补助" in version.search_text
    assert AuditEvent.objects.filter(action="rule.create", object_id=str(rule.pk)).exists()


def test_review_days_default_follows_the_system_parameter(make_rule):
    SystemParameter.objects.filter(key="general.review_limit_days").update(value="7")
    assert make_rule(code="RD-007").versions.get().review_days == 7


@pytest.mark.parametrize(
    ("code", "fields", "field", "message"),
    [
        ("rd 1", {}, "code", "细则编码须为"),
        ("RD-001", {}, "code", "细则编码 RD-001 已存在"),
        ("RD-002", {"lead_department": None}, "lead_department", "请选择牵头部门"),
        (
            "RD-002",
            {"eligibility_expression": "rd_spend >= 1\nrevenue >"},
            "eligibility_expression",
            "第 2 行“revenue >”有语法错误",
        ),
        (
            "RD-002",
            {"eligibility_expression": "rd_spnd >= 1"},
            "eligibility_expression",
            "第 1 行使用了未定义的属性：rd_spnd",
        ),
        (
            "RD-002",
            {"amount_formula": "min([rd_spend * 0.1,"},
            "amount_formula",
            "公式“min([rd_spend * 0.1,”有",
        ),
        (
            "RD-002",
            {"opens_on": dt.date(2026, 6, 1), "closes_on": dt.date(2026, 5, 1)},
            "closes_on",
            "申报截止日期不能早于开始日期",
        ),
        ("RD-002", {"per_enterprise_cap": Decimal("-1")}, "per_enterprise_cap", "金额不能为负数"),
        (
            "RD-002",
            {"per_enterprise_cap": Decimal("10"), "annual_budget": Decimal("5")},
            "per_enterprise_cap",
            "单个企业上限不能超过年度预算",
        ),
        ("RD-002", {"review_days": 0}, "review_days", "审核时限须为 1–60 个工作日"),
    ],
)
def test_bad_rule_input_is_a_chinese_field_error(rule, make_rule, code, fields, field, message):
    with pytest.raises(ValidationFailed) as exc:
        make_rule(code=code, **fields)
    assert message in details(exc)[field][0]
    assert Rule.objects.count() == 1


def test_codes_are_upper_cased(make_rule):
    assert make_rule(code="ln-kj-01").code == "LN-KJ-01"


def test_publishing_needs_the_guide_and_an_item(policy_admin, make_rule):
    rule = make_rule(code="EMPTY", beneficiaries="", conditions_text="")
    with pytest.raises(ValidationFailed) as exc:
        services.publish_version(policy_admin, rule.versions.get())
    assert details(exc)["beneficiaries"] == ["发布前请填写惠及对象"]
    assert details(exc)["conditions_text"] == ["发布前请填写申报条件"]
    assert "至少添加一个要件项" in details(exc)["__all__"][0]
    assert rule.versions.get().status == RuleVersion.Status.DRAFT


def test_an_auto_granted_rule_needs_no_items(policy_admin, make_rule):
    rule = make_rule(code="AUTO", auto_grant=True)
    version = services.publish_version(policy_admin, rule.versions.get())
    assert version.status == RuleVersion.Status.PUBLISHED


def test_publish_freezes_the_version_and_makes_it_current(policy_admin, published_rule):
    version = published_rule.current
    assert version.status == RuleVersion.Status.PUBLISHED
    assert version.published_by == policy_admin and version.published_at is not None
    event = AuditEvent.objects.get(action="ruleversion.publish")
    assert event.after == {"current": 1, "status": "published"}


def test_a_published_version_and_its_items_can_never_be_modified(policy_admin, published_rule):
    version = published_rule.current
    item = version.items.get(key="license")
    attempts = [
        lambda: services.update_version(policy_admin, version, title="改名"),
        lambda: services.add_item(policy_admin, version, key="extra", label="其他", kind="text"),
        lambda: services.update_item(policy_admin, item, label="改名"),
        lambda: services.remove_item(policy_admin, item),
        lambda: services.reorder_items(
            policy_admin, version, list(reversed([i.pk for i in version.items.all()]))
        ),
        lambda: services.move_item(policy_admin, item, 1),
        lambda: services.publish_version(policy_admin, version),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as exc:
            attempt()
        assert exc.value.code == "version_frozen"
        assert exc.value.message.startswith("第 1 版已发布，不能修改")
    version.refresh_from_db()
    assert version.title == "研发费用后补助"
    assert list(version.items.values_list("key", "label")) == [
        ("license", "营业执照"),
        ("rd_amount", "研发费用专项审计金额"),
    ]


def test_editing_a_published_rule_creates_a_new_draft_copying_fields_and_items(
    policy_admin, published_rule
):
    first = published_rule.current
    draft = services.create_new_version(policy_admin, published_rule)
    assert (draft.version, draft.status) == (2, RuleVersion.Status.DRAFT)
    assert (
        draft.title == first.title and draft.eligibility_expression == first.eligibility_expression
    )
    assert list(draft.items.values_list("key", "kind")) == list(
        first.items.values_list("key", "kind")
    )
    assert set(draft.items.values_list("pk", flat=True)).isdisjoint(
        first.items.values_list("pk", flat=True)
    )
    with pytest.raises(Conflict, match="已有未发布的第 2 版草稿"):
        services.create_new_version(policy_admin, published_rule)

    services.update_version(
        policy_admin, draft, title="研发费用后补助（2026 年度）", change_note="提高补助比例"
    )
    services.remove_item(policy_admin, draft.items.get(key="rd_amount"))
    published_rule.refresh_from_db()
    assert published_rule.current == first  # the running version is untouched
    services.publish_version(policy_admin, draft)
    published_rule.refresh_from_db()
    first.refresh_from_db()
    assert published_rule.current == draft
    assert first.status == RuleVersion.Status.SUPERSEDED
    assert first.items.count() == 2


def test_items_are_validated(policy_admin, rule):
    version = rule.versions.get()
    add_items(policy_admin, version, LICENSE)
    cases = [
        (
            {"key": "license", "label": "重复", "kind": "text"},
            "key",
            "本版本已有字段标识为 license 的要件项",
        ),
        ({"key": "Bad-Key", "label": "x", "kind": "text"}, "key", "字段标识须以小写字母开头"),
        ({"key": "true", "label": "x", "kind": "text"}, "key", "是表达式保留字"),
        (
            {"key": "c", "label": "x", "kind": "choice", "options": ["只有一个"]},
            "options",
            "至少需要两个选项",
        ),
        (
            {"key": "c", "label": "x", "kind": "multi_choice", "options": ["A", "A"]},
            "options",
            "选项不能重复",
        ),
        (
            {"key": "f", "label": "x", "kind": "file", "allowed_types": []},
            "allowed_types",
            "请至少选择一种",
        ),
        (
            {"key": "f", "label": "x", "kind": "file", "allowed_types": ["exe"]},
            "allowed_types",
            "文件类型只能是",
        ),
        (
            {"key": "f", "label": "x", "kind": "file", "allowed_types": ["pdf"], "max_files": 0},
            "max_files",
            "文件数量上限须为 1–20 个",
        ),
        (
            {
                "key": "n",
                "label": "x",
                "kind": "money",
                "min_value": Decimal(10),
                "max_value": Decimal(5),
            },
            "max_value",
            "最大值不能小于最小值",
        ),
        (
            {"key": "n", "label": "x", "kind": "integer", "min_value": Decimal("1.5")},
            "min_value",
            "整数类型的取值范围须为整数",
        ),
        (
            {"key": "t", "label": "x", "kind": "text", "pattern": "^(\\d"},
            "pattern",
            "格式（正则）无效",
        ),
        (
            {"key": "t", "label": "x", "kind": "text", "prefill_source": "secret"},
            "prefill_source",
            "预填来源须为企业属性之一",
        ),
        ({"key": "t", "label": "", "kind": "text"}, "label", ""),
    ]
    for spec, field, message in cases:
        with pytest.raises(ValidationFailed) as exc:
            services.add_item(policy_admin, version, **spec)
        assert message in details(exc)[field][0], spec
    assert version.items.count() == 1


def test_settings_that_do_not_fit_the_kind_are_dropped(policy_admin, rule):
    item = services.add_item(
        policy_admin,
        rule.versions.get(),
        key="employees_now",
        label="当前从业人数",
        kind="integer",
        min_value=Decimal(1),
        options=["A", "B"],
        allowed_types=["pdf"],
        pattern="x",
    )
    assert (item.min_value, item.options, item.allowed_types, item.pattern) == (
        Decimal(1),
        [],
        [],
        "",
    )


def test_item_template_is_checked_by_content_and_stored_under_a_random_name(policy_admin, rule):
    version = rule.versions.get()
    with pytest.raises(ValidationFailed) as exc:
        services.add_item(
            policy_admin, version, template=SimpleUploadedFile("申请表.docx", PDF), **LICENSE
        )
    assert "的扩展名是 .docx，但内容不是 Word（DOCX） 文件" in details(exc)["template"][0]
    item = services.add_item(
        policy_admin, version, template=SimpleUploadedFile("申请表.pdf", PDF), **LICENSE
    )
    assert item.template_name == "申请表.pdf"
    assert (
        item.template_file.name.startswith("templates/") and "申请表" not in item.template_file.name
    )
    services.update_item(
        policy_admin, item, clear_template=True, **{**LICENSE, "label": "营业执照副本"}
    )
    item.refresh_from_db()
    assert (item.label, item.template_name, bool(item.template_file)) == ("营业执照副本", "", False)


def test_items_reorder_and_move_and_are_audited(policy_admin, rule):
    version = rule.versions.get()
    first, second = add_items(policy_admin, version, LICENSE, RD_AMOUNT)
    assert (first.order, second.order) == (10, 20)
    services.move_item(policy_admin, second, -1)
    assert list(version.items.values_list("key", flat=True)) == ["rd_amount", "license"]
    with pytest.raises(ValidationFailed, match="全部要件项"):
        services.reorder_items(policy_admin, version, [first.pk])
    event = AuditEvent.objects.filter(action="ruleversion.reorder_items").get()
    assert event.after == {"order": [second.pk, first.pk]}


def test_expressions_may_use_the_items_keys(policy_admin, rule):
    version = rule.versions.get()
    add_items(policy_admin, version, RD_AMOUNT)
    services.update_version(
        policy_admin,
        version,
        eligibility_expression="rd_amount >= 1000000 # 专项审计金额不低于 100 万元",
    )
    version.refresh_from_db()
    assert version.eligibility_expression.startswith("rd_amount >= 1000000")


def test_publishing_rechecks_expressions_against_the_items_left(policy_admin, rule):
    version = rule.versions.get()
    add_items(policy_admin, version, LICENSE, RD_AMOUNT)
    services.update_version(policy_admin, version, eligibility_expression="rd_amount >= 1")
    services.remove_item(policy_admin, version.items.get(key="rd_amount"))
    with pytest.raises(ValidationFailed) as exc:
        services.publish_version(policy_admin, version)
    assert details(exc)["eligibility_expression"] == ["第 1 行使用了未定义的属性：rd_amount"]


def test_audit_events_of_items_carry_before_and_after(policy_admin, rule):
    item = services.add_item(policy_admin, rule.versions.get(), **LICENSE)
    services.update_item(policy_admin, item, **{**LICENSE, "required": False})
    services.remove_item(policy_admin, item)
    update = AuditEvent.objects.get(action="requireditem.update")
    assert (update.before["required"], update.after["required"]) == (True, False)
    assert AuditEvent.objects.get(action="requireditem.delete").before["key"] == "license"
    assert not RequiredItem.objects.exists()


def test_version_diff_names_changed_removed_and_added_items(policy_admin, published_rule):
    draft = services.create_new_version(policy_admin, published_rule)
    license_item = draft.items.get(key="license")
    services.update_item(
        policy_admin, license_item, **{**LICENSE, "allowed_types": ["pdf"], "max_files": 3}
    )
    services.remove_item(policy_admin, draft.items.get(key="rd_amount"))
    services.add_item(policy_admin, draft, key="patents", label="发明专利数", kind="integer")
    draft = services.update_version(policy_admin, draft, per_enterprise_cap=Decimal("6000000"))
    diff = selectors.version_diff(published_rule.current, draft)
    assert [(f.name, f.before, f.after) for f in diff.fields] == [
        ("per_enterprise_cap", "5,000,000.00", "6,000,000.00")
    ]
    changes = {c.key: c for c in diff.items}
    assert changes["license"].change == "changed"
    assert {(f.label, f.before, f.after) for f in changes["license"].fields} == {
        ("允许的文件类型", "pdf、jpg", "pdf"),
        ("文件数量上限", "1", "3"),
    }
    assert (changes["rd_amount"].change, changes["rd_amount"].summary) == (
        "removed",
        "金额（元），必填",
    )
    assert (changes["patents"].change, changes["patents"].summary) == ("added", "整数，必填")
    assert selectors.version_diff(draft, draft).empty

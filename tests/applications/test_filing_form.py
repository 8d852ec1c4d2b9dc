"""The run-time application form: one field per item kind, Chinese messages, files by content."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from policywindow.applications.forms import ItemSpec, specs_of_version
from policywindow.applications.models import Material
from policywindow.applications.services import filing
from policywindow.system.models import User

from .test_filing_factories import (
    JPEG,
    LICENSE,
    OLE,
    PDF,
    PNG,
    link,
    make_enterprise,
    make_rule,
    office_zip,
    upload,
)

pytestmark = pytest.mark.django_db

ITEMS = (
    {
        "key": "code",
        "label": "项目编号",
        "kind": "text",
        "pattern": r"XM\d{4}",
        "help_text": "如 XM2026",
    },
    {"key": "staff", "label": "研发人员数", "kind": "integer", "min_value": 1, "max_value": 100},
    {"key": "ratio", "label": "研发投入占比", "kind": "number"},
    {"key": "amount", "label": "申请金额", "kind": "money", "section": "资金"},
    {"key": "start", "label": "项目开始日期", "kind": "date"},
    {
        "key": "field",
        "label": "技术领域",
        "kind": "choice",
        "options": [{"value": "ai", "label": "人工智能"}, {"value": "bio", "label": "生物医药"}],
    },
    {"key": "tags", "label": "企业资质", "kind": "multi_choice", "options": ["高企", "专精特新"]},
    {"key": "owned", "label": "是否拥有自主知识产权", "kind": "boolean"},
    {"key": "summary", "label": "项目简介", "kind": "long_text", "required": False},
)
VALID = {
    "code": "XM2026",
    "staff": "12",
    "ratio": "3.5",
    "amount": "1000.5",
    "start": "2026-01-15",
    "field": "ai",
    "tags": ["高企"],
    "owned": "true",
}


@pytest.fixture
def version(department):
    return make_rule(department, items=ITEMS).current


def _errors(version, **changes) -> dict:
    form = filing.build_form(version, {**VALID, **changes})
    form.is_valid()
    return form.errors


def test_valid_answers_clean_to_stored_values(version):
    form = filing.build_form(version, VALID)
    assert form.is_valid(), form.errors
    assert form.answers() == {
        "code": "XM2026",
        "staff": 12,
        "ratio": "3.5",
        "amount": "1000.50",
        "start": "2026-01-15",
        "field": "ai",
        "tags": ["高企"],
        "owned": True,
        "summary": None,
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("code", "AB12", "项目编号格式不正确（如 XM2026）"),
        ("staff", "0", "研发人员数不能小于 1"),
        ("staff", "101", "研发人员数不能大于 100"),
        ("staff", "1.5", "研发人员数须为整数"),
        ("ratio", "约三成", "研发投入占比须为数字"),
        ("amount", "-1", "申请金额不能为负数"),
        ("amount", "1.234", "申请金额最多保留两位小数"),
        ("amount", "一千", "申请金额须为金额数字，如 12345.67"),
        ("start", "2026-13-01", "项目开始日期须为有效日期，格式为 YYYY-MM-DD"),
        ("field", "car", "技术领域的取值无效，请从给定选项中选择"),
        ("tags", ["高企", "外资"], "企业资质的取值无效，请从给定选项中选择"),
        ("owned", "也许", "是否拥有自主知识产权的取值无效，请从给定选项中选择"),
        ("code", "", "请填写项目编号"),
        ("field", "", "请选择技术领域"),
        ("owned", "", "请选择是否拥有自主知识产权"),
    ],
)
def test_each_kind_refuses_bad_input_with_a_chinese_message(version, key, value, message):
    assert _errors(version, **{key: value})[key] == [message]


def test_a_draft_form_requires_nothing_but_checks_what_is_filled(version):
    form = filing.build_form(version, {"staff": "abc"}, draft=True)
    assert not form.is_valid()
    assert list(form.errors) == ["staff"]


def test_sections_keep_the_item_order(version):
    form = filing.build_form(version)
    sections = [(s.title, [e.spec.key for e in s.entries]) for s in form.sections()]
    assert sections == [
        ("申报信息", ["code", "staff", "ratio", "start", "field", "tags", "owned", "summary"]),
        ("资金", ["amount"]),
    ]


def test_the_snapshot_round_trips(version):
    specs = specs_of_version(version)
    assert [ItemSpec.from_snapshot(spec.snapshot()) for spec in specs] == specs
    field = next(spec for spec in specs if spec.key == "field").snapshot()
    assert field["options"] == [
        {"value": "ai", "label": "人工智能"},
        {"value": "bio", "label": "生物医药"},
    ]
    assert next(s for s in specs if s.key == "staff").snapshot()["min_value"] == "1.00"


# ---------------------------------------------------------------- files


def _file_rule(department, **item):
    return make_rule(department, items=({**LICENSE, **item},)).current


def _file_errors(version, *files) -> list[str]:
    form = filing.build_form(version, {}, {"license": list(files)})
    form.is_valid()
    return form.errors.get("license", [])


def test_a_renamed_file_is_refused_by_its_content(department):
    version = _file_rule(department)
    errors = _file_errors(version, upload("营业执照.pdf", b"MZ\x90\x00 not a pdf at all"))
    assert errors == [
        "文件“营业执照.pdf”的扩展名是 .pdf，但内容不是 PDF 文件（系统按文件内容识别类型，"
        "修改扩展名无效）。允许的类型：PDF、JPG"
    ]


def test_a_real_file_of_a_type_not_allowed_is_named(department):
    version = _file_rule(department)
    errors = _file_errors(version, upload("扫描件.pdf", PNG, "image/png"))
    assert errors == ["文件“扫描件.pdf”实际为 PNG 文件，不在允许的类型内（允许：PDF、JPG）"]


@pytest.mark.parametrize(
    ("types", "name", "content"),
    [
        (["pdf"], "a.pdf", PDF),
        (["jpg"], "a.jpeg", JPEG),
        (["png"], "a.png", PNG),
        (["docx"], "a.docx", office_zip("docx")),
        (["xlsx"], "a.xlsx", office_zip("xlsx")),
        (["doc"], "a.doc", OLE),
        (["xls"], "a.xls", OLE),
    ],
)
def test_each_allowed_type_is_recognised_by_content(department, types, name, content):
    assert _file_errors(_file_rule(department, allowed_types=types), upload(name, content)) == []


def test_a_zip_that_is_not_an_office_document_is_refused(department):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.exe", "MZ")
    version = _file_rule(department, allowed_types=["docx"])
    assert (
        "内容不是 Word（DOCX） 文件"
        in _file_errors(version, upload("a.docx", buffer.getvalue()))[0]
    )


def test_size_and_count_limits(department):
    version = _file_rule(department, max_size_mb=1, max_files=2)
    big = upload("大文件.pdf", PDF + b"0" * (1024 * 1024 + 1))
    assert _file_errors(version, big) == ["文件“大文件.pdf”大小为 1.0 MB，超过单个文件上限 1 MB"]
    three = [upload(f"{n}.pdf") for n in range(3)]
    assert _file_errors(version, *three) == ["营业执照最多 2 个文件，当前选择了 3 个"]
    assert _file_errors(version, upload("空.pdf", b"")) == ["文件“空.pdf”是空文件，请重新选择"]


def test_a_required_file_item_needs_a_file(department):
    assert _file_errors(_file_rule(department)) == ["请上传营业执照"]


def test_a_file_input_offers_a_phone_its_camera_and_its_files(department):
    """``accept`` names every extension and MIME type (image types make a phone offer its
    camera beside its files); ``capture`` would force the camera; one file, one pick."""
    version = _file_rule(department, allowed_types=["pdf", "jpg", "png"])
    html = str(filing.build_form(version, {}, {})["license"])
    accept = re.search(r'accept="([^"]*)"', html).group(1).split(",")
    assert accept == [".pdf", "application/pdf", ".jpg", ".jpeg", "image/jpeg", ".png", "image/png"]
    assert "capture" not in html and "multiple" not in html
    several = filing.build_form(_file_rule(department, max_files=3), {}, {})["license"]
    assert " multiple" in str(several)
    assert _file_errors(version, upload("1.pdf"), upload("2.pdf")) == [
        "营业执照最多 1 个文件，当前选择了 2 个"
    ]


# ---------------------------------------------------------------- pre-fill and reuse


@pytest.fixture
def member(make_user):
    user = make_user("form_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, make_enterprise("鞍山测试钢铁有限公司", contact_name="王五"))
    return user


def test_prefill_from_a_fact_and_from_a_record_field(department, member):
    items = (
        {"key": "rd", "label": "上年研发费用", "kind": "money", "prefill_source": "rd_spend"},
        {"key": "people", "label": "从业人员", "kind": "integer", "prefill_source": "employees"},
        {"key": "since", "label": "成立日期", "kind": "date", "prefill_source": "established_on"},
        {"key": "who", "label": "联系人", "kind": "text", "prefill_source": "contact_name"},
        {"key": "ht", "label": "是否高企", "kind": "boolean", "prefill_source": "high_tech"},
    )
    rule = make_rule(department, items=items)
    enterprise = member.enterprise_membership.enterprise
    application = filing.start_application(member, enterprise, rule)
    assert application.answers == {
        "rd": "4000000.00",
        "people": 120,
        "since": "2015-03-01",
        "who": "王五",
        "ht": False,
    }


def test_an_earlier_upload_of_the_same_material_is_offered_and_reused(department, member):
    enterprise = member.enterprise_membership.enterprise
    first = filing.start_application(member, enterprise, make_rule(department, items=(LICENSE,)))
    filing.save_answers(member, first, {}, {"license": [upload("营业执照2026.pdf")]})
    earlier = Material.objects.get(application=first)

    second = filing.start_application(member, enterprise, make_rule(department, items=(LICENSE,)))
    form = filing.build_form(second)
    offer = form.offers["license"][0]
    day = timezone.localdate(earlier.uploaded_at).isoformat()
    assert offer.label == f"使用已上传材料：营业执照2026.pdf（{day}）"
    assert form["license__keep"].value() == [str(earlier.pk)]  # pre-selected

    saved = filing.save_answers(member, second, {"license__keep": [str(earlier.pk)]})
    copy = Material.objects.get(application=second)
    assert saved.answers["license"] == [copy.pk]
    assert (copy.file.name, copy.sha256) == (earlier.file.name, earlier.sha256)
    assert Material.objects.get(pk=earlier.pk).application == first  # the first keeps its own
    assert filing.submit(member, saved).number


def test_another_enterprises_file_cannot_be_reused(department, member, make_user):
    other = make_user("form_qiye2", "enterprise", kind=User.Kind.ENTERPRISE)
    other_enterprise = make_enterprise("别家企业")
    link(other, other_enterprise)
    theirs = filing.start_application(
        other, other_enterprise, make_rule(department, items=(LICENSE,))
    )
    filing.save_answers(other, theirs, {}, {"license": [upload()]})
    foreign = Material.objects.get(application=theirs)

    mine = filing.start_application(
        member, member.enterprise_membership.enterprise, make_rule(department, items=(LICENSE,))
    )
    form = filing.build_form(mine, {"license__keep": [str(foreign.pk)]}, draft=True)
    assert not form.is_valid()
    assert form.errors["license__keep"] == ["所选材料不存在或不可使用，请刷新页面后重试"]


def test_unchecking_a_file_detaches_it(department, member):
    enterprise = member.enterprise_membership.enterprise
    application = filing.start_application(
        member, enterprise, make_rule(department, items=(LICENSE,))
    )
    filing.save_answers(member, application, {}, {"license": [upload()]})
    saved = filing.save_answers(member, application, {"license__keep": []})
    assert "license" not in saved.answers
    assert not Material.objects.filter(application=application).exists()
    assert Material.objects.filter(enterprise=enterprise).count() == 1  # still offered for reuse

"""The printed notices of a case — 受理通知书, 补正告知书, 不予受理决定书, 审核结果告知书 — as real
PDFs: made by the services that decide, read back with pypdf, drawn in the embedded CJK font,
downloaded by the enterprise from its case and printed by the clerk from the intake page."""

from __future__ import annotations

import hashlib
import io
import subprocess

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from policywindow.applications.models import Application
from policywindow.applications.services import intake
from policywindow.core.errors import DomainError
from policywindow.space import documents, services
from policywindow.space.models import DocumentKind as K
from policywindow.space.models import SpaceDocument
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime

from .test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
    shanghai,
)

pytestmark = pytest.mark.django_db

SITE = "https://zwfw.example.gov.cn"
APPEAL = (
    "如不服本决定，可在收到本决定书之日起六十日内依法申请行政复议，或者在六个月内依法提起行政诉讼"
)


@pytest.fixture(autouse=True)
def site(settings):
    settings.POLICYWINDOW_SITE_URL = SITE


@pytest.fixture
def clock(monkeypatch):
    def at(*args: int) -> None:
        monkeypatch.setattr(timezone, "now", lambda: shanghai(*args))

    return at


@pytest.fixture
def people(make_user):
    agent = make_user("np_agent", "enterprise", kind="enterprise", real_name="钱经办")
    enterprise = make_enterprise("鞍山告知书测试材料有限公司")
    make_member(agent, enterprise)
    return {
        "agent": agent,
        "enterprise": enterprise,
        "clerk": make_user("np_clerk", "window_clerk", real_name="窗口孙丽"),
    }


@pytest.fixture
def case(department, people) -> Application:
    """Filed at the counter by the clerk (窗口代办) on Friday 2026-11-20."""
    return make_case(
        make_version(department, title="研发费用后补助（告知书测试）"),
        people["enterprise"],
        people["clerk"],
        submitted_at=shanghai(2026, 11, 20, 9, 0),
        channel=Application.Channel.WINDOW,
    )


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(data: bytes) -> str:
    """The text without the line breaks the layout put into long sentences."""
    return text_of(data).replace("\n", "")


def fonts_of(data: bytes) -> set[str]:
    found = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            found.add(str(font.get_object()["/BaseFont"]))
    return found


def issued(case: Application, kind: str) -> bytes:
    case.refresh_from_db()
    return services.issue(case, kind).file.read()


def accept(people, case) -> Application:
    return intake.accept(people["clerk"], case, all_complete(case), expected_revision=0)


def test_the_acceptance_notice_names_the_deadline_number_and_issuer(clock, people, case):
    clock(2026, 11, 20, 10, 30)  # Friday + 5 working days: decided by Friday 2026-11-27
    accept(people, case)
    data = issued(case, K.ACCEPTANCE)
    text = flat(data)
    for expected in (
        "受理通知书",
        f"受字〔2026〕{case.number}号",
        "鞍山告知书测试材料有限公司",
        "予以受理",
        "办结期限 2026年11月27日（5 个工作日）",
        case.department.name,
        "窗口孙丽",
        settings.POLICYWINDOW_ORG_NAME,
        "2026年11月20日",
        f"{SITE}/status/?number={case.number}",
    ):
        assert expected in text, expected


def test_the_supplement_notice_lists_exactly_the_items_with_the_deadline(clock, people, case):
    clock(2026, 11, 20, 10, 30)  # + 10 working days: by Friday 2026-12-04
    intake.request_supplement(
        people["clerk"],
        case,
        [
            {"key": "audit_report", "comment": "请上传加盖事务所公章的专项审计报告"},
            {"key": "rd_spend", "comment": "与审计报告金额不一致，请核对"},
        ],
        "请一次性补齐",
        expected_revision=0,
    )
    text = flat(issued(case, K.SUPPLEMENT))
    for expected in (
        "补正告知书",
        f"补字〔2026〕{case.number}-1号",
        "需要补正以下 2 项内容",
        "上年研发费用",
        "与审计报告金额不一致，请核对",
        "研发费用专项审计报告",
        "请上传加盖事务所公章的专项审计报告",
        "请一次性补齐",
        "请于 2026年12月4日 前",
        f"{SITE}/portal/apply/{case.pk}/supplement/",
        "政务服务窗口办理",
    ):
        assert expected in text, expected
    # Only the items asked for: the form's other items are not listed.
    for other in ("研发项目名称", "是否高新技术企业", "技术领域"):
        assert other not in text, other


def test_a_second_supplement_asked_in_review_gets_its_own_notice(clock, people, case):
    clock(2026, 11, 20, 10, 30)
    accept(people, case)
    task = WorkflowTask.objects.get(application=case, status="open")
    clock(2026, 11, 23, 9, 0)
    runtime.decide(
        task.assignee,
        task.pk,
        runtime.Decision(
            "return_supplement",
            "审计报告页数不全",
            supplement_items=({"key": "audit_report", "comment": "缺第 3 页，请补全"},),
        ),
    )
    text = flat(issued(case, K.SUPPLEMENT))
    assert f"补字〔2026〕{case.number}-1号" in text  # the first notice of this case
    assert "经审核，需要补正以下 1 项内容" in text and "缺第 3 页，请补全" in text
    assert "原审核环节继续审核" in text


def test_the_refusal_states_the_reason_and_the_right_to_appeal(clock, people, case):
    clock(2026, 11, 20, 10, 30)
    intake.refuse(
        people["clerk"], case, "申报主体注册地不在本省，不属于本政策支持范围", expected_revision=0
    )
    text = flat(issued(case, K.REFUSAL))
    for expected in (
        "不予受理决定书",
        f"不受字〔2026〕{case.number}号",
        "决定不予受理",
        "申报主体注册地不在本省，不属于本政策支持范围",
        APPEAL,
        "2026年11月20日",
    ):
        assert expected in text, expected


def test_the_decision_gives_the_full_status_url_and_the_reason_for_a_lowered_amount(
    clock, people, case
):
    clock(2026, 11, 20, 10, 30)
    accept(people, case)
    task = WorkflowTask.objects.get(application=case, status="open")
    clock(2026, 11, 24, 15, 0)
    runtime.decide(
        task.assignee,
        task.pk,
        runtime.Decision(
            "approve",
            "同意",
            approved_amount="250000.00",
            amount_reason="部分研发费用属于委托境外研发，不予计入",
        ),
    )
    data = issued(case, K.DECISION)
    text = flat(data)
    for expected in (
        "审核结果告知书",
        "审核通过",
        "核定金额 250,000.00 元（大写：贰拾伍万元整）",
        "核减 70,000.00 元",
        "部分研发费用属于委托境外研发，不予计入",
        f"{SITE}/status/?number={case.number}",
    ):
        assert expected in text, expected
    assert "查询地址：/status/" not in text


def test_without_a_configured_site_the_request_gives_the_host(settings, clock, people, case, login):
    settings.POLICYWINDOW_SITE_URL = ""
    clock(2026, 11, 20, 10, 30)
    accept(people, case)
    assert services.issue_missing() == 0  # the sweep has no address to print
    case.refresh_from_db()
    with pytest.raises(DomainError, match="POLICYWINDOW_SITE_URL"):
        services.issue(case, K.ACCEPTANCE)
    response = login(people["agent"]).get(reverse("space:issue", args=[case.pk, K.ACCEPTANCE]))
    text = flat(b"".join(response.streaming_content))
    assert f"http://testserver/status/?number={case.number}" in text


def test_every_notice_is_drawn_in_the_embedded_cjk_font_and_renders(
    clock, people, department, make_user, tmp_path
):
    """One page each, every font embedded and the Chinese in the shipped Noto Sans SC (npm,
    core/pdf_render.py; no blank boxes)."""
    clock(2026, 11, 20, 10, 30)
    version = make_version(department, title="研发费用后补助（版式）")

    def filed() -> Application:
        return make_case(version, people["enterprise"], people["clerk"])

    accepted = accept(people, filed())
    fix = filed()
    intake.request_supplement(
        people["clerk"], fix, [{"key": "audit_report", "comment": "请补充"}], expected_revision=0
    )
    refused = filed()
    intake.refuse(people["clerk"], refused, "不符合申报条件", expected_revision=0)
    for case, kind in ((accepted, K.ACCEPTANCE), (fix, K.SUPPLEMENT), (refused, K.REFUSAL)):
        data = issued(case, kind)
        fonts = fonts_of(data)
        assert fonts and all("Noto-Sans-SC" in font for font in fonts), (kind, fonts)
        assert len(PdfReader(io.BytesIO(data)).pages) == 1, kind
        source = tmp_path / f"{kind}.pdf"
        source.write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(source), str(tmp_path / kind)], check=True
        )
        [png] = tmp_path.glob(f"{kind}*.png")
        assert png.stat().st_size > 10_000, kind


# ---------------------------------------------------------------- pages


def test_the_enterprise_downloads_its_notices_from_the_case_page(clock, people, case, login):
    clock(2026, 11, 20, 10, 30)
    accept(people, case)
    client = login(people["agent"])
    page = client.get(reverse("applications:my_detail", args=[case.pk])).content.decode()
    url = reverse("space:issue", args=[case.pk, K.ACCEPTANCE])
    assert 'data-testid="case-documents"' in page and url in page and "受理通知书" in page
    data = b"".join(client.get(url).streaming_content)
    assert "受理通知书" in flat(data)
    stored = SpaceDocument.objects.get(application=case, kind=K.ACCEPTANCE)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    page = client.get(reverse("applications:my_detail", args=[case.pk])).content.decode()
    assert reverse("space:document", args=[stored.pk]) in page  # issued: the stored file now


def test_the_clerk_prints_the_same_file_from_the_intake_page(clock, people, case, login):
    clock(2026, 11, 20, 10, 30)
    clerk = login(people["clerk"])
    response = clerk.post(
        reverse("applications:intake_refuse", args=[case.pk]),
        {"revision": 0, "reason": "申报年度与政策执行期不符"},
    )
    assert response["Location"] == reverse("applications:intake_case", args=[case.pk])
    page = clerk.get(response["Location"]).content.decode()
    url = reverse("applications:intake_document", args=[case.pk, K.REFUSAL])
    assert url in page and "不予受理决定书" in page
    printed = clerk.get(url)
    assert printed["Content-Type"] == "application/pdf"
    assert printed["Content-Disposition"].startswith("inline")
    data = b"".join(printed.streaming_content)
    assert "申报年度与政策执行期不符" in flat(data)
    downloaded = login(people["agent"]).get(reverse("space:issue", args=[case.pk, K.REFUSAL]))
    assert b"".join(downloaded.streaming_content) == data  # one document, issued once
    assert SpaceDocument.objects.filter(application=case).count() == 1


def test_a_notice_not_earned_cannot_be_printed(people, case, login):
    clerk = login(people["clerk"])
    for kind in (K.ACCEPTANCE, K.REFUSAL, K.DECISION, K.SUPPLEMENT, "nonsense"):
        url = reverse("applications:intake_document", args=[case.pk, kind])
        assert clerk.get(url).status_code == 404, kind
    assert not SpaceDocument.objects.exists()


def test_the_supplement_rule_reads_the_same_as_predicate_and_query(clock, people, case):
    clock(2026, 11, 20, 10, 30)
    assert K.SUPPLEMENT not in {due.kind for due in documents.due_documents(case)}
    intake.request_supplement(
        people["clerk"], case, [{"key": "rd_spend", "comment": "请核对"}], expected_revision=0
    )
    case.refresh_from_db()
    assert K.SUPPLEMENT in {due.kind for due in documents.due_documents(case)}
    rule = documents.RULE_OF[K.SUPPLEMENT]
    annotated = documents.with_bases(Application.objects.filter(pk=case.pk)).get()
    assert documents.with_bases(Application.objects.all()).filter(rule.when, pk=case.pk).exists()
    assert annotated.last_notice_at == rule.basis(case)
    assert annotated.last_notice_at == shanghai(2026, 11, 20, 10, 30)

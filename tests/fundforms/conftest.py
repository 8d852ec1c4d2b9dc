"""Cases taken through the real review (two departments in parallel, then a leader) and left
公示通过, ready for a fund approval form; the signing key lives in a scratch directory."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.applications.services import intake
from policywindow.fundforms import services
from policywindow.workflow.models import WorkflowTask
from policywindow.workflow.services import runtime
from policywindow.workflow.services.runtime import Decision
from tests.applications.test_intake_factories import (
    all_complete,
    make_case,
    make_enterprise,
    make_member,
    make_version,
)
from tests.workflow.factories import level, node, publish, users


@pytest.fixture(scope="session")
def signing_dir(tmp_path_factory):
    # One key per test session: an RSA-3072 key takes a moment to make.
    return tmp_path_factory.mktemp("signing-keys")


@pytest.fixture(autouse=True)
def _signing_key_in_scratch(settings, signing_dir):
    settings.POLICYWINDOW_SIGNING_DIR = signing_dir
    settings.POLICYWINDOW_SIGNING_PKCS12 = ""
    settings.POLICYWINDOW_SIGNING_TRUSTED_CERTS = []


@pytest.fixture
def people(make_department, make_user):
    tech, finance = make_department("省科学技术厅"), make_department("省财政厅")
    return {
        "tech": tech,
        "finance": finance,
        "a": make_user("fa_rev", "reviewer", dept=tech, real_name="李明远"),
        "b": make_user("fb_rev", "reviewer", dept=finance, real_name="王晓燕"),
        "c": make_user("fc_lead", "dept_leader", dept=tech, real_name="赵志刚"),
        "clerk": make_user("f_clerk", "window_clerk"),
        "admin": make_user("f_admin", "policy_admin", real_name="孙政策"),
        "finance_officer": make_user("f_fin", "finance_officer", real_name="周财务"),
    }


def _open(user) -> WorkflowTask:
    return WorkflowTask.objects.get(assignee=user, status="open")


def decide(user, action: str = "approve", opinion: str = "同意", **fields) -> WorkflowTask:
    return runtime.decide(user, _open(user).pk, Decision(action, opinion, **fields))


@pytest.fixture
def make_approved(people, make_user):
    """A case reviewed by 科技厅 ∥ 财政厅 then the leader, approved and 公示通过."""

    def make(
        name: str = "沈阳新松测试机器人自动化股份有限公司",
        *,
        requested: str = "320000.00",
        lowered_to: str | None = "300000.00",
    ) -> Application:
        version = make_version(people["tech"], title="研发费用后补助（演示）")
        publish(
            version.rule,
            level(
                node("tech", "科技厅审核", users(people["a"])),
                node("finance", "财政厅审核", users(people["b"])),
            ),
            level(node("leader", "分管领导审批", users(people["c"]))),
        )
        enterprise = make_enterprise(name)
        enterprise.bank_name = "中国工商银行沈阳浑南支行"
        enterprise.bank_account = "6222020200112233445"
        enterprise.legal_representative = "曲道奎"
        enterprise.save()
        applicant = make_user(None, "enterprise", kind="enterprise")
        make_member(applicant, enterprise)
        case = make_case(version, enterprise, applicant)
        case.requested_amount = Decimal(requested)
        case.save(update_fields=["requested_amount"])
        intake.accept(people["clerk"], case, all_complete(case), expected_revision=case.revision)
        cut = (
            {
                "approved_amount": lowered_to,
                "amount_reason": "部分设备购置费不属于研发费用归集范围，予以核减",
            }
            if lowered_to
            else {}
        )
        decide(people["a"], opinion="经审核，研发费用专项审计报告真实有效，同意。", **cut)
        decide(people["b"], opinion="资金来源已落实，同意。")
        decide(people["c"], opinion="同意拨付。")
        case.refresh_from_db()
        assert case.status == S.APPROVED
        Application.objects.filter(pk=case.pk).update(status=S.PUBLICITY_PASSED)
        case.refresh_from_db()
        return case

    return make


@pytest.fixture
def approved(make_approved):
    return make_approved()


@pytest.fixture
def issued(people, approved):
    """One batch of one form, issued by the policy administrator, its files made (as the
    background task does after the commit)."""
    batch = services.issue_batch(people["admin"], [approved.pk], label="2026年第一批")
    services.produce_files(batch)
    return batch.forms.get()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)

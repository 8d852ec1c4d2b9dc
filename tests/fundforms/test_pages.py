"""The pages: eligible cases with checkboxes, issuing a batch, downloads through permission
checks, a form's page with its verdict, the verification page; menus per role."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from policywindow.applications.models import Application
from policywindow.applications.models import ApplicationStatus as S
from policywindow.fundforms import services
from policywindow.fundforms.models import FormBatch, FundForm
from policywindow.system.models import Role

from .conftest import pdf_text

pytestmark = pytest.mark.django_db


def _content(response) -> bytes:
    return response.getvalue()  # streamed (a stored file) or not (made for the request)


def test_the_list_shows_cases_past_publicity_with_checkboxes(people, make_approved, login):
    ready = make_approved("甲测试科技有限公司")
    waiting = make_approved("乙测试科技有限公司")
    Application.objects.filter(pk=waiting.pk).update(status=S.IN_PUBLICITY)
    page = login(people["admin"]).get(reverse("fundforms:case_list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "甲测试科技有限公司" in html and "乙测试科技有限公司" not in html
    assert f'name="applications" value="{ready.pk}"' in html
    assert "出具审批表并生成汇总表" in html and "300,000.00 元" in html


def test_finance_sees_the_list_without_the_issue_button(people, approved, login):
    html = login(people["finance_officer"]).get(reverse("fundforms:case_list")).content.decode()
    assert approved.number in html
    assert 'name="applications"' not in html and "出具审批表并生成汇总表" not in html


def test_issuing_from_the_page_leads_to_the_batch_with_its_downloads(people, make_approved, login):
    cases = [make_approved("甲测试科技有限公司"), make_approved("乙测试科技有限公司")]
    client = login(people["admin"])
    response = client.post(
        reverse("fundforms:batch_create"),
        {"applications": [str(c.pk) for c in cases], "label": "2026年第一批"},
        follow=True,
    )
    batch = FormBatch.objects.get()
    assert response.redirect_chain[-1][0] == reverse("fundforms:batch_detail", args=[batch.pk])
    html = response.content.decode()
    assert "已出具经费审批表 2 份" in html and batch.number in html
    assert "600,000.00 元" in html and "陆拾万元整" in html
    pdf = client.get(reverse("fundforms:batch_pdf", args=[batch.pk]))
    assert pdf["Content-Type"] == "application/pdf" and "attachment" in pdf["Content-Disposition"]
    assert "政策兑现经费审批汇总表" in pdf_text(_content(pdf))
    xlsx = client.get(reverse("fundforms:batch_xlsx", args=[batch.pk]))
    sheet = load_workbook(io.BytesIO(_content(xlsx))).active
    assert sheet.max_row == 6  # title, header line, column names, two forms, total
    listing = client.get(reverse("fundforms:case_list"), {"issued": "issued"}).content.decode()
    assert all(form.number in listing for form in batch.forms.all())
    assert "甲测试科技有限公司" not in client.get(reverse("fundforms:case_list")).content.decode()


def test_a_refused_issue_is_explained_on_the_list(people, issued, login):
    response = login(people["admin"]).post(
        reverse("fundforms:batch_create"), {"applications": [issued.application_id]}, follow=True
    )
    assert "不能出具经费审批表" in response.content.decode()
    assert FundForm.objects.count() == 1


def test_finance_cannot_issue(people, approved, login):
    response = login(people["finance_officer"]).post(
        reverse("fundforms:batch_create"), {"applications": [approved.pk]}
    )
    assert response.status_code == 403 and not FundForm.objects.exists()


def test_the_form_page_shows_the_frozen_content_and_the_verdict(people, issued, login):
    client = login(people["finance_officer"])
    html = client.get(reverse("fundforms:form_detail", args=[issued.pk])).content.decode()
    assert issued.number in html and "沈阳新松测试机器人自动化股份有限公司" in html
    assert "验证通过" in html and 'data-valid="1"' in html and 'data-matches="1"' in html
    assert "**** **** **** 3445" in html and "6222020200112233445" not in html  # masked on screen
    inline = client.get(reverse("fundforms:form_pdf", args=[issued.pk]), {"inline": "1"})
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["X-Frame-Options"] == "SAMEORIGIN"  # the page previews it in a frame
    assert _content(inline) == services.form_file(issued)


def test_the_verify_page_judges_an_uploaded_file(people, issued, login):
    client = login(people["finance_officer"])
    good = SimpleUploadedFile("审批表.pdf", services.form_file(issued), "application/pdf")
    html = client.post(reverse("fundforms:verify"), {"file": good}).content.decode()
    assert "验证通过" in html and issued.number in html
    assert reverse("fundforms:form_detail", args=[issued.pk]) in html
    data = bytearray(services.form_file(issued))
    data[len(data) // 3] ^= 0x01
    bad = SimpleUploadedFile("审批表.pdf", bytes(data), "application/pdf")
    html = client.post(reverse("fundforms:verify"), {"file": bad}).content.decode()
    assert 'data-valid="0"' in html
    html = client.post(reverse("fundforms:verify"), {}).content.decode()
    assert "请选择要验证的 PDF 文件" in html


def test_menus_follow_the_roles(people, login, make_user):
    def menu(user) -> str:
        return login(user).get(reverse("system:home")).content.decode()

    admin_menu = menu(people["admin"])
    assert 'data-menu="finance.forms"' in admin_menu and 'data-menu="finance.verify"' in admin_menu
    finance_menu = menu(people["finance_officer"])
    assert (
        'data-menu="finance.forms"' in finance_menu and 'data-menu="finance.verify"' in finance_menu
    )
    leader = make_user("f_leader", "bureau_leader")
    leader_menu = menu(leader)
    assert (
        'data-menu="finance.forms"' in leader_menu
        and 'data-menu="finance.verify"' not in leader_menu
    )
    assert login(leader).get(reverse("fundforms:verify")).status_code == 403
    codes = set(Role.objects.get(code="policy_admin").menus.values_list("permission", flat=True))
    assert {"finance:form:list", "finance:form:create", "finance:form:verify"} <= codes


def test_forms_and_batches_outside_the_data_scope_are_not_found(
    people, issued, login, make_user, make_department, narrowed_scope
):
    narrowed_scope("finance_officer", "dept")
    outsider = make_user("f_out", "finance_officer", dept=make_department("省商务厅"))
    client = login(outsider)
    assert (
        issued.application.number not in client.get(reverse("fundforms:case_list")).content.decode()
    )
    for name, pk in (
        ("fundforms:form_detail", issued.pk),
        ("fundforms:form_pdf", issued.pk),
        ("fundforms:batch_detail", issued.batch_id),
        ("fundforms:batch_pdf", issued.batch_id),
        ("fundforms:batch_xlsx", issued.batch_id),
    ):
        assert client.get(reverse(name, args=[pk])).status_code == 404, name
    assert issued.batch.number not in client.get(reverse("fundforms:batch_list")).content.decode()
    insider = make_user("f_in", "finance_officer", dept=people["tech"])
    assert (
        login(insider).get(reverse("fundforms:batch_detail", args=[issued.batch_id])).status_code
        == 200
    )


def test_list_pages_run_a_fixed_number_of_queries(people, make_approved, login):
    client = login(people["admin"])

    def count(url: str, params: dict | None = None) -> int:
        client.get(url, params)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url, params).status_code == 200
        return len(captured)

    def measure() -> tuple[int, int, int]:
        batch = FormBatch.objects.order_by("-id").first()
        return (
            count(reverse("fundforms:case_list"), {"issued": "all"}),
            count(reverse("fundforms:batch_list")),
            count(reverse("fundforms:batch_detail", args=[batch.pk])),
        )

    services.issue_batch(people["admin"], [make_approved("甲测试有限公司").pk])
    small = measure()
    more = [make_approved(f"测试企业{n}有限公司").pk for n in range(3)]
    services.issue_batch(people["admin"], more)
    make_approved("未出具测试有限公司")
    assert measure() == small

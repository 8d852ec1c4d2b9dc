"""Excel exports of 企业管理, 办件查询 and 操作日志 (issue 15): the page's rows under the page's
filters and data scope, described on the sheet, formula cells neutralised, bounded, audited,
and each behind its own button permission (the log's for the audit administrator only)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from policywindow.applications.models import ApplicationStatus as S
from policywindow.core import audit, exports
from policywindow.core.models import AuditEvent
from policywindow.system.models import Menu, Role
from policywindow.system.services import rbac
from tests.applications.test_intake_factories import make_case, make_enterprise, make_version

pytestmark = pytest.mark.django_db

NOTE_ROWS = 4  # title, filters, who/when/count, blank: then the header


def read(response) -> tuple[list[str], list[str], list[list]]:
    """(the lines above the table, the header, the rows) of a downloaded export."""
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == exports.XLSX
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(body)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    note = [row[0] for row in values[: NOTE_ROWS - 1]]
    return note, values[NOTE_ROWS], values[NOTE_ROWS + 1 :]


def exported_events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# ---------------------------------------------------------------- 企业管理


@pytest.fixture
def registry(make_department, make_user):
    bureau = make_department("省营商局（导出）")
    shenyang = make_department("沈阳市营商局（导出）", parent=bureau)
    dalian = make_department("大连市营商局（导出）", parent=bureau)
    return {
        "sy": make_enterprise("沈阳导出测试机械有限公司", department=shenyang),
        "dl": make_enterprise("大连导出测试软件有限公司", department=dalian),
        "formula": make_enterprise('=HYPERLINK("http://x")恶意名称有限公司', department=dalian),
        "clerk": make_user("export_clerk", "window_clerk", dept=bureau),
        "sy_clerk": make_user("export_sy", "city_window_clerk", dept=shenyang),
    }


def test_the_registry_export_has_the_pages_rows_and_filters(registry, login):
    client = login(registry["clerk"])
    list_page = client.get(reverse("enterprises:enterprise_list"), {"q": "导出测试"})
    assert 'data-testid="enterprise-export"' in list_page.content.decode()
    assert "?q=%E5%AF%BC" in list_page.content.decode()  # the button keeps the filters
    note, header, rows = read(
        client.get(reverse("enterprises:enterprise_export"), {"q": "导出测试", "size": "x"})
    )
    assert note[0] == "企业名录" and note[1] == "查询条件：关键字：导出测试"
    assert "共 2 条" in note[2]
    assert header[:3] == ["企业名称", "统一社会信用代码", "法定代表人"]
    assert sorted(r[0] for r in rows) == ["大连导出测试软件有限公司", "沈阳导出测试机械有限公司"]
    assert not {"联系电话", "银行账号", "电子邮箱"} & set(header)  # personal and payment data
    assert "6222020200112233445" not in str(rows)
    [event] = exported_events("enterprise.export")
    assert event.actor == registry["clerk"] and event.after == {
        "filters": {"关键字": "导出测试"},
        "rows": 2,
    }
    assert event.action_label == "导出企业"


def test_the_registry_export_keeps_the_data_scope_and_neutralises_formulas(registry, login):
    _, _, rows = read(login(registry["sy_clerk"]).get(reverse("enterprises:enterprise_export")))
    assert [r[0] for r in rows] == ["沈阳导出测试机械有限公司"]  # not the other city's
    _, _, rows = read(login(registry["clerk"]).get(reverse("enterprises:enterprise_export")))
    body = {r[0] for r in rows}
    assert '=HYPERLINK("http://x")恶意名称有限公司' in body  # shown as typed, a plain text


def test_too_large_an_export_is_refused_with_a_message(registry, login, monkeypatch):
    monkeypatch.setattr(exports, "MAX_ROWS", 2)
    client = login(registry["clerk"])
    response = client.get(reverse("enterprises:enterprise_export"), {"city": ""}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("enterprises:enterprise_list"))
    assert "符合条件的企业共 3 条，超过单次导出上限 2 条，请缩小查询条件后分批导出" in page
    assert exported_events("enterprise.export") == []
    assert read(client.get(reverse("enterprises:enterprise_export"), {"q": "沈阳导出"}))[2]


# ---------------------------------------------------------------- 办件查询


@pytest.fixture
def cases(make_department, make_user):
    lead = make_department("省科技厅（导出）")
    applicant = make_user("export_qiye", "enterprise", kind="enterprise")
    version = make_version(lead, title="研发费用后补助（导出）")
    enterprise = make_enterprise("沈阳办件导出有限公司")
    return {
        "review": make_case(version, enterprise, applicant, status=S.IN_REVIEW),
        "paid": make_case(version, enterprise, applicant, status=S.DISBURSED),
        "clerk": make_user("case_export_clerk", "window_clerk", dept=lead),
    }


def test_the_case_export_follows_the_status_filter(cases, login):
    client = login(cases["clerk"])
    page = client.get(reverse("applications:case_list"), {"status": S.IN_REVIEW}).content
    assert 'data-testid="case-export"' in page.decode()
    note, header, rows = read(
        client.get(reverse("applications:case_export"), {"status": S.IN_REVIEW})
    )
    assert note[0] == "办件查询结果" and note[1] == "查询条件：状态：审核中"
    assert header[0] == "申报编号" and "办结期限" in header and "时限提示" in header
    assert [r[0] for r in rows] == [cases["review"].number]
    assert rows[0][header.index("申请金额（元）")] == 320000
    assert rows[0][header.index("状态")] == "审核中"
    [event] = exported_events("application.export")
    assert event.after == {"filters": {"状态": "审核中"}, "rows": 1}


def test_the_case_export_needs_its_own_permission(cases, login):
    role = Role.objects.get(code="window_clerk")
    role.menus.remove(Menu.objects.get(key="window.cases.export"))
    client = login(cases["clerk"])
    assert client.get(reverse("applications:case_export")).status_code == 403
    page = client.get(reverse("applications:case_list")).content.decode()
    assert 'data-testid="case-export"' not in page


# ---------------------------------------------------------------- 操作日志


@pytest.fixture
def logged(sysadmin):
    audit.record("user.disable", actor=sysadmin, object_type="system.user", object_id=7,
                 object_repr="王强", message="=1+2")  # fmt: skip
    audit.record("role.grant", actor=sysadmin, object_type="system.role", object_repr="科员")
    audit.seal_pending()


def test_the_auditor_exports_the_filtered_log_in_chinese(logged, login, auditor):
    client = login(auditor)
    note, header, rows = read(
        client.get(reverse("system:operlog_export"), {"object_type": "system.user"})
    )
    assert note[1] == "查询条件：对象类型：用户"
    assert header[3:6] == ["操作", "对象类型", "对象"]
    [row] = rows
    assert row[3:6] == ["停用用户", "用户", "王强"]
    assert row[header.index("说明")] == "=1+2"  # a text, not a formula
    assert row[header.index("日志链")] == "已封存"
    [event] = exported_events("auditevent.export")
    assert event.action_label == "导出操作日志" and event.actor == auditor


def test_only_the_audit_administrator_may_export_the_log(logged, login, sysadmin, secadmin):
    for other in (sysadmin, secadmin):
        assert login(other).get(reverse("system:operlog_export")).status_code == 403
    export = Menu.objects.get(key="audit.operlog.export")
    assert rbac.permission_owners(export.permission) == {Role.AdminKind.AUDIT}
    for code in ("sys_admin", "window_clerk"):
        assert rbac.grant_problems(Role.objects.get(code=code), [export]), code
    holders = Role.objects.filter(menus=export).values_list("code", flat=True)
    assert list(holders) == ["audit_admin"]


def test_every_export_button_is_granted_to_a_builtin_role_that_can_see_its_list():
    for key, list_key in (
        ("enterprise.registry.export", "enterprise.registry"),
        ("window.cases.export", "window.cases"),
        ("audit.operlog.export", "audit.operlog"),
    ):
        button = Menu.objects.get(key=key)
        assert button.parent.key == list_key and button.kind == Menu.Kind.BUTTON
        holders = Role.objects.filter(menus=button)
        assert holders.exists(), key
        assert all(role.menus.filter(key=list_key).exists() for role in holders), key

"""企业管理 and 企业信息 pages: search, data scope, masking, forms, members, permissions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from policywindow.core.models import AuditEvent
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.system.models import User

from .conftest import BANK_ACCOUNT, enterprise_data

pytestmark = pytest.mark.django_db

CLERK_PAGES = [
    ("enterprises:enterprise_list", False),
    ("enterprises:enterprise_create", False),
    ("enterprises:enterprise_import", False),
    ("enterprises:enterprise_detail", True),
    ("enterprises:enterprise_update", True),
    ("enterprises:enterprise_members", True),
]


def url(name: str, *args) -> str:
    return reverse(name, args=args)


def form_post(data: dict) -> dict:
    """Form-encoded values as a browser would send them."""
    return {
        k: ("on" if v is True else "" if v is None else str(v))
        for k, v in data.items()
        if v is not False
    }


# ---------------------------------------------------------------- permissions both ways


@pytest.mark.parametrize(("name", "with_pk"), CLERK_PAGES)
def test_clerk_pages_admit_clerks_and_refuse_enterprise_users(
    name, with_pk, clerk, linked_user, enterprise, login
):
    args = (enterprise.pk,) if with_pk else ()
    assert login(clerk).get(url(name, *args)).status_code == 200
    assert login(linked_user).get(url(name, *args)).status_code == 403


def test_portal_pages_admit_enterprise_users_and_refuse_clerks(clerk, linked_user, login):
    for name in ("enterprises:my_enterprise", "enterprises:my_enterprise_update"):
        assert login(linked_user).get(url(name)).status_code == 200
        assert login(clerk).get(url(name)).status_code == 403


def test_bureau_leader_may_look_but_not_change(make_user, enterprise, login):
    client = login(make_user("leader", "bureau_leader"))
    assert client.get(url("enterprises:enterprise_detail", enterprise.pk)).status_code == 200
    assert client.get(url("enterprises:enterprise_update", enterprise.pk)).status_code == 403
    html = client.get(url("enterprises:enterprise_list")).content.decode()
    assert enterprise.name in html and 'data-testid="enterprise-create"' not in html


def test_anonymous_is_sent_to_sign_in(enterprise, client):
    response = client.get(url("enterprises:enterprise_list"))
    assert response.status_code == 302 and "login" in response.url


# ---------------------------------------------------------------- list and data scope


def test_list_searches_by_name_and_credit_code(clerk, login, make_enterprise):
    a = make_enterprise(name="鞍山钢联冶金设备有限公司", region="210302")
    b = make_enterprise(name="大连远洋渔业有限公司", industry="04", region="210202")
    client = login(clerk)
    html = client.get(url("enterprises:enterprise_list"), {"q": "钢联"}).content.decode()
    assert a.name in html and b.name not in html
    html = client.get(
        url("enterprises:enterprise_list"), {"q": b.credit_code[-6:].lower()}
    ).content.decode()
    assert b.name in html and a.name not in html


def test_list_filters_by_section_size_and_city(clerk, login, make_enterprise):
    factory = make_enterprise(name="沈阳甲工厂", employees=5, region="210106")  # C, micro, 沈阳
    farm = make_enterprise(name="大连乙农场", industry="01", region="210281")  # A, 大连
    client = login(clerk)

    def names(**params) -> set[str]:
        html = client.get(url("enterprises:enterprise_list"), params).content.decode()
        return {e.name for e in (factory, farm) if e.name in html}

    assert names(section="C") == {"沈阳甲工厂"}
    assert names(section="A") == {"大连乙农场"}
    assert names(size="micro") == {"沈阳甲工厂"}
    assert names(city="210200") == {"大连乙农场"}
    assert names(city="210100", section="A") == set()


def test_list_pages_with_totals(clerk, login, make_enterprise):
    for _ in range(23):
        make_enterprise()
    client = login(clerk)
    first = client.get(url("enterprises:enterprise_list")).content.decode()
    assert "共 23 条，第 1 / 2 页" in first
    second = client.get(url("enterprises:enterprise_list"), {"page": 2}).content.decode()
    assert second.count("data-credit-code=") == 3


def test_scoped_clerks_see_only_enterprises_of_their_windows(
    scoped_clerk, make_user, make_department, make_enterprise, login
):
    elsewhere = make_department("大连市营商局")
    theirs = make_enterprise(name="大连某公司", department=elsewhere)
    mine = make_enterprise(name="沈阳某公司")
    client = login(scoped_clerk)
    html = client.get(url("enterprises:enterprise_list")).content.decode()
    assert mine.name in html and theirs.name not in html
    assert client.get(url("enterprises:enterprise_detail", theirs.pk)).status_code == 404
    assert client.get(url("enterprises:enterprise_update", theirs.pk)).status_code == 404
    other_clerk = login(make_user("dl_clerk", "window_clerk", dept=elsewhere))
    assert other_clerk.get(url("enterprises:enterprise_detail", theirs.pk)).status_code == 200


# ---------------------------------------------------------------- detail, masking


def test_detail_masks_the_bank_account(clerk, enterprise, login):
    html = login(clerk).get(url("enterprises:enterprise_detail", enterprise.pk)).content.decode()
    assert BANK_ACCOUNT not in html
    assert "**** **** **** 6789" in html
    assert enterprise.credit_code in html and "小型" in html


def test_edit_form_never_sends_the_account_back(clerk, enterprise, login):
    html = login(clerk).get(url("enterprises:enterprise_update", enterprise.pk)).content.decode()
    assert BANK_ACCOUNT not in html
    assert "当前账号：**** **** **** 6789；留空表示不修改" in html


def test_unknown_size_shows_as_not_classified(clerk, make_enterprise, login):
    enterprise = make_enterprise(employees=None, revenue=None)
    html = login(clerk).get(url("enterprises:enterprise_detail", enterprise.pk)).content.decode()
    assert "未划型" in html and "未知" in html


# ---------------------------------------------------------------- create and edit


def test_create_page_registers_an_enterprise(clerk, login):
    data = enterprise_data(
        high_tech=True, high_tech_valid_until="2027-06-30", specialized="provincial"
    )
    response = login(clerk).post(url("enterprises:enterprise_create"), form_post(data))
    enterprise = Enterprise.objects.get(credit_code=data["credit_code"])
    assert response.status_code == 302
    assert response.url == url("enterprises:enterprise_detail", enterprise.pk)
    assert enterprise.high_tech and str(enterprise.high_tech_valid_until) == "2027-06-30"
    assert enterprise.bank_account == BANK_ACCOUNT


def test_create_page_shows_chinese_field_errors(clerk, enterprise, login):
    data = enterprise_data(credit_code=enterprise.credit_code, industry="47", total_assets=None)
    response = login(clerk).post(url("enterprises:enterprise_create"), form_post(data))
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<div class="invalid-feedback" data-field-error="credit_code">该统一社会信用代码已登记，不能重复登记</div>'
        in html
    )
    assert 'data-field-error="total_assets">建筑业企业划分规模须填写资产总额' in html
    assert Enterprise.objects.count() == 1


def test_create_page_reports_an_illegal_character(clerk, login):
    data = enterprise_data(credit_code="91210102MA0QKXYZ0O")
    html = login(clerk).post(url("enterprises:enterprise_create"), form_post(data)).content.decode()
    assert "第 16 位“Z”是非法字符" in html


def test_edit_page_keeps_the_account_when_left_empty(clerk, enterprise, login):
    data = {
        **enterprise_data(),
        "credit_code": enterprise.credit_code,
        "bank_account": "",
        "employees": 5,
    }
    response = login(clerk).post(
        url("enterprises:enterprise_update", enterprise.pk), form_post(data)
    )
    assert response.status_code == 302
    enterprise.refresh_from_db()
    assert enterprise.bank_account == BANK_ACCOUNT
    assert enterprise.size == Enterprise.Size.MICRO


# ---------------------------------------------------------------- members


def test_members_page_links_and_creates_and_removes(clerk, enterprise, make_user, login):
    make_user("qiye_chen", "enterprise", kind=User.Kind.ENTERPRISE)
    client = login(clerk)
    page = url("enterprises:enterprise_members", enterprise.pk)
    response = client.post(page, {"action": "link", "link-username": "qiye_chen"})
    assert response.status_code == 302
    response = client.post(
        page, {"action": "create", "new-username": "qiye_sun", "new-real_name": "孙丽"}, follow=True
    )
    assert "初始密码：" in response.content.decode()
    usernames = set(enterprise.members.values_list("user__username", flat=True))
    assert usernames == {"qiye_chen", "qiye_sun"}
    member = enterprise.members.get(user__username="qiye_chen")
    client.post(url("enterprises:enterprise_member_remove", enterprise.pk, member.pk))
    assert not EnterpriseMember.objects.filter(pk=member.pk).exists()


def test_members_page_shows_link_errors_on_the_field(clerk, enterprise, login):
    html = (
        login(clerk)
        .post(
            url("enterprises:enterprise_members", enterprise.pk),
            {"action": "link", "link-username": "clerk"},
        )
        .content.decode()
    )
    assert (
        'data-field-error="username">该用户是政府工作人员，只有企业用户才能作为企业经办人' in html
    )


def test_removing_a_member_of_another_enterprise_is_not_found(
    clerk, enterprise, linked_user, make_enterprise, login
):
    other = make_enterprise()
    member = linked_user.enterprise_membership
    response = login(clerk).post(url("enterprises:enterprise_member_remove", other.pk, member.pk))
    assert response.status_code == 404
    assert EnterpriseMember.objects.filter(pk=member.pk).exists()


def test_remove_needs_post(clerk, linked_user, enterprise, login):
    member = linked_user.enterprise_membership
    response = login(clerk).get(
        url("enterprises:enterprise_member_remove", enterprise.pk, member.pk)
    )
    assert response.status_code == 405


# ---------------------------------------------------------------- enterprise portal


def test_portal_shows_own_enterprise_masked(linked_user, enterprise, make_enterprise, login):
    other = make_enterprise(name="别家企业有限公司")
    html = login(linked_user).get(url("enterprises:my_enterprise")).content.decode()
    assert enterprise.name in html and enterprise.credit_code in html
    assert other.name not in html and other.credit_code not in html
    assert BANK_ACCOUNT not in html and "**** **** **** 6789" in html


def test_enterprise_user_can_never_reach_another_enterprise(linked_user, make_enterprise, login):
    other = make_enterprise(name="别家企业有限公司")
    client = login(linked_user)
    for name in ("enterprise_detail", "enterprise_update", "enterprise_members"):
        response = client.get(url(f"enterprises:{name}", other.pk))
        assert response.status_code == 403
        assert other.name not in response.content.decode()


def test_portal_edit_form_has_only_the_editable_fields(linked_user, login):
    html = login(linked_user).get(url("enterprises:my_enterprise_update")).content.decode()
    for field in (
        "contact_name",
        "contact_phone",
        "contact_email",
        "address",
        "bank_name",
        "bank_account",
    ):
        assert f'name="{field}"' in html
    for field in ("name", "credit_code", "revenue", "employees", "high_tech", "industry"):
        assert f'name="{field}"' not in html
    assert BANK_ACCOUNT not in html


def test_portal_post_with_other_fields_changes_only_the_editable_ones(
    linked_user, enterprise, login
):
    before = Enterprise.objects.values().get(pk=enterprise.pk)
    response = login(linked_user).post(
        url("enterprises:my_enterprise_update"),
        {
            "contact_name": "王芳",
            "contact_phone": "13912345678",
            "bank_account": "",
            # Fields the enterprise may not change, smuggled into the POST:
            "name": "篡改后的名称",
            "credit_code": "91210102MA0000000X",
            "revenue": "999999999",
            "employees": "1",
            "high_tech": "on",
            "size": "large",
            "department": "999",
        },
    )
    assert response.status_code == 302
    after = Enterprise.objects.values().get(pk=enterprise.pk)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {
        "contact_name",
        "contact_phone",
        "contact_phone_index",  # the blind index follows the (encrypted) phone
        "contact_email",
        "address",
        "bank_name",
        "updated_at",
    }
    assert after["name"] == before["name"] and after["revenue"] == Decimal("50000000.00")
    assert Enterprise.objects.get(pk=enterprise.pk).bank_account == BANK_ACCOUNT
    assert AuditEvent.objects.filter(action="enterprise.update", actor=linked_user).count() == 1


def test_portal_post_with_only_forbidden_fields_changes_nothing(linked_user, enterprise, login):
    data = {
        f: getattr(enterprise, f)
        for f in ("contact_name", "contact_phone", "contact_email", "address", "bank_name")
    }
    before = Enterprise.objects.values().get(pk=enterprise.pk)
    login(linked_user).post(
        url("enterprises:my_enterprise_update"), {**data, "name": "篡改", "employees": "1"}
    )
    after = Enterprise.objects.values().get(pk=enterprise.pk)
    assert {k for k in after if after[k] != before[k]} <= {"updated_at"}
    assert not AuditEvent.objects.filter(action="enterprise.update").exists()


def test_portal_edit_validates_in_chinese(linked_user, login):
    html = (
        login(linked_user)
        .post(
            url("enterprises:my_enterprise_update"),
            {"contact_phone": "12345", "contact_email": "bad"},
        )
        .content.decode()
    )
    assert "请输入正确的手机号码或固定电话" in html
    assert 'data-field-error="contact_email"' in html


def test_unlinked_enterprise_user_sees_how_to_get_linked(make_user, login):
    client = login(make_user("qiye_new", "enterprise", kind=User.Kind.ENTERPRISE))
    for name in ("enterprises:my_enterprise", "enterprises:my_enterprise_update"):
        html = client.get(url(name)).content.decode()
        assert "您的账号尚未关联企业" in html

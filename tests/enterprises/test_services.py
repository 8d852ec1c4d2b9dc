"""Registry writes: validation with Chinese field errors, derived size, audit with masking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from policywindow.core.errors import NotFound, PermissionDenied, ValidationFailed
from policywindow.core.models import AuditEvent
from policywindow.enterprises import services
from policywindow.enterprises.models import Enterprise, EnterpriseMember
from policywindow.enterprises.selectors import enterprise_facts, enterprise_of
from policywindow.system.models import User

from .conftest import BANK_ACCOUNT, enterprise_data, next_credit_code

pytestmark = pytest.mark.django_db


def refusal(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    return caught.value.details


def events(action: str):
    return AuditEvent.objects.filter(action=action).order_by("id")


# ---------------------------------------------------------------- create


def test_create_registers_with_the_clerks_window_and_derives_size(clerk):
    enterprise = services.create_enterprise(clerk, enterprise_data(employees=150))
    enterprise.refresh_from_db()
    assert enterprise.department == clerk.department
    assert enterprise.created_by == clerk
    # 工业: 150 employees (20..299) and 5000 万元 revenue (2000..39999) -> 小型 (both bounds needed).
    assert enterprise.size == Enterprise.Size.SMALL


def test_create_is_audited_with_the_bank_account_masked(clerk):
    enterprise = services.create_enterprise(clerk, enterprise_data())
    event = events("enterprise.create").get()
    assert event.object_id == str(enterprise.pk)
    assert event.after["bank_account"] == "**** **** **** 6789"
    assert event.after["credit_code"] == enterprise.credit_code
    assert BANK_ACCOUNT not in str(event.after)


def test_credit_code_is_normalised_and_validated(clerk):
    code = next_credit_code()
    spaced = f" {code[:6]} {code[6:].lower()} "
    assert (
        services.create_enterprise(clerk, enterprise_data(credit_code=spaced)).credit_code == code
    )
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    details = refusal(services.create_enterprise, clerk, enterprise_data(credit_code=bad))
    assert details["credit_code"][0].startswith("校验码错误：第 18 位应为")


def test_duplicate_credit_code_is_a_chinese_field_error(clerk, enterprise):
    details = refusal(
        services.create_enterprise, clerk, enterprise_data(credit_code=enterprise.credit_code)
    )
    assert details == {"credit_code": ["该统一社会信用代码已登记，不能重复登记"]}
    assert Enterprise.objects.count() == 1


def test_all_problems_are_reported_together(clerk):
    data = enterprise_data(
        credit_code="123",
        name="",
        industry="C",
        region="210000",
        contact_phone="12345",
        bank_account="abc",
        revenue=Decimal("-1"),
    )
    details = refusal(services.create_enterprise, clerk, data)
    assert details["credit_code"] == ["应为 18 位，实际为 3 位"]
    assert details["industry"] == ["“C 制造业”是门类，请选择到大类"]
    assert details["region"] == ["请选择到市或区县"]
    assert "请输入正确的手机号码或固定电话" in details["contact_phone"][0]
    assert details["bank_account"] == ["银行账号应为 8 至 32 位数字"]
    assert details["revenue"] == ["不能为负数"]
    assert "name" in details
    assert not Enterprise.objects.exists()


def test_unknown_reference_codes_are_named(clerk):
    details = refusal(
        services.create_enterprise, clerk, enterprise_data(industry="99", region="110101")
    )
    assert details["industry"] == ["行业代码“99”不存在（应为 GB/T 4754-2017 大类代码）"]
    assert details["region"] == ["行政区划代码“110101”不是辽宁省的市或区县代码"]


def test_missing_size_indicator_is_a_field_error(clerk):
    data = enterprise_data(industry="47", total_assets=None, revenue=Decimal("900000000"))
    details = refusal(services.create_enterprise, clerk, data)
    assert details == {"total_assets": ["建筑业企业划分规模须填写资产总额"]}


def test_future_establishment_date_is_refused(clerk):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    details = refusal(services.create_enterprise, clerk, enterprise_data(established_on=tomorrow))
    assert details == {"established_on": ["成立日期不能晚于今天"]}


def test_fields_outside_the_clerks_list_are_a_programming_error(clerk):
    with pytest.raises(ValueError, match="size"):
        services.create_enterprise(clerk, enterprise_data(size="large"))


# ---------------------------------------------------------------- update


def test_update_rederives_size_and_audits_before_and_after(clerk, enterprise):
    assert enterprise.size == Enterprise.Size.SMALL
    services.update_enterprise(
        clerk,
        enterprise,
        {"employees": 1200, "revenue": Decimal("500000000"), "bank_account": "6217000011112222"},
    )
    enterprise.refresh_from_db()
    assert enterprise.size == Enterprise.Size.LARGE
    event = events("enterprise.update").get()
    assert (event.before["size"], event.after["size"]) == ("small", "large")
    assert (event.before["bank_account"], event.after["bank_account"]) == (
        "**** **** **** 6789",
        "**** **** **** 2222",
    )
    assert "6217000011112222" not in str(event.after)


def test_a_new_account_with_the_same_last_digits_is_still_audited(clerk, enterprise):
    services.update_enterprise(clerk, enterprise, {"bank_account": "6228480000000006789"})
    event = events("enterprise.update").get()
    assert event.before["bank_account"] == event.after["bank_account"] == "**** **** **** 6789"
    assert event.message == "银行账号已变更"


def test_editable_fields_are_a_subset_of_the_clerks():
    assert set(services.ENTERPRISE_EDITABLE_FIELDS) < set(services.CLERK_EDITABLE_FIELDS)
    assert "size" not in services.CLERK_EDITABLE_FIELDS


def test_an_update_that_changes_nothing_writes_no_event(
    clerk, enterprise, django_capture_on_commit_callbacks
):
    stamp = Enterprise.objects.get(pk=enterprise.pk).updated_at
    with django_capture_on_commit_callbacks() as queued:
        services.update_enterprise(clerk, enterprise, {"name": enterprise.name})
        services.update_enterprise(clerk, enterprise, {})
    assert not events("enterprise.update").exists()
    assert Enterprise.objects.get(pk=enterprise.pk).updated_at == stamp, "no write at all"
    assert queued == [], "no matching run for an unchanged enterprise"


def test_update_refuses_taking_another_enterprises_code(clerk, enterprise, make_enterprise):
    other = make_enterprise()
    details = refusal(
        services.update_enterprise, clerk, other, {"credit_code": enterprise.credit_code}
    )
    assert details == {"credit_code": ["该统一社会信用代码已登记，不能重复登记"]}


def test_high_tech_end_date_is_cleared_when_not_high_tech(clerk, enterprise):
    until = dt.date(2027, 12, 31)
    services.update_enterprise(
        clerk, enterprise, {"high_tech": False, "high_tech_valid_until": until}
    )
    enterprise.refresh_from_db()
    assert enterprise.high_tech_valid_until is None


# ---------------------------------------------------------------- enterprise self-edit


def test_enterprise_user_edits_only_its_own_allowed_fields(linked_user, enterprise):
    services.update_own_enterprise(
        linked_user, {"contact_name": "王芳", "contact_phone": "13912345678"}
    )
    enterprise.refresh_from_db()
    assert (enterprise.contact_name, enterprise.contact_phone) == ("王芳", "13912345678")
    event = events("enterprise.update").get()
    assert event.actor == linked_user
    assert event.message == "企业用户修改本企业信息"


@pytest.mark.parametrize("field", ["name", "credit_code", "revenue", "high_tech", "industry"])
def test_enterprise_user_cannot_change_other_fields(linked_user, enterprise, field):
    with pytest.raises(PermissionDenied, match="企业用户不能修改"):
        services.update_own_enterprise(linked_user, {field: "x", "contact_name": "王芳"})
    enterprise.refresh_from_db()
    assert enterprise.contact_name == "李娜"


def test_unlinked_enterprise_user_is_told_so(make_user):
    user = make_user("qiye_free", "enterprise", kind=User.Kind.ENTERPRISE)
    with pytest.raises(NotFound, match="尚未关联企业"):
        services.update_own_enterprise(user, {"contact_name": "王芳"})


# ---------------------------------------------------------------- members


def test_link_an_existing_enterprise_user(clerk, enterprise, make_user):
    user = make_user("qiye_li", "enterprise", kind=User.Kind.ENTERPRISE)
    member = services.link_member(clerk, enterprise, "QIYE_LI", is_admin=True)
    assert (member.user, member.enterprise, member.is_admin) == (user, enterprise, True)
    assert enterprise_of(user) == enterprise
    assert events("enterprisemember.create").get().after["user"] == "qiye_li"


def test_link_refuses_staff_unknown_and_already_linked_users(
    clerk, enterprise, linked_user, make_enterprise
):
    other = make_enterprise()
    assert refusal(services.link_member, clerk, other, "nobody") == {
        "username": ["用户“nobody”不存在"]
    }
    assert "只有企业用户" in refusal(services.link_member, clerk, other, "clerk")["username"][0]
    assert refusal(services.link_member, clerk, other, linked_user.username) == {
        "username": ["该用户已是其他企业的经办人，一个账号只能关联一家企业"]
    }
    assert (
        "已是本企业"
        in refusal(services.link_member, clerk, enterprise, linked_user.username)["username"][0]
    )


def test_create_member_opens_an_enterprise_account_with_a_generated_password(clerk, enterprise):
    member, password = services.create_member(
        clerk, enterprise, username="qiye_wang", real_name="王强", mobile="13800001111"
    )
    user = member.user
    assert user.kind == User.Kind.ENTERPRISE
    assert user.check_password(password) and user.must_change_password
    assert list(user.roles.values_list("code", flat=True)) == ["enterprise"]
    assert enterprise_of(user) == enterprise


def test_create_member_with_a_taken_username_creates_nothing(clerk, enterprise):
    details = refusal(services.create_member, clerk, enterprise, username="clerk", real_name="重名")
    assert details == {"username": ["该用户名已被使用"]}
    assert not EnterpriseMember.objects.exists()


def test_remove_member_unlinks_and_audits(clerk, linked_user, enterprise):
    member = linked_user.enterprise_membership
    services.remove_member(clerk, member)
    assert enterprise_of(linked_user) is None
    assert User.objects.filter(pk=linked_user.pk).exists()
    assert events("enterprisemember.delete").get().before["user"] == linked_user.username


# ---------------------------------------------------------------- facts


def test_facts_carry_the_enterprise_attributes(make_enterprise):
    enterprise = make_enterprise(
        industry="39",
        region="210213",
        high_tech=True,
        specialized=Enterprise.Specialized.LITTLE_GIANT,
        established_on=dt.date(2015, 3, 18),
    )
    facts = enterprise_facts(enterprise)
    assert facts["industry"] == "39" and facts["industry_section"] == "C"
    assert (facts["region"], facts["city"]) == ("210213", "210200")
    assert facts["rd_spend"] == Decimal("3000000.00")
    assert facts["high_tech"] is True and facts["specialized"] == "little_giant"
    assert facts["size"] == "small"
    assert isinstance(facts["established_years"], int) and facts["established_years"] >= 10


def test_unknown_facts_are_none_not_zero(make_enterprise):
    enterprise = make_enterprise(
        rd_spend=None, export_value=None, employees=None, revenue=None, established_on=None
    )
    facts = enterprise_facts(enterprise)
    assert facts["rd_spend"] is None and facts["export_value"] is None
    assert facts["employees"] is None and facts["established_years"] is None
    assert facts["size"] is None
    assert enterprise.size == ""


def test_expired_high_tech_certificate_is_not_high_tech(make_enterprise):
    enterprise = make_enterprise(high_tech=True, high_tech_valid_until=dt.date(2020, 12, 31))
    assert enterprise_facts(enterprise)["high_tech"] is False


def test_established_years_counts_whole_years():
    from policywindow.enterprises.selectors import whole_years

    assert whole_years(dt.date(2020, 6, 15), dt.date(2026, 6, 14)) == 5
    assert whole_years(dt.date(2020, 6, 15), dt.date(2026, 6, 15)) == 6


def test_city_level_region_is_its_own_city(make_enterprise):
    assert enterprise_facts(make_enterprise(region="210800"))["city"] == "210800"


def test_enterprise_of_staff_or_anonymous_is_none(clerk):
    from django.contrib.auth.models import AnonymousUser

    assert enterprise_of(clerk) is None
    assert enterprise_of(AnonymousUser()) is None

"""/api/v1/enterprises: data scope, masking, idempotent create, partial update, own enterprise."""

from __future__ import annotations

import json

import pytest

from policywindow.core.models import AuditEvent
from policywindow.enterprises.models import Enterprise

from .conftest import BANK_ACCOUNT, enterprise_data

pytestmark = pytest.mark.django_db
API = "/api/v1/enterprises"


def body(data: dict) -> str:
    return json.dumps(data, default=str, ensure_ascii=False)


def post(client, data: dict, **headers):
    return client.post(API, body(data), content_type="application/json", **headers)


def patch(client, path: str, data: dict):
    return client.patch(path, body(data), content_type="application/json")


def test_list_with_search_paging_and_masking(clerk, login, make_enterprise):
    make_enterprise(name="盘锦辽河石化装备有限公司", region="211103")
    for _ in range(3):
        make_enterprise()
    client = login(clerk)
    page = client.get(API, {"page_size": 2}).json()
    assert (page["total"], page["page"], page["page_size"], len(page["items"])) == (4, 1, 2, 2)
    found = client.get(API, {"q": "辽河", "city": "211100"}).json()
    assert found["total"] == 1
    item = found["items"][0]
    assert item["region"] == {"code": "211103", "name": "盘锦市 兴隆台区"}
    assert item["bank_account"] == "**** **** **** 6789"
    assert item["revenue"] == "50000000.00" and item["registered_capital"] == "500.00"
    assert item["size"] == "small" and item["size_label"] == "小型"
    assert BANK_ACCOUNT not in json.dumps(page)


def test_list_filters_by_section_and_size(clerk, login, make_enterprise):
    make_enterprise(industry="65", employees=5)
    make_enterprise(industry="34")
    client = login(clerk)
    assert client.get(API, {"section": "I"}).json()["total"] == 1
    assert client.get(API, {"size": "micro"}).json()["total"] == 1
    assert client.get(API, {"size": "huge"}).status_code == 400


def test_list_and_detail_respect_data_scope(scoped_clerk, login, make_department, make_enterprise):
    theirs = make_enterprise(department=make_department("营口市营商局"))
    mine = make_enterprise()
    client = login(scoped_clerk)
    assert [i["id"] for i in client.get(API).json()["items"]] == [mine.pk]
    assert client.get(f"{API}/{mine.pk}").status_code == 200
    response = client.get(f"{API}/{theirs.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_detail_masks_the_account(clerk, login, enterprise):
    data = login(clerk).get(f"{API}/{enterprise.pk}").json()
    assert data["credit_code"] == enterprise.credit_code
    assert data["bank_account"] == "**** **** **** 6789"
    assert data["industry"] == {"code": "34", "name": "通用设备制造业"}
    assert data["industry_section"] == "C" and data["city"] == "210100"


def test_create_returns_201_and_is_idempotent(clerk, login):
    client = login(clerk)
    data = enterprise_data()
    first = post(client, data, HTTP_IDEMPOTENCY_KEY="ent-0001")
    again = post(client, data, HTTP_IDEMPOTENCY_KEY="ent-0001")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert first.json()["bank_account"] == "**** **** **** 6789"
    assert Enterprise.objects.count() == 1
    assert AuditEvent.objects.filter(action="enterprise.create").count() == 1


def test_create_refuses_bad_input_with_field_details(clerk, login, enterprise):
    client = login(clerk)
    response = post(client, enterprise_data(credit_code=enterprise.credit_code[:17] + "I"))
    assert response.status_code == 400
    assert response.json()["details"]["credit_code"] == [
        "第 18 位“I”是非法字符：字母 I、O、S、V、Z 不用于统一社会信用代码"
    ]
    duplicate = post(client, enterprise_data(credit_code=enterprise.credit_code))
    assert duplicate.json()["details"] == {
        "credit_code": ["该统一社会信用代码已登记，不能重复登记"]
    }
    missing = post(client, {"name": "缺字段公司"})
    assert missing.status_code == 400 and "credit_code" in missing.json()["details"]


def test_patch_changes_only_the_given_fields(clerk, login, enterprise):
    response = patch(
        login(clerk), f"{API}/{enterprise.pk}", {"employees": 1500, "revenue": "600000000"}
    )
    assert response.status_code == 200
    assert response.json()["size"] == "large"
    enterprise.refresh_from_db()
    assert enterprise.employees == 1500 and enterprise.name.startswith("沈阳星辰")
    assert enterprise.bank_account == BANK_ACCOUNT


def test_patch_can_mark_an_attribute_unknown(clerk, login, enterprise):
    response = patch(login(clerk), f"{API}/{enterprise.pk}", {"rd_spend": None})
    assert response.status_code == 200 and response.json()["rd_spend"] is None


def test_patch_outside_the_scope_is_not_found(
    scoped_clerk, login, make_department, make_enterprise
):
    theirs = make_enterprise(department=make_department("锦州市营商局"))
    assert patch(login(scoped_clerk), f"{API}/{theirs.pk}", {"name": "改名"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "改名"


def test_enterprise_user_reads_its_own_enterprise(linked_user, login, enterprise, make_enterprise):
    other = make_enterprise()
    client = login(linked_user)
    data = client.get(f"{API}/me").json()
    assert data["id"] == enterprise.pk and data["bank_account"] == "**** **** **** 6789"
    # The clerk operations are refused, so no other enterprise can be read.
    assert client.get(API).status_code == 403
    assert client.get(f"{API}/{other.pk}").status_code == 403
    assert client.get(f"{API}/{enterprise.pk}").status_code == 403


def test_enterprise_user_patches_only_allowed_fields(linked_user, login, enterprise):
    client = login(linked_user)
    response = patch(client, f"{API}/me", {"contact_name": "王芳", "name": "篡改", "revenue": "1"})
    assert response.status_code == 200
    enterprise.refresh_from_db()
    assert enterprise.contact_name == "王芳"
    assert enterprise.name == "沈阳星辰精密机械有限公司"
    assert str(enterprise.revenue) == "50000000.00"
    assert patch(client, f"{API}/{enterprise.pk}", {"name": "篡改"}).status_code == 403


def test_unlinked_enterprise_user_gets_not_found(make_user, login):
    from policywindow.system.models import User

    client = login(make_user("qiye_solo", "enterprise", kind=User.Kind.ENTERPRISE))
    response = client.get(f"{API}/me")
    assert response.status_code == 404
    assert response.json()["message"] == "您的账号尚未关联企业，请联系政务服务窗口"


def test_clerks_cannot_use_the_enterprise_self_service(clerk, login):
    assert login(clerk).get(f"{API}/me").status_code == 403


def test_operations_are_in_the_openapi_document(clerk, login):
    paths = login(clerk).get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/enterprises"])
    assert {"get", "patch"} <= set(paths["/api/v1/enterprises/{enterprise_id}"])
    assert {"get", "patch"} <= set(paths["/api/v1/enterprises/me"])

"""Bad input gives 400 or a field error, never 500 — by class, not by request.

The classes: a lone surrogate or a NUL in any text (JSON bodies, form fields, paths, query
strings); amounts that are not plain yuan with at most two decimals (NaN, Infinity, 1e400,
1E+30, 0.001, JSON numbers), refused and never rounded; integers beyond any column; two starts
of one filing at the same instant. Run also on PostgreSQL (DATABASE_URL=postgres://…), where NUL
and out-of-range integers fail in the database. The sweep of hostile values over every API body
field and the main page forms is at the end of the file.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from policywindow.api.root import api
from policywindow.api.schemas import MONEY_AS_STRING
from policywindow.applications.models import Application
from policywindow.applications.services import filing
from policywindow.core import inputs
from policywindow.core.errors import ValidationFailed
from policywindow.core.money import MAX_YUAN, MoneyError, parse_yuan, to_yuan
from policywindow.enterprises.models import Enterprise
from policywindow.enterprises.selectors import enterprise_of
from policywindow.finance.models import PublicityEntry
from policywindow.finance.services import budgets, disbursements, publicity
from policywindow.finance.statement import read_statement
from policywindow.system.models import User
from policywindow.workflow.models import WorkflowTask
from tests.applications.test_filing_factories import (
    CONTACT,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
)
from tests.finance.factories import approved, filed, make_budget
from tests.finance.factories import make_rule as make_reviewed_rule
from tests.finance.payments import workbook
from tests.waiting import join_all

from .payloads import field_errors

pytestmark = pytest.mark.django_db

ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
STAFF = {"key": "staff", "label": "研发人员数", "kind": "integer", "required": False}
ITEMS = (RD_AMOUNT, CONTACT, STAFF)
HUGE = "99999999999999999999"

# Raw JSON values no field can hold, and what the boundary says about them.
UNSTORABLE = {
    "lone high surrogate": ('"a\\ud800b"', inputs.SURROGATE_MESSAGE),
    "lone low surrogate": ('"\\udfff"', inputs.SURROGATE_MESSAGE),
    "NUL": ('"a\\u0000b"', inputs.NUL_MESSAGE),
    "NaN literal": ("NaN", inputs.NON_FINITE_MESSAGE),
    "Infinity literal": ("Infinity", inputs.NON_FINITE_MESSAGE),
    "-Infinity literal": ("-Infinity", inputs.NON_FINITE_MESSAGE),
    "number overflowing to infinity": ("1e400", inputs.NON_FINITE_MESSAGE),
    "integer beyond 64 bits": (HUGE, inputs.INT_RANGE_MESSAGE),
}
# Amounts that are not plain yuan with at most two decimals.
BAD_AMOUNTS = ["NaN", "sNaN", "Infinity", "-Infinity", "1e400", "1E+30", "0.001", "1234567.891"]


@pytest.fixture
def filer(make_user) -> User:
    user = make_user("bad_input_qiye", "enterprise", kind=User.Kind.ENTERPRISE)
    link(user, make_enterprise("沈阳坏输入测试有限公司"))
    return user


@pytest.fixture
def rule(department):
    return make_rule(department, code="RD-BAD", items=ITEMS)


@pytest.fixture
def draft(filer, rule) -> Application:
    return filing.start_application(filer, enterprise_of(filer), rule)


def send(client: Client, method: str, url: str, raw: str):
    return client.generic(method, url, raw, content_type="application/json")


def patch_answer(client: Client, draft: Application, key: str, raw: str):
    return send(
        client, "PATCH", f"/api/v1/applications/{draft.pk}", f'{{"answers": {{"{key}": {raw}}}}}'
    )


def form_body(fields: dict[str, str]) -> str:
    """Form-encoded as a browser would send it, lone surrogates as their (invalid) UTF-8."""
    return urllib.parse.urlencode(fields, encoding="utf-8", errors="surrogatepass")


def post_form(client: Client, url: str, fields: dict[str, str]):
    return client.generic(
        "POST", url, form_body(fields), content_type="application/x-www-form-urlencoded"
    )


# ---------------------------------------------------------------- money: one parser


@pytest.mark.parametrize(
    ("value", "code"),
    [
        *[(text, "invalid") for text in ("NaN", "sNaN", "Infinity", "-Infinity", "1e400")],
        *[(text, "invalid") for text in ("1E+30", "1e3", "0x10", "1_000", "１２", "12.", ".5", "")],
        ("0.001", "max_decimal_places"),
        ("1234567.891", "max_decimal_places"),
        ("1.000", "max_decimal_places"),
        (Decimal("0.001"), "max_decimal_places"),
        (Decimal("NaN"), "invalid"),
        (0.1, "invalid"),
        (True, "invalid"),
        ("100000000000000.00", "max_digits"),
    ],
)
def test_money_that_is_not_plain_two_decimal_yuan_is_refused_never_rounded(value, code):
    with pytest.raises(MoneyError) as refused:
        parse_yuan(value, "核定金额")
    assert refused.value.code == code
    assert str(refused.value).startswith("核定金额")


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        ("0", "0.00"),
        (" 12.5 ", "12.50"),
        ("-3.1", "-3.10"),
        (7, "7.00"),
        (Decimal("1234567.89"), "1234567.89"),
        (str(MAX_YUAN), str(MAX_YUAN)),
    ],
)
def test_plain_yuan_is_taken_exactly(value, amount):
    assert parse_yuan(value) == Decimal(amount)


def test_computed_figures_still_round_but_never_to_nan():
    assert to_yuan("2.345") == Decimal("2.35")
    with pytest.raises(ValueError, match="不是有效的金额"):
        to_yuan("NaN")


# ---------------------------------------------------------------- the JSON boundary


@pytest.mark.parametrize(("raw", "message"), UNSTORABLE.values(), ids=UNSTORABLE)
def test_unstorable_json_is_a_400_naming_the_field_and_the_draft_still_opens(
    login, filer, draft, raw, message
):
    client = login(filer)
    refused = patch_answer(client, draft, "contact", raw)
    assert refused.status_code == 400
    assert refused.json() == {
        "code": "validation_error",
        "message": inputs.INVALID_INPUT_MESSAGE,
        "details": {"answers.contact": [message]},
    }
    opened = client.get(f"/api/v1/applications/{draft.pk}")
    assert opened.status_code == 200
    assert opened.json()["answers"] == {"contact": "李四"}


def test_every_offending_field_and_key_is_named_at_any_depth(login, filer, draft):
    raw = (
        '{"answers": {"contact": "\\u0000", "a\\ud800": 1, "rd_amount": NaN}, "x": [1, "\\udc00"]}'
    )
    refused = send(login(filer), "PATCH", f"/api/v1/applications/{draft.pk}", raw)
    assert refused.status_code == 400
    assert refused.json()["details"] == {
        "answers.contact": [inputs.NUL_MESSAGE],
        "answers.a\\ud800": [inputs.SURROGATE_MESSAGE],
        "answers.rd_amount": [inputs.NON_FINITE_MESSAGE],
        "x.1": [inputs.SURROGATE_MESSAGE],
    }


def test_a_json_body_is_checked_whatever_content_type_it_claims(login, filer, draft):
    refused = login(filer).generic(
        "PATCH",
        f"/api/v1/applications/{draft.pk}",
        '{"answers": {"contact": "a\\ud800"}}',
        content_type="text/plain",
    )
    assert refused.status_code == 400
    assert refused.json()["details"] == {"answers.contact": [inputs.SURROGATE_MESSAGE]}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/applications/ab%00c",
        "/api/v1/rules/RD%00BAD",
        "/api/v1/enterprises/1%00",
        "/portal/apply/rules/RD%00BAD/start/",
        "/policies/%00/",
        "/applications/1%00/receipt/",
    ],
)
def test_nul_in_a_path_segment_is_a_400(login, filer, url):
    response = login(filer).get(url)
    assert response.status_code == 400
    assert "请求地址含有空字符" in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/api/v1/enterprises?q=%00", "/enterprises/?q=a%00b", "/api/v1/applications?status=%00"]
)
def test_nul_in_a_query_parameter_is_a_400(login, make_user, url):
    response = login(make_user("bad_query_clerk", "window_clerk")).get(url)
    assert response.status_code == 400
    assert "查询参数含有空字符" in response.content.decode()


# ---------------------------------------------------------------- forms on pages


def test_nul_in_a_page_form_field_is_an_error_on_that_field(login, filer, draft):
    url = reverse("applications:apply_form", args=[draft.pk])
    page = post_form(login(filer), url, {"contact": "李\x00四", "rd_amount": "", "action": "save"})
    assert page.status_code == 200
    assert set(field_errors(page.content.decode(), "contact")) == {f"联系人{inputs.NUL_MESSAGE}"}
    draft.refresh_from_db()
    assert draft.answers == {"contact": "李四"}


def test_an_invalid_utf8_surrogate_in_a_form_is_never_stored(login, filer, draft):
    """Django reads a form-encoded %ED%A0%80 as replacement characters: stored, never a 500."""
    url = reverse("applications:apply_form", args=[draft.pk])
    page = post_form(login(filer), url, {"contact": "李\ud800四", "action": "save"})
    assert page.status_code == 302
    draft.refresh_from_db()
    assert inputs.text_problem(draft.answers["contact"]) is None


def test_nul_a_view_reads_without_a_form_is_a_400_not_a_500(login, make_user, filer, rule):
    """The safety net for a value a view passes straight to a query (here a rule code)."""
    clerk = login(make_user("bad_counter_clerk", "window_clerk"))
    fields = {"rule": "RD\x00BAD", "enterprise": str(enterprise_of(filer).pk)}
    response = post_form(clerk, reverse("applications:counter_start"), fields)
    assert response.status_code == (400 if ON_POSTGRES else 404)


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_amount_in_the_one_form_is_a_field_error(login, filer, draft, amount):
    refused = patch_answer(login(filer), draft, "rd_amount", json.dumps(amount))
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["rd_amount"]
    page = post_form(
        login(filer),
        reverse("applications:apply_form", args=[draft.pk]),
        {"rd_amount": amount, "action": "save"},
    )
    assert page.status_code == 200
    assert field_errors(page.content.decode(), "rd_amount")
    draft.refresh_from_db()
    assert "rd_amount" not in draft.answers


@pytest.mark.parametrize("raw", ["1234.5", "4100000", "0.1"])
def test_json_numbers_for_money_are_refused_naming_the_field(login, filer, draft, raw):
    refused = patch_answer(login(filer), draft, "rd_amount", raw)
    assert refused.status_code == 400
    assert refused.json()["details"] == {"rd_amount": [f"研发费用专项审计金额：{MONEY_AS_STRING}"]}


@pytest.fixture
def decision(people, login):
    """A case waiting for its reviewer, with the reviewer's client."""
    case = filed(people, make_reviewed_rule(people), "320000.00")
    task = WorkflowTask.objects.get(application=case, assignee=people.reviewer, status="open")
    return SimpleNamespace(case=case, task=task, client=login(people.reviewer))


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_a_bad_approved_amount_is_a_field_error_and_nothing_is_decided(decision, amount):
    url = f"/api/v1/tasks/{decision.task.pk}/decision"
    body = {"action": "approve", "opinion": "同意", "approved_amount": amount}
    refused = send(decision.client, "POST", url, json.dumps(body))
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["approved_amount"]
    page = post_form(
        decision.client,
        reverse("applications:review_decide", args=[decision.task.pk]),
        {"action": "approve", "opinion": "同意", "approved_amount": amount},
    )
    assert page.status_code in (200, 400)
    assert field_errors(page.content.decode(), "approved_amount")
    decision.task.refresh_from_db()
    assert (decision.task.status, decision.task.approved_amount) == ("open", None)


@pytest.mark.parametrize("raw", ["0.001", "320000", "1e400"])
def test_an_approved_amount_as_a_json_number_is_refused(decision, raw):
    url = f"/api/v1/tasks/{decision.task.pk}/decision"
    refused = send(
        decision.client,
        "POST",
        url,
        f'{{"action": "approve", "opinion": "同意", "approved_amount": {raw}}}',
    )
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["approved_amount"]


def test_the_openapi_document_describes_money_as_a_decimal_string():
    components = api.get_openapi_schema(path_prefix="/api/v1/")["components"]["schemas"]
    amount = components["DecisionIn"]["properties"]["approved_amount"]["anyOf"][0]
    assert amount["type"] == "string" and re.fullmatch(amount["pattern"], "300000.00")
    assert not re.fullmatch(amount["pattern"], "0.001")


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_budgets_and_payments_refuse_bad_amounts_naming_the_field(people, amount):
    rule = make_reviewed_rule(people).rule
    with pytest.raises(ValidationFailed) as refused:
        budgets.create_budget(people.admin, rule, 2026, amount)
    assert list(refused.value.details) == ["total"]
    with pytest.raises(ValidationFailed) as refused:
        disbursements.record(people.finance, 0, disbursements.Payment(amount, None, "GK-1"))
    assert "amount" in refused.value.details


@pytest.mark.parametrize("cell", ["1234567.891", 1234567.891, "NaN", "Infinity", "1E+30", 0.001])
def test_a_statement_row_with_a_bad_amount_is_a_row_problem(cell):
    rows = [
        ("F-1", "", "", 300000, "2026-11-20", "GK-1"),
        ("F-2", "", "", cell, "2026-11-20", "GK-2"),
    ]
    with pytest.raises(ValidationFailed) as refused:
        read_statement(workbook(rows))
    [message] = refused.value.details["file"]
    assert "文件有 1 处错误" in message and "第 4 行：金额" in message


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_enterprise_money_is_refused_on_the_page_and_in_the_api(login, make_user, amount):
    clerk = login(make_user("bad_ent_clerk", "window_clerk"))
    enterprise = make_enterprise("鞍山金额测试有限公司")
    refused = send(
        clerk, "PATCH", f"/api/v1/enterprises/{enterprise.pk}", json.dumps({"revenue": amount})
    )
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["revenue"]
    edit = reverse("enterprises:enterprise_update", args=[enterprise.pk])
    page = post_form(clerk, edit, {"revenue": amount})
    assert field_errors(page.content.decode(), "revenue")
    assert Enterprise.objects.get(pk=enterprise.pk).revenue == Decimal("50000000.00")


def test_the_public_calculator_refuses_a_bad_amount_on_the_field(calculator_rule, client):
    page = client.get("/policies/calculator/", {"calculate": "1", "rd_spend": "NaN"})
    assert page.status_code == 200
    assert field_errors(page.content.decode(), "rd_spend")


# ---------------------------------------------------------------- integers beyond the columns


@pytest.mark.parametrize("raw", [HUGE, json.dumps(HUGE), json.dumps(str(2**63))])
def test_an_integer_beyond_range_is_a_field_error_and_the_draft_opens(login, filer, draft, raw):
    client = login(filer)
    refused = patch_answer(client, draft, "staff", raw)
    assert refused.status_code == 400
    assert set(refused.json()["details"]) <= {"staff", "answers.staff"}
    assert client.get(f"/api/v1/applications/{draft.pk}").status_code == 200
    page = client.get(reverse("applications:apply_form", args=[draft.pk]))
    assert page.status_code == 200


def test_a_draft_holding_an_out_of_range_answer_opens_showing_it_for_correction(
    login, filer, draft
):
    """Saved before the item checked its range: opening it must not fail."""
    draft.answers = {"contact": "李四", "staff": int(HUGE), "rd_amount": "1e400"}
    draft.save(update_fields=["answers"])
    client = login(filer)
    opened = client.get(f"/api/v1/applications/{draft.pk}")
    assert opened.status_code == 200
    assert opened.json()["answers"]["staff"] == int(HUGE)
    page = client.get(reverse("applications:apply_form", args=[draft.pk]))
    assert page.status_code == 200
    assert f'value="{HUGE}"' in page.content.decode()
    fixed = patch_answer(client, draft, "staff", "12")
    assert fixed.status_code == 200 and fixed.json()["answers"]["staff"] == 12


@pytest.mark.parametrize("employees", [2**31, 2**40, 2**63 - 1])
def test_an_employee_count_beyond_the_column_is_a_field_error(login, make_user, employees):
    clerk = login(make_user("bad_int_clerk", "window_clerk"))
    enterprise = make_enterprise("营口人数测试有限公司")
    refused = send(
        clerk, "PATCH", f"/api/v1/enterprises/{enterprise.pk}", json.dumps({"employees": employees})
    )
    assert refused.status_code == 400
    assert list(refused.json()["details"]) == ["employees"]
    edit = reverse("enterprises:enterprise_update", args=[enterprise.pk])
    page = post_form(clerk, edit, {"employees": str(employees)})
    assert field_errors(page.content.decode(), "employees")
    assert Enterprise.objects.get(pk=enterprise.pk).employees == 120


# ---------------------------------------------------------------- one draft per filing


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency needs PostgreSQL")
def test_concurrent_starts_of_one_filing_return_the_one_draft(filer, rule):
    """Page and API at the same instant, each thread on its own connection."""
    starts = 6
    barrier = threading.Barrier(starts)
    answers: list[int | str] = []

    def start(through_api: bool) -> None:
        client = Client()
        client.force_login(filer)
        try:
            barrier.wait()
            if through_api:
                response = send(client, "POST", "/api/v1/applications", '{"rule": "RD-BAD"}')
                answers.append(
                    response.json()["id"] if response.status_code == 201 else response.status_code
                )
            else:
                response = client.post(reverse("applications:apply_start", args=["RD-BAD"]))
                answers.append(int(response["Location"].rstrip("/").rsplit("/", 1)[1]))
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n % 2 == 0,)) for n in range(starts)]
    for thread in threads:
        thread.start()
    join_all(threads)
    drafts = Application.objects.filter(rule=rule, status="draft")
    assert drafts.count() == 1
    assert answers == [drafts.get().pk] * starts


def test_a_second_start_returns_the_first_draft(filer, rule, draft):
    again = filing.start_application(filer, enterprise_of(filer), rule)
    assert again.pk == draft.pk
    assert Application.objects.filter(rule=rule).count() == 1


# ---------------------------------------------------------------- the sweep: every field, any value

# Values that must be refused (the unstorable ones, by the boundary) or may be accepted; either
# way never a server error.
HOSTILE_JSON = {
    **{name: raw for name, (raw, _) in UNSTORABLE.items()},
    "NaN as text": '"NaN"',
    "sNaN as text": '"sNaN"',
    "Infinity as text": '"Infinity"',
    "exponent": '"1E+30"',
    "three decimals": '"0.001"',
    "would round": '"1234567.891"',
    "very long text": json.dumps("长" * 20_000),
    "int32 overflow": str(2**31),
    "bigint edge": str(2**63 - 1),
    "negative": "-1",
    "float": "0.1",
    "true": "true",
    "null": "null",
    "empty text": '""',
    "list": '[1, "a", null]',
    "object": '{"a": {"b": []}}',
}
HOSTILE_PARAMS = ["ab%00c", HUGE, "-1", "%ED%A0%80", "NaN", "9" * 400]


@pytest.fixture
def sweep(login, make_user, filer, draft, decision):
    """Who may call each operation, and the ids its path needs."""
    clients = {
        "enterprise": login(filer),
        "clerk": login(make_user("sweep_clerk", "window_clerk")),
        "reviewer": decision.client,
        "finance": login(make_user("sweep_finance", "finance_officer")),
        "policy": login(make_user("sweep_policy", "policy_admin")),
        "sysadmin": login(make_user("sweep_sys", "sys_admin")),
    }
    ids = {
        "application_id": draft.pk,
        "task_id": decision.task.pk,
        "enterprise_id": draft.enterprise_id,
        "token_id": 1,
        "submission_id": 1,
        "policy_id": draft.rule.policy_id,
        "code": draft.rule.code,
    }
    return SimpleNamespace(clients=clients, ids=ids)


def _openapi() -> dict:
    return api.get_openapi_schema(path_prefix="/api/v1/")


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _resolve(schema, components)
    return schema


def _example(schema: dict, components: dict):
    """A plausible valid value of a JSON schema, so one hostile field is all that is wrong."""
    schema = _resolve(schema, components)
    if "enum" in schema or "const" in schema:
        return schema.get("enum", [schema.get("const")])[0]
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return "100.00"
        return {"date": "2026-01-15", "date-time": "2026-01-15T10:00:00+08:00"}.get(
            schema.get("format"), "测试"
        )
    if kind == "object" and "properties" in schema:
        return {
            name: _example(prop, components)
            for name, prop in schema["properties"].items()
            if name in schema.get("required", [])
        }
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}.get(kind)


def _body_operations() -> list[tuple[str, str, str, dict]]:
    """(method, path, field, baseline body) for every field of every JSON body."""
    document = _openapi()
    components = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(content["application/json"]["schema"], components)
            baseline = _example(schema, components)
            found += [(method.upper(), path, field, baseline) for field in schema["properties"]]
    return found


def _url(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def send_isolated(client: Client, method: str, url: str, raw: str):
    """One request whose writes are rolled back: every value meets the same state (an approval
    made with one value would turn the next ones into conflicts)."""
    with transaction.atomic():
        response = send(client, method, url, raw)
        transaction.set_rollback(True)
    return response


def _caller(sweep, method: str, url: str, baseline: dict) -> Client:
    """The first client the operation does not refuse for who it is (else the enterprise)."""
    for client in sweep.clients.values():
        refused = send_isolated(client, method, url, json.dumps(baseline)).status_code
        if refused not in (401, 403):
            return client
    return sweep.clients["enterprise"]


def _with(baseline: dict, field: str, raw: str) -> str:
    return json.dumps({**baseline, field: "\x01"}).replace('"\\u0001"', raw)


def assert_error_body(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    return body


def test_hostile_values_in_every_api_body_field_never_fail(sweep):
    operations = _body_operations()
    assert {(m, p) for m, p, _, _ in operations} >= {
        ("PATCH", "/api/v1/applications/{application_id}"),
        ("POST", "/api/v1/tasks/{task_id}/decision"),
        ("POST", "/api/v1/disbursements"),
        ("POST", "/api/v1/enterprises"),
    }
    callers: dict[tuple[str, str], Client] = {}
    for method, path, field, baseline in operations:
        url = _url(path, sweep.ids)
        if (method, path) not in callers:
            callers[method, path] = _caller(sweep, method, url, baseline)
        for name, raw in HOSTILE_JSON.items():
            response = send_isolated(
                callers[method, path], method, url, _with(baseline, field, raw)
            )
            where = (method, path, field, name, response.status_code)
            assert response.status_code < 500, where
            if name in UNSTORABLE:
                assert response.status_code == 400, where
                assert list(assert_error_body(response)["details"]) == [field], where
            elif response.status_code >= 400:
                assert_error_body(response)


def test_hostile_answers_to_every_kind_of_item_never_fail_and_the_draft_opens(login, filer, draft):
    client = login(filer)
    for key in ("contact", "rd_amount", "staff"):
        for name, raw in HOSTILE_JSON.items():
            response = patch_answer(client, draft, key, raw)
            where = (key, name, response.status_code)
            assert response.status_code in (200, 400), where
            if response.status_code == 400:
                assert set(assert_error_body(response)["details"]) <= {key, f"answers.{key}"}, where
            assert client.get(f"/api/v1/applications/{draft.pk}").status_code == 200, where
    assert client.get(reverse("applications:apply_form", args=[draft.pk])).status_code == 200


def test_hostile_path_and_query_parameters_never_fail(sweep):
    document = _openapi()
    client = sweep.clients["clerk"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            params = operation.get("parameters", [])
            for param in (p for p in params if p["in"] in ("path", "query")):
                for value in HOSTILE_PARAMS:
                    if param["in"] == "path":
                        url = _url(path, {**sweep.ids, param["name"]: value})
                    else:
                        url = f"{_url(path, sweep.ids)}?{param['name']}={value}"
                    response = client.generic(method.upper(), url)
                    assert response.status_code < 500, (method, url, response.status_code)


# Page forms: (who, url, baseline fields). Hypothesis puts arbitrary text — NUL and lone
# surrogates included — and numbers far beyond any column into one field at a time.
hostile_text = st.one_of(
    st.sampled_from(
        ["\x00", "a\x00b", "\ud800", "NaN", "Infinity", "1e400", "0.001", HUGE, "长" * 6000]
    ),
    st.text(st.characters(exclude_categories=()), max_size=40),  # surrogates and controls too
)


@pytest.fixture
def page_forms(login, make_user, filer, draft, decision):
    enterprise = draft.enterprise
    clerk = login(make_user("form_clerk", "window_clerk"))
    return {
        "filing": (
            login(filer),
            reverse("applications:apply_form", args=[draft.pk]),
            {"contact": "李四", "rd_amount": "100.00", "staff": "3"},
        ),
        "enterprise (own)": (
            login(filer),
            reverse("enterprises:my_enterprise_update"),
            {"contact_name": "李四", "contact_phone": "024-12345678", "bank_name": "建设银行"},
        ),
        "enterprise (registry)": (
            clerk,
            reverse("enterprises:enterprise_update", args=[enterprise.pk]),
            {
                "credit_code": enterprise.credit_code,
                "name": enterprise.name,
                "legal_representative": "张三",
                "registered_capital": "500",
                "industry": enterprise.industry_id,
                "region": enterprise.region_id,
                "employees": "120",
                "revenue": "50000000",
            },
        ),
        "decision": (
            decision.client,
            reverse("applications:review_decide", args=[decision.task.pk]),
            # No action chosen: every field is still checked, and nothing is ever decided.
            {"action": "", "opinion": "请核实", "approved_amount": "", "amount_reason": ""},
        ),
        "budget": (
            login(make_user("form_policy", "policy_admin")),
            reverse("finance:budget_create"),
            {"rule": draft.rule_id, "year": "2026", "total": "1000000", "note": ""},
        ),
    }


@pytest.mark.parametrize(
    "form", ["filing", "enterprise (own)", "enterprise (registry)", "decision", "budget"]
)
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_text_in_any_page_form_field_never_fails(page_forms, form, data):
    client, url, baseline = page_forms[form]
    field = data.draw(st.sampled_from(sorted(baseline)))
    value = data.draw(hostile_text)
    response = post_form(client, url, {**baseline, field: value})
    assert response.status_code < 500, (form, field, value)
    if "\x00" in value and response.status_code in (200, 400):
        assert inputs.NUL_MESSAGE in "".join(field_errors(response.content.decode(), field))


@pytest.fixture
def objection_url(people, clock) -> str:
    """The public objection form of a case in publicity (as in tests/finance/test_objections)."""
    clock(2026, 11, 26, 10, 0)
    version = make_reviewed_rule(people, title="首次认定高新技术企业奖励")
    make_budget(version, "1000000")
    case = approved(people, version, "300000.00")
    publicity.publish(people.admin, [case.pk], "2026年第1批公示", 5)
    entry = PublicityEntry.objects.get(application=case, withdrawn_at__isnull=True)
    return reverse("finance:public_objection", args=[entry.pk])


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.sampled_from(["name", "phone", "content"]), value=hostile_text)
def test_hostile_text_in_the_objection_form_never_fails(objection_url, name, value):
    fields = {"name": "李明", "phone": "13912345678", "content": "该企业证书已被撤销，请核查。" * 2}
    response = post_form(Client(), objection_url, {**fields, name: value})
    assert response.status_code < 500, (name, value)
    if "\x00" in value and response.status_code == 200:
        assert inputs.NUL_MESSAGE in "".join(field_errors(response.content.decode(), name))


@pytest.fixture
def calculator_rule(department):
    """A published rule reading rd_spend: the calculator shows its money field."""
    return make_rule(department, code="RD-CALC", items=ITEMS)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.sampled_from(["rd_spend", "employees", "industry"]), value=hostile_text)
def test_hostile_values_in_the_public_calculator_never_fail(calculator_rule, name, value):
    query = form_body({"calculate": "1", name: value})
    response = Client().get(f"/policies/calculator/?{query}")
    assert response.status_code < 500, (name, value)

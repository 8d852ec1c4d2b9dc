"""The object-level authorization matrix: every URL and API operation with path parameters,
filled from one real world (tests/authz/world.py), tried as every user of that world.

``PAGES`` and ``OPERATIONS`` are the reviewed statement (like EXPECTED in
tests/test_access_matrix.py, which covers the permission level with fake ids). Each entry
says how to fill the path parameters from the world and who is *allowed* (2xx/3xx); everyone
else is denied, and the entry says how:

- a user listed in ``hidden`` holds the permission but the object is not theirs (another
  enterprise's case, another department's task): **404**, never 403, so ids leak nothing
  (``refusal=302`` where the page answers with a message and a redirect instead);
- any other signed-in user lacks the permission: **403**;
- anonymous: pages send to the login page (302 to ``/login/``), the API answers **401**.

The rule for requests, by the entry's ``kind``:

- ``READ``: GET only.
- ``FORM`` (GET shows a form, POST saves it): everyone GETs; denied users also POST.
- ``ACTION`` (POST only, or the API's POST/PATCH/DELETE): denied users POST.
- Denied users go first and whatever they send (GET or POST) must leave every row of the
  product's tables as it was and add no audit line but the ``access.denied`` one. Their
  POSTs carry the entry's well-formed ``body`` where one is given, so that the refusal
  cannot come from input validation.
- Allowed users' POSTs are not performed. Only for an ACTION with ``probe`` do allowed users
  send the *empty* body, which must not be refused by access control (any status but
  401/403/404/5xx: a form error, a 409 on the object's state, a redirect with a message) and
  must change nothing. Where an empty POST would act (delete, toggle, decline, kick) the
  entry says ``probe=False``; a FORM's allowed users are checked by their GET alone.

``CROSSED`` adds URLs whose parameters name objects that do not belong together (B's
material under A's case) or the other enterprise's object: a 404, nothing changed.

``test_every_url_with_parameters_has_an_entry`` and its API twin fail on a new URL or
operation without an entry.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

from policywindow.applications.models import ApplicationStatus
from policywindow.core.errors import NotFound
from policywindow.core.models import AuditEvent
from policywindow.finance.models import Disbursement
from policywindow.finance.services import disbursements, payment_imports
from policywindow.system.views.online import session_ref
from tests.api.test_operations import api_operations
from tests.applications.test_filing_factories import upload
from tests.authz.world import ANONYMOUS, EVERYONE, World, awaiting_payment
from tests.finance.payments import workbook
from tests.test_access_matrix import _site_patterns

pytestmark = pytest.mark.django_db

READ, FORM, ACTION = "read", "form", "action"
Args = Callable[[World], list[Any]]
Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    args: Args
    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()
    kind: str = READ
    probe: bool = True
    # What refuses ``hidden`` users: 404, or a redirect with a message (302) that does nothing.
    refusal: int = 404
    # A well-formed body for the denied users' POSTs, so that their refusal cannot come from
    # input validation; allowed users always send the empty body.
    body: Body | None = None
    multipart: bool = False


def entry(args: Args, allowed: str, hidden: str = "", kind: str = READ, **options: Any) -> Entry:
    """``allowed`` and ``hidden`` are space-separated user keys of the world (or ``*``: all)."""
    return Entry(args, _users(allowed), _users(hidden), kind, **options)


def _users(spec: str) -> frozenset[str]:
    keys = frozenset(EVERYONE) if spec == "*" else frozenset(spec.split())
    unknown = keys - set(EVERYONE)
    assert not unknown, f"unknown users {unknown}"
    return keys


# Who holds which permission in the world (one built-in role each, see world.USERS).
ENTERPRISES = "ent_a ent_b"
STAFF = "clerk rev_x rev_y chief_x chief_y finance sys_admin sec_admin audit_admin policy_admin bureau_leader"
SIGNED_IN = f"{ENTERPRISES} {STAFF}"
# A case (or reform task) of X: X's own staff and the province-wide leaders read it; Y's staff
# hold the same permissions but get a 404. Only the task's assignee acts on the task.
CASE_READERS = "rev_x chief_x bureau_leader"
# Who may read X's case as an application (receipt, materials, the API): everyone who acts on
# it in their data scope — the window, X's reviewers, the policy office that publishes, issues
# and archives it, finance that pays it, the bureau. Reading follows the same scope as acting.
CASE_WORKERS = "clerk rev_x chief_x finance policy_admin bureau_leader"
OTHER_DEPT = "rev_y chief_y"
NOT_ASSIGNEES = "rev_y chief_x chief_y bureau_leader"


def admin_request(w: World) -> list[Any]:
    return [w.admin_request.pk]


def policy(w: World) -> list[Any]:
    return [w.policy.pk]


def rule(w: World) -> list[Any]:
    return [w.rule.pk]


def version(w: World) -> list[Any]:
    return [w.rule.current_id]


def item(w: World) -> list[Any]:
    return [w.item.pk]


def case_a(w: World) -> list[Any]:
    return [w.case_a.pk]


def case_b(w: World) -> list[Any]:
    return [w.case_b.pk]


def task_a(w: World) -> list[Any]:
    return [w.task_a.pk]


def form_batch(w: World) -> list[Any]:
    return [w.form_batch.pk]


def fund_form(w: World) -> list[Any]:
    return [w.form.pk]


def report(w: World) -> list[Any]:
    return [w.report.pk]


def user_rev_x(w: World) -> list[Any]:
    return [w.u("rev_x").pk]


# url name -> how to fill it and who may reach it
PAGES: dict[str, Entry] = {
    # 政策库: one province-wide library kept by the policy office.
    "policies:policy_detail": entry(policy, "policy_admin"),
    "policies:policy_update": entry(policy, "policy_admin", kind=FORM),
    "policies:policy_publish": entry(policy, "policy_admin", kind=ACTION),
    "policies:policy_withdraw": entry(policy, "policy_admin", kind=ACTION),
    "policies:policy_expire": entry(policy, "policy_admin", kind=ACTION, probe=False),
    "policies:attachment_upload": entry(policy, "policy_admin", kind=ACTION),
    "policies:attachment_download": entry(lambda w: [w.attachment.pk], "policy_admin"),
    "policies:attachment_delete": entry(
        lambda w: [w.attachment.pk], "policy_admin", kind=ACTION, probe=False
    ),
    "policies:rule_detail": entry(rule, "policy_admin"),
    "policies:rule_history": entry(rule, "policy_admin"),
    "policies:rule_new_version": entry(rule, "policy_admin", kind=ACTION, probe=False),
    "policies:version_update": entry(version, "policy_admin", kind=FORM),
    "policies:version_publish": entry(version, "policy_admin", kind=ACTION),
    "policies:item_create": entry(version, "policy_admin", kind=FORM),
    "policies:item_update": entry(item, "policy_admin", kind=FORM),
    "policies:item_delete": entry(item, "policy_admin", kind=ACTION),
    "policies:item_move": entry(item, "policy_admin", kind=ACTION),
    "policies:item_template": entry(item, "policy_admin"),
    "policies:public_detail": entry(policy, "*"),
    "policies:public_attachment": entry(lambda w: [w.policy.pk, w.attachment.pk], "*"),
    "policies:public_rule": entry(lambda w: [w.rule.code], "*"),
    "policies:public_item_template": entry(lambda w: [w.rule.code, w.item.pk], "*"),
    # 企业库: kept at the window, read by the bureau's leaders.
    "enterprises:enterprise_detail": entry(lambda w: [w.enterprise_a.pk], "clerk bureau_leader"),
    "enterprises:enterprise_update": entry(lambda w: [w.enterprise_a.pk], "clerk", kind=FORM),
    "enterprises:enterprise_members": entry(lambda w: [w.enterprise_a.pk], "clerk", kind=FORM),
    "enterprises:enterprise_member_remove": entry(
        lambda w: [w.enterprise_a.pk, w.enterprise_a.members.get().pk],
        "clerk",
        kind=ACTION,
        probe=False,
    ),
    # 一表申请: an enterprise's drafts and cases are its own; B asking for A's gets a 404.
    "applications:apply_start": entry(lambda w: [w.rules["draft"].code], ENTERPRISES),
    "applications:apply_form": entry(lambda w: [w.draft_a.pk], "ent_a", "ent_b", kind=FORM),
    "applications:apply_supplement": entry(lambda w: [w.fix_a.pk], "ent_a", "ent_b", kind=FORM),
    # Receipts and materials: the enterprise, or staff who may read the case (窗口办件查询).
    "applications:apply_done": entry(case_a, f"ent_a {CASE_WORKERS}", f"ent_b {STAFF}"),
    "applications:receipt": entry(case_a, f"ent_a {CASE_WORKERS}", f"ent_b {STAFF}"),
    "applications:material_download": entry(
        lambda w: [w.material_a.pk], f"ent_a {CASE_WORKERS}", f"ent_b {STAFF}"
    ),
    "applications:item_template": entry(item, SIGNED_IN),
    "applications:counter_form": entry(lambda w: [w.counter_b.pk], "clerk", kind=FORM),
    "applications:intake_case": entry(case_b, "clerk"),
    "applications:intake_accept": entry(case_b, "clerk", kind=ACTION),
    "applications:intake_supplement": entry(case_b, "clerk", kind=ACTION),
    "applications:intake_refuse": entry(case_b, "clerk", kind=ACTION),
    # The clerk prints a case's notices (the same files the enterprise downloads).
    "applications:intake_document": entry(lambda w: [w.case_b.pk, "receipt"], "clerk"),
    "applications:case_detail": entry(case_a, "clerk policy_admin bureau_leader"),
    "applications:my_detail": entry(case_a, "ent_a", "ent_b"),
    # Each user's own inbox.
    "notifications:open": entry(lambda w: [w.note_ent_a.pk], "ent_a", SIGNED_IN),
    "notifications:mark_read": entry(
        lambda w: [w.note_ent_a.pk], "ent_a", SIGNED_IN, kind=ACTION, probe=False
    ),
    # 工作流设计: the policy office.
    "workflow:designer": entry(rule, "policy_admin", kind=FORM),
    "workflow:designer_preview": entry(rule, "policy_admin", kind=ACTION),
    "workflow:designer_publish": entry(rule, "policy_admin", kind=ACTION),
    "workflow:designer_copy": entry(rule, "policy_admin", kind=ACTION, probe=False),
    # The reform reports' own workflow: reform_admin's (reform:workflow:*), no world user's.
    "workflow:type_designer": entry(lambda w: ["reform_report"], "", kind=FORM),
    "workflow:type_designer_preview": entry(lambda w: ["reform_report"], "", kind=ACTION),
    "workflow:type_designer_publish": entry(lambda w: ["reform_report"], "", kind=ACTION),
    # 审批: the case's own approver (X) and those whose data scope holds X; Y's reviewer: 404.
    "applications:review_case": entry(lambda w: [w.review_a.pk], CASE_READERS, OTHER_DEPT),
    "applications:review_material": entry(
        lambda w: [w.review_a.pk, w.review_a.materials.first().pk],
        CASE_READERS,
        OTHER_DEPT,
    ),
    "applications:review_decide": entry(task_a, "rev_x", NOT_ASSIGNEES, kind=ACTION),
    "applications:review_transfer": entry(task_a, "rev_x", NOT_ASSIGNEES, kind=ACTION),
    "applications:review_withdraw": entry(task_a, "rev_x", NOT_ASSIGNEES, kind=ACTION),
    "applications:review_attachment": entry(
        lambda w: [w.task_attachment.pk], CASE_READERS, OTHER_DEPT
    ),
    # 财政报送: budgets, publicity and objections (the policy office; leaders read).
    "finance:budget_update": entry(lambda w: [w.budget.pk], "policy_admin", kind=FORM),
    "finance:publicity_detail": entry(lambda w: [w.publicity.pk], "policy_admin bureau_leader"),
    "finance:public_objection": entry(lambda w: [w.entry.pk], "*"),
    "finance:objection_detail": entry(
        lambda w: [w.objection.pk], "policy_admin bureau_leader chief_x", "chief_y"
    ),
    "finance:objection_decide": entry(
        lambda w: [w.objection.pk], "policy_admin chief_x", "chief_y", kind=ACTION
    ),
    "finance:submission_detail": entry(form_batch, "finance policy_admin bureau_leader"),
    "finance:submission_submit": entry(form_batch, "policy_admin", kind=ACTION),
    "finance:submission_receive": entry(form_batch, "finance", kind=ACTION),
    "finance:submission_return": entry(form_batch, "finance", kind=ACTION),
    "finance:submission_instructions_csv": entry(form_batch, "finance policy_admin"),
    "finance:submission_instructions_json": entry(form_batch, "finance policy_admin"),
    "finance:disbursement_create": entry(fund_form, "finance", kind=FORM),
    "finance:import_detail": entry(lambda w: [w.payment_import.pk], "finance"),
    "finance:import_confirm": entry(lambda w: [w.payment_import.pk], "finance", kind=ACTION),
    "finance:import_report": entry(lambda w: [w.payment_import.pk], "finance"),
    # 经费审批表 and 归档: the policy office, finance and the bureau's leaders.
    "fundforms:batch_detail": entry(form_batch, "finance policy_admin bureau_leader"),
    "fundforms:batch_progress": entry(form_batch, "finance policy_admin bureau_leader"),
    "fundforms:batch_pdf": entry(form_batch, "finance policy_admin bureau_leader"),
    "fundforms:batch_xlsx": entry(form_batch, "finance policy_admin bureau_leader"),
    "fundforms:form_detail": entry(fund_form, "finance policy_admin bureau_leader"),
    "fundforms:form_pdf": entry(fund_form, "finance policy_admin bureau_leader"),
    "archives:batch_detail": entry(
        lambda w: [w.archive_batch.pk], "finance policy_admin bureau_leader"
    ),
    "archives:batch_progress": entry(
        lambda w: [w.archive_batch.pk], "finance policy_admin bureau_leader"
    ),
    "archives:download": entry(lambda w: [w.archive.pk], "finance policy_admin bureau_leader"),
    "archives:my_download": entry(lambda w: [w.archive.pk], "ent_a", "ent_b"),
    # 改革任务督办: X's own task; Y's reviewer gets a 404; the bureau reads everything.
    "reforms:item_detail": entry(lambda w: [w.reform_item.pk], "bureau_leader"),
    "reforms:task_detail": entry(lambda w: [w.reform_task.pk], CASE_READERS, OTHER_DEPT),
    "reforms:report_create": entry(
        lambda w: [w.reform_task.pk], "rev_x chief_x", OTHER_DEPT, kind=FORM
    ),
    "reforms:report_detail": entry(report, CASE_READERS, OTHER_DEPT),
    "reforms:report_resubmit": entry(report, "rev_x chief_x", OTHER_DEPT, kind=FORM),
    # Reviewed by the reform supervisor (reform_admin), a role none of the world's users holds.
    "reforms:report_accept": entry(report, "", kind=ACTION),
    "reforms:report_return": entry(report, "", kind=ACTION),
    "reforms:evidence": entry(lambda w: [w.evidence.pk], CASE_READERS, OTHER_DEPT),
    # An approver's decision on a report task (审批): X's report not under review answers with
    # a message; Y's staff get a 404.
    "reforms:report_decide": entry(report, CASE_READERS, OTHER_DEPT, kind=ACTION),
    # 免申即享 and 政策匹配.
    "matching:auto_grant": entry(lambda w: [w.grant_a.pk], "ent_a", "ent_b"),
    "matching:auto_grant_decline": entry(
        lambda w: [w.grant_a.pk], "ent_a", "ent_b", kind=ACTION, probe=False
    ),
    "matching:run_detail": entry(lambda w: [w.match_run.pk], "policy_admin"),
    "matching:run_progress": entry(lambda w: [w.match_run.pk], "policy_admin"),
    # 法人空间: the enterprise's own documents and forms.
    "space:document": entry(lambda w: [w.space_doc.pk], "ent_a", "ent_b"),
    "space:issue": entry(lambda w: [w.case_a.pk, "acceptance"], "ent_a", "ent_b"),
    "space:fund_form_pdf": entry(fund_form, "ent_a", "ent_b"),
    "space:fund_form_verification": entry(fund_form, "ent_a", "ent_b"),
    # System pages: permission-level only (the three administrators see the whole system).
    # Ending another user's session from 我的会话 is refused with a message, nothing ended.
    "system:end_my_session": entry(
        lambda w: [w.session_a.session_key],
        "ent_a",
        SIGNED_IN,
        kind=ACTION,
        probe=False,
        refusal=302,
    ),
    "system:user_update": entry(user_rev_x, "sys_admin", kind=FORM),
    "system:user_roles": entry(user_rev_x, "sec_admin", kind=FORM),
    "system:user_reset_password": entry(user_rev_x, "sys_admin", kind=ACTION, probe=False),
    "system:user_toggle_active": entry(user_rev_x, "sys_admin", kind=ACTION, probe=False),
    "system:dept_update": entry(lambda w: [w.depts["X"].pk], "sys_admin", kind=FORM),
    "system:dept_toggle": entry(lambda w: [w.depts["X"].pk], "sys_admin", kind=ACTION, probe=False),
    "system:post_update": entry(lambda w: [w.post.pk], "sys_admin", kind=FORM),
    "system:post_toggle": entry(lambda w: [w.post.pk], "sys_admin", kind=ACTION, probe=False),
    "system:role_update": entry(lambda w: [w.role.pk], "sec_admin", kind=FORM),
    "system:role_grant": entry(lambda w: [w.role.pk], "sec_admin", kind=FORM),
    "system:menu_update": entry(lambda w: [w.menu.pk], "sys_admin", kind=FORM),
    "system:menu_delete": entry(lambda w: [w.menu.pk], "sys_admin", kind=ACTION, probe=False),
    "system:dict_items": entry(lambda w: [w.dict_type.pk], "sys_admin"),
    "system:dict_update": entry(lambda w: [w.dict_type.pk], "sys_admin", kind=FORM),
    "system:dict_toggle": entry(lambda w: [w.dict_type.pk], "sys_admin", kind=ACTION, probe=False),
    "system:dict_item_create": entry(lambda w: [w.dict_type.pk], "sys_admin", kind=FORM),
    "system:dict_item_update": entry(lambda w: [w.dict_item.pk], "sys_admin", kind=FORM),
    "system:dict_item_toggle": entry(
        lambda w: [w.dict_item.pk], "sys_admin", kind=ACTION, probe=False
    ),
    "system:param_update": entry(lambda w: [w.param.pk], "sys_admin", kind=FORM),
    "system:calendar_day_update": entry(lambda w: ["2026-12-01"], "sys_admin", kind=FORM),
    "system:online_kick": entry(
        lambda w: [w.u("ent_a").pk, session_ref(w.session_a.session_key)],
        "sec_admin",
        kind=ACTION,
        probe=False,
    ),
    "system:operlog_detail": entry(lambda w: [w.audit_event.pk], "audit_admin"),
    # 双人审批 (filed by sys_admin about audit_admin): only the third 三员 decides, only the
    # requester withdraws; the other two are refused with a message and nothing happens.
    "system:admin_request_approve": entry(
        admin_request, "sec_admin", "sys_admin audit_admin", kind=ACTION, probe=False, refusal=302
    ),
    "system:admin_request_reject": entry(
        admin_request, "sec_admin", "sys_admin audit_admin", kind=ACTION, probe=False, refusal=302
    ),
    "system:admin_request_cancel": entry(
        admin_request, "sys_admin", "sec_admin audit_admin", kind=ACTION, probe=False, refusal=302
    ),
}

# (method, path) -> how to fill it and who may call it
OPERATIONS: dict[tuple[str, str], Entry] = {
    ("DELETE", "/tokens/{token_id}"): entry(
        lambda w: [w.token_a.pk], "ent_a", SIGNED_IN, kind=ACTION, probe=False
    ),
    ("GET", "/policies/{policy_id}"): entry(policy, "*"),
    ("GET", "/rules/{code}"): entry(lambda w: [w.rule.code], "*"),
    ("GET", "/enterprises/{enterprise_id}"): entry(
        lambda w: [w.enterprise_a.pk], "clerk bureau_leader"
    ),
    ("PATCH", "/enterprises/{enterprise_id}"): entry(
        lambda w: [w.enterprise_a.pk], "clerk", kind=ACTION
    ),
    ("GET", "/applications/{application_id}"): entry(
        case_a, f"ent_a {CASE_WORKERS}", f"ent_b {STAFF}"
    ),
    ("PATCH", "/applications/{application_id}"): entry(
        lambda w: [w.draft_a.pk],
        "ent_a",
        "ent_b",
        kind=ACTION,
        body=lambda w: {"answers": {"rd_amount": "1.00"}},
    ),
    ("POST", "/applications/{application_id}/materials"): entry(
        lambda w: [w.draft_a.pk],
        "ent_a",
        "ent_b",
        kind=ACTION,
        body=lambda w: {"item": "license", "files": [upload()]},
        multipart=True,
    ),
    ("POST", "/applications/{application_id}/submit"): entry(
        lambda w: [w.draft_a.pk], "ent_a", "ent_b", kind=ACTION
    ),
    ("POST", "/applications/{application_id}/accept"): entry(case_b, "clerk", kind=ACTION),
    ("POST", "/applications/{application_id}/supplement"): entry(case_b, "clerk", kind=ACTION),
    ("POST", "/applications/{application_id}/refuse"): entry(case_b, "clerk", kind=ACTION),
    ("GET", "/applications/{application_id}/timeline"): entry(
        case_a, f"ent_a {CASE_WORKERS}", f"ent_b {STAFF}"
    ),
    ("POST", "/tasks/{task_id}/decision"): entry(
        task_a,
        "rev_x",
        NOT_ASSIGNEES,
        kind=ACTION,
        body=lambda w: {"action": "approve", "opinion": "同意"},
    ),
    ("POST", "/tasks/{task_id}/transfer"): entry(
        task_a,
        "rev_x",
        NOT_ASSIGNEES,
        kind=ACTION,
        body=lambda w: {"to_user": w.u("rev_y").pk, "reason": "转办"},
    ),
    ("POST", "/tasks/{task_id}/withdraw"): entry(task_a, "rev_x", NOT_ASSIGNEES, kind=ACTION),
    ("POST", "/finance-submissions/{submission_id}/receive"): entry(
        lambda w: [w.submission.pk], "finance", kind=ACTION
    ),
    ("POST", "/finance-submissions/{submission_id}/return"): entry(
        lambda w: [w.submission.pk], "finance", kind=ACTION
    ),
    ("GET", "/finance-submissions/{submission_id}/payment-instructions"): entry(
        lambda w: [w.submission.pk], "finance policy_admin"
    ),
    # The enterprise's 补正 resubmission (as applications:apply_supplement): B gets a 404.
    ("POST", "/applications/{application_id}/resubmission"): entry(
        lambda w: [w.fix_a.pk],
        "ent_a",
        "ent_b",
        kind=ACTION,
        body=lambda w: {"license": [upload()]},
        multipart=True,
    ),
    # 公示, 经费审批表 and 归档: as their pages.
    ("GET", "/publicity-batches/{batch_id}"): entry(
        lambda w: [w.publicity.pk], "policy_admin bureau_leader"
    ),
    ("GET", "/fund-form-batches/{batch_id}"): entry(
        form_batch, "finance policy_admin bureau_leader"
    ),
    ("GET", "/fund-form-batches/{batch_id}/pdf"): entry(
        form_batch, "finance policy_admin bureau_leader"
    ),
    ("GET", "/fund-forms/{form_id}/pdf"): entry(fund_form, "finance policy_admin bureau_leader"),
    ("GET", "/archive-batches/{batch_id}"): entry(
        lambda w: [w.archive_batch.pk], "finance policy_admin bureau_leader"
    ),
    ("GET", "/archives/{archive_id}/download"): entry(
        lambda w: [w.archive.pk], "finance policy_admin bureau_leader"
    ),
}


# Pairs and neighbours: a URL whose parameters name objects that do not belong together, the
# other enterprise's object, or what is not published yet. (url name, or API path; args; user;
# method) -> refused with a 404, nothing changed.
CROSSED: tuple[tuple[str, Args, str, str], ...] = (
    # A material of B's case asked for under A's case, by A's case's own approver.
    ("applications:review_material", lambda w: [w.review_a.pk, w.material_b.pk], "rev_x", "GET"),
    # An item of another rule under this rule's public code.
    (
        "policies:public_item_template",
        lambda w: [w.rule.code, w.rules["review"].current.items.first().pk],
        ANONYMOUS,
        "GET",
    ),
    # B's 经办人 removed through A's member page.
    (
        "enterprises:enterprise_member_remove",
        lambda w: [w.enterprise_a.pk, w.enterprise_b.members.get().pk],
        "clerk",
        "POST",
    ),
    # A asking for B's case, receipt, material and documents; A's online draft at the counter.
    ("applications:my_detail", lambda w: [w.case_b.pk], "ent_a", "GET"),
    ("applications:receipt", lambda w: [w.case_b.pk], "ent_a", "GET"),
    ("applications:material_download", lambda w: [w.material_b.pk], "ent_a", "GET"),
    ("space:issue", lambda w: [w.case_b.pk, "receipt"], "ent_a", "GET"),
    ("notifications:mark_read", lambda w: [w.note_ent_b.pk], "ent_a", "POST"),
    ("applications:counter_form", lambda w: [w.draft_a.pk], "clerk", "GET"),
    ("/applications/{application_id}", lambda w: [w.case_b.pk], "ent_a", "GET"),
    # A draft policy, its attachment, a rule never published and its item's template.
    ("policies:public_detail", lambda w: [w.draft_policy.pk], ANONYMOUS, "GET"),
    (
        "policies:public_attachment",
        lambda w: [w.draft_policy.pk, w.draft_attachment.pk],
        ANONYMOUS,
        "GET",
    ),
    ("policies:public_rule", lambda w: [w.draft_rule.code], ANONYMOUS, "GET"),
    (
        "policies:public_item_template",
        lambda w: [w.draft_rule.code, w.draft_item.pk],
        ANONYMOUS,
        "GET",
    ),
    ("applications:item_template", lambda w: [w.draft_item.pk], "ent_a", "GET"),
    ("/policies/{policy_id}", lambda w: [w.draft_policy.pk], ANONYMOUS, "GET"),
    ("/rules/{code}", lambda w: [w.draft_rule.code], ANONYMOUS, "GET"),
)


# --------------------------------------------------------------------------- completeness


def test_every_url_with_parameters_has_an_entry():
    names = {name for name, route, _ in _site_patterns() if "<" in route}
    missing = sorted(names - PAGES.keys())
    assert missing == [], (
        f"add {missing} to PAGES in tests/authz/test_object_matrix.py: how to fill the URL's "
        "parameters from the world and which users may reach it"
    )
    assert sorted(PAGES.keys() - names) == [], "PAGES names a URL that no longer exists"


def test_every_api_operation_with_path_parameters_has_an_entry():
    operations = {(method, path) for method, path, _ in api_operations() if "{" in path}
    missing = sorted(operations - OPERATIONS.keys())
    assert missing == [], (
        f"add {missing} to OPERATIONS in tests/authz/test_object_matrix.py: how to fill the "
        "operation's path parameters from the world and which users may call it"
    )
    assert sorted(OPERATIONS.keys() - operations) == [], "OPERATIONS names a gone operation"


# --------------------------------------------------------------------------- the requests

# Rows that change on every request (the user's own session), that nothing here writes, the
# audit log, where a refusal adds its own "access.denied" line (counted apart), and the rate
# counter that limits those lines per user (core/denials.py).
_VOLATILE_MODELS = {
    "system.usersession",
    "core.ratecounter",
    "core.calendarday",
    "enterprises.industry",
    "enterprises.region",
    "core.auditevent",
    "core.auditchainhead",
}
# ``last_used_at``: every bearer request stamps its token. ``updated_at``: an allowed user's
# empty PATCH of an enterprise saves the row unchanged.
_VOLATILE_FIELDS = {"last_activity", "last_login", "last_used_at", "updated_at"}


def _state() -> dict[str, Any]:
    """Every row of the product's tables (the world is small): what a refused request must
    leave as it was. Plain SQL: this runs twice per entry and the ORM would triple the time."""
    state = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in apps.get_models():
            label = model._meta.label_lower
            if not model.__module__.startswith("policywindow.") or label in _VOLATILE_MODELS:
                continue
            columns = ", ".join(
                quote(f.column)
                for f in model._meta.concrete_fields
                if f.attname not in _VOLATILE_FIELDS
            )
            table = quote(model._meta.db_table)  # identifiers from the models, quoted
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY 1")  # noqa: S608
            state[label] = cursor.fetchall()
    # A refusal logs its own "access.denied" line; any other audit line is a business write.
    state["audit lines"] = AuditEvent.objects.exclude(action="access.denied").count()
    return state


def _changes(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def _expected_refusal(spec: Entry, who: str, api: bool) -> int:
    if who == ANONYMOUS:
        return 401 if api else 302
    return spec.refusal if who in spec.hidden else 403


def _check_refusal(response, spec: Entry, who: str, api: bool, label: str) -> str | None:
    expected = _expected_refusal(spec, who, api)
    if response.status_code != expected:
        return f"{label} as {who}: expected {expected}, got {response.status_code}"
    if (
        who == ANONYMOUS
        and not api
        and not response["Location"].startswith(reverse("system:login"))
    ):
        return f"{label} as {who}: redirected to {response['Location']}, not to the login page"
    return None


def _check_admitted(response, who: str, label: str) -> str | None:
    if not 200 <= response.status_code < 400:
        return f"{label} as {who}: expected 2xx/3xx, got {response.status_code}"
    if response.status_code == 302 and response["Location"].startswith(reverse("system:login")):
        return f"{label} as {who}: sent to the login page"
    return None


def _check_probe(response, who: str, label: str) -> str | None:
    if response.status_code in (401, 403, 404):
        return f"{label} as {who}: an allowed user was refused ({response.status_code})"
    if response.status_code >= 500:
        return f"{label} as {who}: server error {response.status_code}"
    return None


def _run(
    world: World, spec: Entry, label: str, get, post, clients: dict[str, Client] | None = None
) -> list[str]:
    """Try every user on one entry; ``get``/``post`` send the request as a client.

    The denied users go first, and nothing they send may change a row; then the allowed ones
    (whose GETs may write: a document issued on first download, a message marked read)."""
    api = label.startswith("API")
    clients = clients or world.clients
    denied = [who for who in EVERYONE if who not in spec.allowed]
    allowed = [who for who in EVERYONE if who in spec.allowed]
    problems: list[str] = []
    before = _state()
    for who in denied:
        if spec.kind in (READ, FORM):
            problems.append(_check_refusal(get(clients[who]), spec, who, api, label))
        if spec.kind in (FORM, ACTION):
            response = post(clients[who], spec.body(world) if spec.body else {})
            problems.append(_check_refusal(response, spec, who, api, label))
    if changed := _changes(before, _state()):
        problems.append(f"{label}: refused requests changed {changed}")
    if spec.kind in (READ, FORM):
        problems += [_check_admitted(get(clients[who]), who, label) for who in allowed]
    if spec.kind == ACTION and spec.probe and allowed:
        before = _state()
        problems += [_check_probe(post(clients[who], {}), who, label) for who in allowed]
        if changed := _changes(before, _state()):
            problems.append(f"{label}: the allowed users' empty POSTs changed {changed}")
    return [p for p in problems if p]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page(world, name):
    spec = PAGES[name]
    url = reverse(name, args=spec.args(world))
    problems = _run(
        world, spec, f"{name} {url}", lambda c: c.get(url), lambda c, body: c.post(url, body)
    )
    assert problems == []


def _api_url(path: str, values: list[Any]) -> str:
    """``/api/v1`` + ``path`` with its ``{parameters}`` replaced, in order, by ``values``."""
    for value in values:
        path = path.replace(path[path.index("{") : path.index("}") + 1], str(value), 1)
    return "/api/v1" + path


@pytest.mark.parametrize(
    ("name", "args", "who", "method"), CROSSED, ids=[f"{c[0]} as {c[2]}" for c in CROSSED]
)
def test_crossed_parameters_are_not_found(world, name, args, who, method):
    values = args(world)
    url = _api_url(name, values) if name.startswith("/") else reverse(name, args=values)
    before = _state()
    response = world.clients[who].generic(method, url)
    assert response.status_code == 404, (name, url, who, response.status_code)
    assert _changes(before, _state()) == []


@pytest.mark.parametrize("auth", ["session", "bearer"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS), ids=" ".join)
def test_operation(world, operation, auth):
    method, path = operation
    spec = OPERATIONS[operation]
    url = _api_url(path, spec.args(world))

    def send(client: Client, body: dict[str, Any] | None = None):
        if spec.multipart and body:
            return client.post(url, body)
        return client.generic(method, url, json.dumps(body or {}), content_type="application/json")

    clients = world.clients if auth == "session" else world.bearer_clients
    problems = _run(world, spec, f"API {method} {url} ({auth})", send, send, clients)
    assert problems == []


# --------------------------------------------------------------------------- narrowed scope

# An administrator may narrow the province-wide staff roles to their own department (the
# window and the policy office sit in 省营商局, finance in 省财政厅). X's policy, case and
# everything made from them are then out of these users' data scope: each entry below, asked
# by those of its allowed users, is refused with this status (302: a message, nothing done).
NARROWED_ROLES = ("window_clerk", "finance_officer", "policy_admin", "bureau_leader")
NARROWED_USERS = frozenset({"clerk", "finance", "policy_admin", "bureau_leader"})
OUT_OF_SCOPE: dict[str, int] = {
    **dict.fromkeys(
        (
            "applications:apply_done",
            "applications:case_detail",
            "applications:intake_accept",
            "applications:intake_case",
            "applications:intake_document",
            "applications:intake_refuse",
            "applications:intake_supplement",
            "applications:material_download",
            "applications:receipt",
            "applications:review_attachment",
            "applications:review_case",
            "applications:review_material",
            "archives:batch_detail",
            "archives:batch_progress",
            "archives:download",
            "enterprises:enterprise_detail",
            "enterprises:enterprise_members",
            "enterprises:enterprise_update",
            "finance:disbursement_create",
            "finance:objection_decide",
            "finance:objection_detail",
            "finance:submission_detail",
            "finance:submission_instructions_csv",
            "finance:submission_instructions_json",
            "finance:submission_receive",
            "finance:submission_return",
            "fundforms:batch_detail",
            "fundforms:batch_pdf",
            "fundforms:batch_progress",
            "fundforms:batch_xlsx",
            "fundforms:form_detail",
            "fundforms:form_pdf",
            "policies:attachment_download",
            "policies:attachment_upload",
            "policies:item_create",
            "policies:item_delete",
            "policies:item_move",
            "policies:item_template",
            "policies:item_update",
            "policies:policy_detail",
            "policies:policy_publish",
            "policies:policy_update",
            "policies:policy_withdraw",
            "policies:rule_detail",
            "policies:rule_history",
            "policies:version_publish",
            "policies:version_update",
            "workflow:designer",
            "workflow:designer_preview",
            "workflow:designer_publish",
        ),
        404,
    ),
    "finance:submission_submit": 302,
}
OUT_OF_SCOPE_OPERATIONS = (
    ("GET", "/applications/{application_id}"),
    ("GET", "/applications/{application_id}/timeline"),
    ("GET", "/enterprises/{enterprise_id}"),
    ("PATCH", "/enterprises/{enterprise_id}"),
    ("GET", "/finance-submissions/{submission_id}/payment-instructions"),
    # As their pages (fundforms:batch_detail, batch_pdf, form_pdf; archives:batch_detail, download).
    ("GET", "/fund-form-batches/{batch_id}"),
    ("GET", "/fund-form-batches/{batch_id}/pdf"),
    ("GET", "/fund-forms/{form_id}/pdf"),
    ("GET", "/archive-batches/{batch_id}"),
    ("GET", "/archives/{archive_id}/download"),
)


@pytest.fixture
def narrowed(world, narrowed_scope) -> World:
    for code in NARROWED_ROLES:
        narrowed_scope(code, "dept")
    return world


def _narrowed_problems(spec: Entry, label: str, expected: int, get, post) -> list[str]:
    problems = []
    for who in sorted(spec.allowed & NARROWED_USERS):
        if spec.kind == ACTION and not spec.probe:
            continue
        before = _state()
        response = post(who) if spec.kind == ACTION else get(who)
        if response.status_code != expected:
            problems.append(f"{label} as {who}: expected {expected}, got {response.status_code}")
        if changed := _changes(before, _state()):
            problems.append(f"{label} as {who}: changed {changed}")
    return problems


@pytest.mark.parametrize("name", sorted(OUT_OF_SCOPE))
def test_out_of_scope_page(narrowed, name):
    spec = PAGES[name]
    url = reverse(name, args=spec.args(narrowed))
    clients = narrowed.clients
    problems = _narrowed_problems(
        spec,
        f"{name} {url}",
        OUT_OF_SCOPE[name],
        lambda who: clients[who].get(url),
        lambda who: clients[who].post(url, {}),
    )
    assert problems == []


@pytest.mark.parametrize("operation", OUT_OF_SCOPE_OPERATIONS, ids=" ".join)
def test_out_of_scope_operation(narrowed, operation):
    method, path = operation
    spec = OPERATIONS[operation]
    url = _api_url(path, spec.args(narrowed))

    def send(who: str):
        return narrowed.clients[who].generic(method, url, "{}", content_type="application/json")

    assert _narrowed_problems(spec, f"API {method} {url}", 404, send, send) == []


def test_every_entry_of_an_x_object_is_tried_out_of_scope(narrowed):
    """Entries whose allowed users include a narrowed one, and whose object belongs to X,
    must be listed above; the rest are province-wide by design (budgets, publicity notices,
    match runs, reform tasks of the bureau's locality, public pages, payment imports)."""
    province_wide = {
        "applications:counter_form",
        "applications:item_template",
        "finance:budget_update",
        "finance:import_confirm",
        "finance:import_detail",
        "finance:import_report",
        "finance:public_objection",
        "finance:publicity_detail",
        "matching:run_detail",
        "matching:run_progress",
        "policies:public_attachment",
        "policies:public_detail",
        "policies:public_item_template",
        "policies:public_rule",
        "reforms:evidence",
        "reforms:item_detail",
        "reforms:report_decide",
        "reforms:report_detail",
        "reforms:task_detail",
    }
    tried = {
        name
        for name, spec in PAGES.items()
        if spec.allowed & NARROWED_USERS and not (spec.kind == ACTION and not spec.probe)
    }
    assert sorted(tried - province_wide - OUT_OF_SCOPE.keys()) == []


def test_an_out_of_scope_case_is_not_paid_through_a_statement_import(world, narrowed_scope):
    """拨付 follows the cases' data scope: the page of one form refuses (404) a finance officer
    narrowed to 省财政厅 the case of X; the statement import must not pay it either."""
    form = awaiting_payment(world)
    narrowed_scope("finance_officer", "dept")
    payee = form.content["enterprise"]["name"]
    row = (form.number, "", payee, float(form.approved_amount), "2026-11-20", "GK-AZ-2")
    client = world.clients["finance"]
    assert client.get(reverse("finance:disbursement_create", args=[form.pk])).status_code == 404
    item = payment_imports.upload(world.u("finance"), "回单.xlsx", workbook([row]))
    client.post(reverse("finance:import_confirm", args=[item.pk]))
    form.application.refresh_from_db()
    assert form.application.status == ApplicationStatus.IN_FINANCE
    assert not Disbursement.objects.filter(fund_form=form).exists()
    # Nor through the service the page and the API call with a form id.
    payment = disbursements.Payment(form.approved_amount, dt.date(2026, 11, 20), "GK-AZ-3")
    with pytest.raises(NotFound, match="不在您的数据范围内"):
        disbursements.record(world.u("finance"), form.pk, payment)
    assert not Disbursement.objects.filter(fund_form=form).exists()

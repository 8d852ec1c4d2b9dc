"""Every URL declares who may reach it, and that declaration is enforced.

EXPECTED is the reviewed statement of access for each named URL. A new URL
without an entry fails ``test_every_url_has_an_expected_access``; each entry is
then exercised as anonymous, as a user whose role grants the permission and as
users whose roles do not.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from policywindow.core.access import access_of
from policywindow.system.bootstrap import ROLE_SPECS
from policywindow.system.models import Role, User

pytestmark = pytest.mark.django_db

PUBLIC, AUTH = "public", "authenticated"

# url name -> "public" | "authenticated" | a permission code
EXPECTED: dict[str, str] = {
    "healthz": PUBLIC,
    "favicon": PUBLIC,
    "set_language": PUBLIC,
    "system:login": PUBLIC,
    "system:login_totp": PUBLIC,
    "system:logout": AUTH,
    "system:password_change": AUTH,
    "system:home": AUTH,
    "system:profile": AUTH,
    "system:my_sessions": AUTH,
    "system:end_my_session": AUTH,
    "system:account_totp": AUTH,
    "system:user_list": "system:user:list",
    "system:user_create": "system:user:create",
    "system:user_update": "system:user:update",
    "system:user_roles": "system:user:grant-role",
    "system:user_reset_password": "system:user:reset-password",
    "system:user_toggle_active": "system:user:status",
    "system:dept_list": "system:dept:list",
    "system:dept_create": "system:dept:create",
    "system:dept_update": "system:dept:update",
    "system:dept_toggle": "system:dept:update",
    "system:post_list": "system:post:list",
    "system:post_create": "system:post:create",
    "system:post_update": "system:post:update",
    "system:post_toggle": "system:post:update",
    "system:dict_list": "system:dict:list",
    "system:dict_items": "system:dict:list",
    "system:dict_create": "system:dict:create",
    "system:dict_update": "system:dict:update",
    "system:dict_toggle": "system:dict:update",
    "system:dict_item_create": "system:dict:create",
    "system:dict_item_update": "system:dict:update",
    "system:dict_item_toggle": "system:dict:update",
    # Reaching the form needs the list permission; saving checks the parameter's group
    # (security:param:update or system:param:update) in the service.
    "system:param_list": "system:param:list",
    "system:param_update": "system:param:list",
    "system:calendar": "system:calendar:list",
    "system:calendar_import": "system:calendar:seed",
    "system:calendar_year": "system:calendar:seed",
    "system:calendar_year_notice": "system:calendar:seed",
    "system:calendar_year_table": "system:calendar:seed",
    "system:calendar_year_confirm": "system:calendar:seed",
    "system:calendar_year_template": "system:calendar:seed",
    "system:calendar_day_update": "system:calendar:update",
    "system:role_list": "system:role:list",
    "system:role_create": "system:role:create",
    "system:role_update": "system:role:update",
    "system:role_grant": "system:role:grant",
    "system:menu_list": "system:menu:list",
    "system:menu_create": "system:menu:create",
    "system:menu_update": "system:menu:update",
    "system:menu_delete": "system:menu:delete",
    "system:online_list": "security:online:list",
    "system:online_kick": "security:online:kick",
    "system:operlog_list": "audit:operlog:list",
    "system:operlog_detail": "audit:operlog:list",
    "system:operlog_verify": "audit:operlog:verify",
    "system:operlog_export": "audit:operlog:export",
    "system:loginlog_list": "audit:loginlog:list",
    # 双人审批: every 三员 reaches it; who may file, approve or withdraw is decided inside.
    "system:admin_request_list": "admin:request:list",
    "system:admin_request_file": "admin:request:list",
    "system:admin_request_approve": "admin:request:list",
    "system:admin_request_reject": "admin:request:list",
    "system:admin_request_cancel": "admin:request:list",
    "enterprises:enterprise_list": "enterprise:enterprise:list",
    "enterprises:enterprise_detail": "enterprise:enterprise:list",
    "enterprises:enterprise_create": "enterprise:enterprise:create",
    "enterprises:enterprise_update": "enterprise:enterprise:update",
    "enterprises:enterprise_members": "enterprise:enterprise:member",
    "enterprises:enterprise_member_remove": "enterprise:enterprise:member",
    "enterprises:enterprise_import": "enterprise:enterprise:import",
    "enterprises:enterprise_import_template": "enterprise:enterprise:import",
    "enterprises:enterprise_export": "enterprise:enterprise:export",
    "enterprises:my_enterprise": "portal:enterprise:view",
    "enterprises:my_enterprise_update": "portal:enterprise:update",
    "applications:intake_queue": "window:intake:list",
    "applications:intake_case": "window:intake:list",
    "applications:intake_accept": "window:intake:accept",
    "applications:intake_supplement": "window:intake:supplement",
    "applications:intake_refuse": "window:intake:refuse",
    "applications:intake_document": "window:intake:list",
    "applications:case_list": "window:case:list",
    "applications:case_detail": "window:case:list",
    "applications:case_export": "window:case:export",
    "applications:my_detail": "portal:application:list",
    "applications:public_status": PUBLIC,
    "applications:rule_catalog": "portal:apply:create",
    "applications:apply_start": "portal:apply:create",
    "applications:apply_form": "portal:apply:create",
    "applications:apply_supplement": "portal:apply:create",
    "applications:my_list": "portal:application:list",
    # 法人空间: documents, forms and files of the user's own enterprise only (404 otherwise).
    "space:index": "portal:space:view",
    "space:document": "portal:space:view",
    "space:issue": "portal:space:view",
    "space:fund_form_pdf": "portal:space:view",
    "space:fund_form_verification": "portal:space:view",
    # Object-level checks inside: the enterprise's own users, or staff who may read the case.
    "applications:apply_done": AUTH,
    "applications:receipt": AUTH,
    "applications:material_download": AUTH,
    "applications:item_template": AUTH,
    "applications:counter_start": "window:apply:create",
    "applications:counter_form": "window:apply:create",
    "matching:calculator": "portal:calculator:view",
    "matching:public_calculator": PUBLIC,
    "matching:auto_grant": "portal:application:list",
    "matching:auto_grant_decline": "portal:apply:create",
    "matching:run_list": "policy:matching:list",
    "matching:run_start": "policy:matching:run",
    "matching:run_detail": "policy:matching:list",
    "matching:run_progress": "policy:matching:list",
    "policies:policy_list": "policy:policy:list",
    "policies:policy_create": "policy:policy:create",
    "policies:policy_detail": "policy:policy:list",
    "policies:policy_update": "policy:policy:update",
    "policies:policy_publish": "policy:policy:publish",
    "policies:policy_withdraw": "policy:policy:publish",
    "policies:policy_expire": "policy:policy:publish",
    "policies:attachment_upload": "policy:policy:update",
    "policies:attachment_download": "policy:policy:list",
    "policies:attachment_delete": "policy:policy:update",
    "policies:rule_list": "policy:rule:list",
    "policies:rule_create": "policy:rule:create",
    "policies:rule_detail": "policy:rule:list",
    "policies:rule_history": "policy:rule:list",
    "policies:rule_new_version": "policy:rule:update",
    "policies:version_update": "policy:rule:update",
    "policies:version_publish": "policy:rule:publish",
    "policies:item_create": "policy:rule:update",
    "policies:item_update": "policy:rule:update",
    "policies:item_delete": "policy:rule:update",
    "policies:item_move": "policy:rule:update",
    "policies:item_template": "policy:rule:list",
    "policies:public_list": PUBLIC,
    "policies:public_detail": PUBLIC,
    "policies:public_attachment": PUBLIC,
    "policies:public_rule": PUBLIC,
    "policies:public_item_template": PUBLIC,
    # Saving the drawing (POST to designer) also needs policy:workflow:update, checked inside.
    "workflow:designer_list": "policy:workflow:list",
    "workflow:designer": "policy:workflow:list",
    "workflow:designer_preview": "policy:workflow:update",
    "workflow:designer_publish": "policy:workflow:publish",
    "workflow:designer_copy": "policy:workflow:update",
    # A subject type's own workflow: signed in here, then the type's design_permissions
    # (list, update, publish) inside the view (tests/workflow/test_type_designer.py).
    "workflow:type_designer": AUTH,
    "workflow:type_designer_preview": AUTH,
    "workflow:type_designer_publish": AUTH,
    "workflow:todo": "approval:task:todo",
    "workflow:done": "approval:task:done",
    "workflow:queue": "approval:queue:list",
    "workflow:batch": "approval:task:batch",
    "workflow:approvers": "approval:approver:list",
    # An application's review pages (审批管理). Object-level checks inside: a task of mine (now
    # or before) or the case in my data scope.
    "applications:review_case": "approval:task:todo",
    "applications:review_material": "approval:task:todo",
    "applications:review_decide": "approval:task:decide",
    "applications:review_transfer": "approval:task:transfer",
    "applications:review_withdraw": "approval:task:decide",
    "applications:review_attachment": "approval:task:todo",
    "applications:review_stats": "approval:stats:view",
    "finance:budget_list": "finance:budget:list",
    "finance:budget_create": "finance:budget:update",
    "finance:budget_update": "finance:budget:update",
    "finance:publicity_list": "finance:publicity:list",
    "finance:publicity_create": "finance:publicity:publish",
    "finance:publicity_detail": "finance:publicity:list",
    # Objections follow the case's lead department (data scope), checked inside.
    "finance:objection_list": "finance:objection:list",
    "finance:objection_detail": "finance:objection:list",
    "finance:objection_decide": "finance:objection:decide",
    # The publicity notice and its objection form: no sign-in, nothing private shown.
    "finance:public_publicity": PUBLIC,
    "finance:public_objection": PUBLIC,
    # 报送财政 and 拨付: batches follow the cases' data scope (as 经费审批表), checked inside.
    "finance:submission_list": "finance:submission:list",
    "finance:submission_detail": "finance:submission:list",
    "finance:submission_submit": "finance:submission:submit",
    "finance:submission_receive": "finance:submission:receive",
    "finance:submission_return": "finance:submission:receive",
    "finance:submission_instructions_csv": "finance:submission:export",
    "finance:submission_instructions_json": "finance:submission:export",
    "finance:disbursement_list": "finance:disbursement:list",
    "finance:disbursement_create": "finance:disbursement:record",
    "finance:import_upload": "finance:disbursement:import",
    "finance:import_detail": "finance:disbursement:import",
    "finance:import_confirm": "finance:disbursement:import",
    "finance:import_report": "finance:disbursement:import",
    # 改革任务督办: tasks, reports and evidence are also limited to the user's data scope inside.
    "dashboard:board": "stats:dashboard:view",
    "dashboard:export": "stats:dashboard:export",
    "reforms:programme": "reform:programme:view",
    "reforms:item_detail": "reform:programme:view",
    "reforms:programme_export": "reform:programme:export",
    "reforms:programme_print": "reform:programme:export",
    "reforms:import": "reform:programme:import",
    "reforms:task_list": "reform:task:list",
    "reforms:task_detail": "reform:task:list",
    "reforms:report_create": "reform:task:report",
    "reforms:review_queue": "reform:report:list",
    "reforms:report_detail": "reform:task:list",
    "reforms:report_decide": "approval:task:decide",
    "reforms:review_workflow": "reform:workflow:list",
    "reforms:report_resubmit": "reform:task:report",
    "reforms:report_accept": "reform:report:review",
    "reforms:report_return": "reform:report:review",
    "reforms:evidence": "reform:task:list",
    # 经费审批表: forms, batches and their files follow the cases' data scope, checked inside.
    "fundforms:case_list": "finance:form:list",
    "fundforms:batch_list": "finance:form:list",
    "fundforms:batch_create": "finance:form:create",
    "fundforms:batch_detail": "finance:form:list",
    "fundforms:batch_pdf": "finance:form:list",
    "fundforms:batch_progress": "finance:form:list",
    "fundforms:batch_xlsx": "finance:form:list",
    "fundforms:form_detail": "finance:form:list",
    "fundforms:form_pdf": "finance:form:list",
    "fundforms:verify": "finance:form:verify",
    "archives:case_list": "finance:archive:list",
    "archives:archive_list": "finance:archive:list",
    "archives:archive_create": "finance:archive:archive",
    "archives:batch_detail": "finance:archive:list",
    "archives:batch_progress": "finance:archive:list",
    "archives:download": "finance:archive:download",
    # The enterprise's own archives; another enterprise's is a 404 inside.
    "archives:my_list": "portal:archive:list",
    "archives:my_download": "portal:archive:list",
    # Each user's own inbox; another user's message is a 404 inside.
    "notifications:inbox": AUTH,
    "notifications:open": AUTH,
    "notifications:mark_read": AUTH,
    "notifications:mark_all_read": AUTH,
}

# Every built-in role, so a grant added to or taken from a role is exercised on every URL.
ROLES_TRIED = tuple(spec.code for spec in ROLE_SPECS)


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield (
                f"{namespace}{entry.name}" if entry.name else "",
                prefix + str(entry.pattern),
                entry,
            )


def _site_patterns():
    """Named page URLs; the REST API is checked operation by operation in tests/api."""
    return [
        (name, route, p)
        for name, route, p in _walk(get_resolver().url_patterns)
        if not route.startswith("api/")
    ]


def _concrete(route: str) -> str:
    route = re.sub(r"<int:\w+>", "999999", route)
    route = re.sub(r"<(str:)?\w+>", "unknown", route)
    return "/" + route.lstrip("^").rstrip("$")


def test_every_url_declares_access():
    undeclared = [
        route
        for name, route, p in _walk(get_resolver().url_patterns)
        if access_of(p.callback) is None
    ]
    assert undeclared == []


def test_every_url_has_an_expected_access():
    names = {name for name, _, _ in _site_patterns()}
    assert "" not in names, "every page URL needs a name"
    assert sorted(names - EXPECTED.keys()) == [], (
        "add the new URL to EXPECTED with who may reach it"
    )
    assert sorted(EXPECTED.keys() - names) == [], "EXPECTED names a URL that no longer exists"


def test_declarations_match_the_expected_access():
    for name, _, pattern in _site_patterns():
        access = access_of(pattern.callback)
        assert access.describe() == EXPECTED[name], name


def _user_with_role(role_code: str) -> User:
    role = Role.objects.get(code=role_code)
    user = User.objects.create(
        username=f"matrix_{role_code}",
        real_name=role.name,
        kind=User.Kind.ENTERPRISE if role.for_enterprise else User.Kind.STAFF,
        must_change_password=False,
    )
    user.roles.set([role])
    return user


@pytest.fixture
def clients() -> dict[str, Client]:
    signed_in = {}
    for code in ROLES_TRIED:
        client = Client()
        client.force_login(_user_with_role(code))
        signed_in[code] = client
    return signed_in


def test_each_url_admits_exactly_who_it_declares(clients):
    anonymous = Client()
    for name, route, _ in _site_patterns():
        url, expected = _concrete(route), EXPECTED[name]
        anon_status = anonymous.get(url).status_code
        if expected == PUBLIC:
            assert anon_status != 403, name
            continue
        assert anon_status == 302, f"{name}: anonymous must be sent to the login page"
        for code, client in clients.items():
            role_grants = (
                expected == AUTH
                or Role.objects.get(code=code).menus.filter(permission=expected).exists()
            )
            status = client.get(url).status_code
            if role_grants:
                assert status != 403, f"{name} should admit {code}"
            else:
                assert status == 403, f"{name} should refuse {code}, got {status}"


def test_every_permission_code_is_granted_by_some_builtin_role():
    """A declared code nobody can be granted would make its page unreachable."""
    codes = {code for code in EXPECTED.values() if code not in (PUBLIC, AUTH)}
    granted = set(Role.objects.filter(builtin=True).values_list("menus__permission", flat=True))
    assert sorted(codes - granted) == []

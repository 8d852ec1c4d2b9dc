"""One small province for the object-level authorization matrix, built through the services.

Not a test module. Departments X (lead department of every rule) and Y; enterprises A and B,
each with its own 经办人; A's main case taken from filing to 已归档 through the real services
(受理 → 审核 → 公示 with a dismissed objection → 经费审批表 → 报送财政 → 签收 → 拨付 → 归档),
plus an A draft, an A case waiting for X's reviewer, an A case in 补正, a B case waiting at the
window, a reform task of X with a report, and each user's notifications.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from policywindow.api import services as api_services
from policywindow.applications.models import Application, Material
from policywindow.applications.services import filing, intake
from policywindow.archives import services as archives
from policywindow.archives.models import Archive
from policywindow.core.models import AuditEvent
from policywindow.finance.models import PublicityEntry
from policywindow.finance.services import (
    budgets,
    disbursements,
    objections,
    payment_imports,
    publicity,
    submissions,
)
from policywindow.fundforms import services as fundforms
from policywindow.fundforms.models import FundForm
from policywindow.matching import services as matching
from policywindow.matching.models import AutoGrant, MatchRun
from policywindow.notifications.models import Notification
from policywindow.notifications.services import notify
from policywindow.policies import services as policies
from policywindow.policies.models import RequiredItem
from policywindow.reforms.models import Programme, ReformItem, ReformTask
from policywindow.reforms.services import reports
from policywindow.space import services as space
from policywindow.system.models import (
    Department,
    DictItem,
    DictType,
    Menu,
    Post,
    Role,
    SystemParameter,
    User,
    UserSession,
)
from policywindow.system.services import admin_requests
from policywindow.workflow.models import TaskAttachment, WorkflowTask
from policywindow.workflow.services import runtime
from tests.applications.test_filing_factories import (
    LICENSE,
    RD_AMOUNT,
    link,
    make_enterprise,
    make_rule,
    office_zip,
    upload,
)
from tests.finance.payments import workbook
from tests.workflow.factories import level, node, publish, users

# Who is tried on every URL: key -> (built-in role, department key; enterprises have none).
USERS: dict[str, tuple[str, str]] = {
    "ent_a": ("enterprise", ""),
    "ent_b": ("enterprise", ""),
    "clerk": ("window_clerk", "BUREAU"),
    "rev_x": ("reviewer", "X"),
    "rev_y": ("reviewer", "Y"),
    # Section chiefs: department-scoped supervisors who also decide objections on their cases.
    "chief_x": ("section_chief", "X"),
    "chief_y": ("section_chief", "Y"),
    "finance": ("finance_officer", "FINANCE"),
    "sys_admin": ("sys_admin", "BUREAU"),
    "sec_admin": ("sec_admin", "BUREAU"),
    "audit_admin": ("audit_admin", "BUREAU"),
    "policy_admin": ("policy_admin", "BUREAU"),
    "bureau_leader": ("bureau_leader", "BUREAU"),
}
ANONYMOUS = "anonymous"
EVERYONE = (ANONYMOUS, *USERS)


@dataclass
class World:
    """Everything the matrix fills URL parameters from; ``users`` by key, ``clients`` signed in."""

    depts: dict[str, Department] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    # The same users calling the API with a bearer token instead of the session.
    bearer_clients: dict[str, Client] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def u(self, key: str) -> User:
        return self.users[key]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


def _department(name: str, code: str) -> Department:
    dept = Department.objects.create(name=name, code=code)
    dept.path = f"/{dept.pk}/"
    dept.save(update_fields=["path"])
    return dept


def _user(key: str, role: str, dept: Department | None) -> User:
    user = User.objects.create(
        username=f"authz_{key}",
        real_name=f"矩阵{key}",
        kind=User.Kind.ENTERPRISE if role == "enterprise" else User.Kind.STAFF,
        department=dept,
        must_change_password=False,
    )
    user.roles.set(Role.objects.filter(code=role))
    return user


def _people(world: World) -> None:
    world.depts = {
        "X": _department("省科学技术厅（矩阵）", "AZX"),
        "Y": _department("省商务厅（矩阵）", "AZY"),
        "BUREAU": _department("省营商局（矩阵）", "AZB"),
        "FINANCE": _department("省财政厅（矩阵）", "AZF"),
    }
    for key, (role, dept) in USERS.items():
        world.users[key] = _user(key, role, world.depts.get(dept))
    for key in ("ent_a", "ent_b"):
        enterprise = make_enterprise(f"矩阵测试企业{key[-1].upper()}有限公司")
        link(world.users[key], enterprise)
        world.objects[f"enterprise_{key[-1]}"] = enterprise


def _rule(world: World, code: str, **fields: Any):
    """A published rule led by X whose one review node is X's reviewer."""
    rule = make_rule(world.depts["X"], code=code, items=(LICENSE, RD_AMOUNT), **fields)
    publish(rule, level(node("review", "牵头部门审核", users(world.u("rev_x")))))
    return rule


def _filed(world: World, who: str, rule) -> Application:
    user, enterprise = world.u(who), world.objects[f"enterprise_{who[-1]}"]
    draft = filing.start_application(user, enterprise, rule)
    draft = filing.save_answers(user, draft, {"rd_amount": "4200000.00"}, {"license": [upload()]})
    return filing.submit(user, draft)


def _accepted(world: World, case: Application) -> Application:
    checklist = [
        {"key": item["key"], "result": "complete", "comment": ""} for item in case.form_snapshot
    ]
    return intake.accept(world.u("clerk"), case, checklist, expected_revision=case.revision)


def _approve(world: World, case: Application) -> None:
    task = WorkflowTask.objects.get(application=case, status="open")
    decision = runtime.Decision("approve", "同意")
    runtime.decide(world.u("rev_x"), task.pk, decision, files=[upload("审核意见.pdf")])
    world.objects.setdefault("task_attachment", TaskAttachment.objects.get(task=task))


def _cases(world: World) -> None:
    rules = {
        name: _rule(world, f"AZ-{name.upper()}") for name in ("main", "review", "fix", "draft")
    }
    world.objects.update(rules=rules, rule=rules["main"], policy=rules["main"].policy)
    world.objects["budget"] = budgets.create_budget(
        world.u("policy_admin"), rules["main"], timezone.localdate().year, "1000000"
    )
    case = _accepted(world, _filed(world, "ent_a", rules["main"]))
    _approve(world, case)
    world.objects["case_a"] = case
    world.objects["review_a"] = _accepted(world, _filed(world, "ent_a", rules["review"]))
    world.objects["task_a"] = WorkflowTask.objects.get(application=world.review_a, status="open")
    fix = _filed(world, "ent_a", rules["fix"])
    world.objects["fix_a"] = intake.request_supplement(
        world.u("clerk"),
        fix,
        [{"key": "license", "comment": "营业执照不清晰"}],
        expected_revision=fix.revision,
    )
    world.objects["draft_a"] = filing.start_application(
        world.u("ent_a"), world.enterprise_a, rules["draft"]
    )
    world.objects["case_b"] = _filed(world, "ent_b", rules["main"])
    world.objects["counter_b"] = filing.start_application(
        world.u("clerk"), world.enterprise_b, rules["draft"], channel=Application.Channel.WINDOW
    )
    world.objects["material_a"] = Material.objects.filter(application=case).first()
    world.objects["material_b"] = Material.objects.filter(application=world.case_b).first()


def awaiting_payment(world: World) -> FundForm:
    """B's case of the "review" rule taken to 财政已签收, 待拨付: its fund form."""
    admin, case = world.u("policy_admin"), _filed(world, "ent_b", world.rules["review"])
    case = _accepted(world, case)
    _approve(world, case)
    publicity.publish(admin, [case.pk], "矩阵公示（二）", days=1)
    publicity.close_due(timezone.now() + dt.timedelta(days=60))
    batch = fundforms.issue_batch(admin, [case.pk], label="矩阵批次（二）")
    submissions.receive(world.u("finance"), submissions.submit(admin, batch.pk).pk)
    return batch.forms.get()


def _money(world: World) -> None:
    """A's case from 审核通过 to 已归档, with a dismissed objection on the way."""
    admin, case = world.u("policy_admin"), world.case_a
    batch = publicity.publish(admin, [case.pk], "矩阵公示", days=1)
    entry = PublicityEntry.objects.get(batch=batch)
    objection = objections.file_objection(
        entry.pk,
        objections.ObjectionInput("张三", "13800000000", "该企业研发费用归集存在疑问，请核实"),
        client_ip="10.0.0.9",
    )
    objections.dismiss(admin, objection.pk, "经核查，异议不成立")
    publicity.close_due(timezone.now() + dt.timedelta(days=60))
    forms = fundforms.issue_batch(admin, [case.pk], label="矩阵批次")
    fundforms.produce_files(forms)
    form = forms.forms.get()
    submission = submissions.submit(admin, forms.pk)
    submissions.receive(world.u("finance"), submission.pk)
    payment = disbursements.Payment(form.approved_amount, timezone.localdate(), "GK-AZ-0001")
    disbursements.record(world.u("finance"), form.pk, payment)
    case.refresh_from_db()
    world.objects.update(
        publicity=batch,
        entry=entry,
        objection=objection,
        form_batch=forms,
        form=form,
        submission=submission,
        payment_import=payment_imports.upload(
            world.u("finance"),
            "回单.xlsx",
            workbook([(form.number, "x", "矩阵", "1.00", "2026-11-20", "GK-1")]),
        ),
    )
    world.objects["space_doc"] = space.issue(
        case, "acceptance", base_url="https://zwfw.example.gov.cn/"
    )
    world.objects["archive_batch"] = archives.run_batch(archives.start_batch(admin, [case.pk]))
    world.objects["archive"] = Archive.objects.get(application=case)


def _matching(world: World) -> None:
    rule = make_rule(world.depts["X"], code="AZ-AUTO", items=(), auto_grant=True)
    run = matching.create_run(
        world.u("policy_admin"), trigger=MatchRun.Trigger.MANUAL, rules=[rule]
    )
    world.objects["match_run"] = matching.execute_run(run.pk)
    world.objects["grant_a"] = AutoGrant.objects.get(enterprise=world.enterprise_a)


def _reform(world: World) -> None:
    programme = Programme.objects.create(
        title="矩阵改革专项",
        bureau=world.depts["BUREAU"],
        issued_on=timezone.localdate(),
        province_days=20,
        ftz_days=10,
        source_name="矩阵.txt",
        created_by=world.u("policy_admin"),
    )
    item = ReformItem.objects.create(
        programme=programme,
        number=1,
        title="企业开办全程网办",
        content="推广",
        category="政务服务",
        category_order=1,
        scope="province",
    )
    task = ReformTask.objects.create(
        item=item,
        department=world.depts["X"],
        locality=world.depts["BUREAU"],
        due_at=timezone.now() + dt.timedelta(days=30),
    )
    report = reports.submit_report(
        world.u("rev_x"),
        task,
        reports.ReportInput(text="已推进", percent=60, kind="progress", files=[upload("佐证.pdf")]),
    )
    world.objects.update(reform_item=item, reform_task=task, report=report)
    world.objects["evidence"] = report.evidence.first()


def _system(world: World) -> None:
    for key, user in world.users.items():
        notify(
            [user],
            kind="authz",
            subject=f"给{key}的消息",
            link="/",
            dedupe_key=f"authz:{key}",
        )
        world.objects[f"note_{key}"] = Notification.objects.get(
            recipient=user, dedupe_key=f"authz:{key}"
        )
    world.objects["admin_request"] = admin_requests.file_request(
        world.u("sys_admin"), target=world.u("audit_admin"), action="disable", reason="矩阵"
    ).request
    world.objects["token_a"] = api_services.issue_token(
        world.u("ent_a"), name="矩阵", lifetime=dt.timedelta(days=1)
    ).token
    world.objects.update(
        post=Post.objects.create(code="AZ-POST", name="矩阵岗位"),
        role=Role.objects.get(code="reviewer"),
        menu=Menu.objects.filter(permission="window:case:list").first(),
        dict_type=DictType.objects.first(),
        dict_item=DictItem.objects.first(),
        param=SystemParameter.objects.first(),
        audit_event=AuditEvent.objects.order_by("-id").first(),
        item=_with_template(RequiredItem.objects.filter(rule_version=world.rule.current).first()),
        attachment=policies.add_attachment(
            world.u("policy_admin"), world.policy, upload("附件.pdf")
        ),
    )


def _unpublished(world: World) -> None:
    """A draft policy with an attachment and a rule whose only version is a draft: nothing of
    it may show on the public pages or the public API."""
    admin = world.u("policy_admin")
    draft = policies.create_policy(admin, title="矩阵草稿政策", issuing_department=world.depts["X"])
    rule = policies.create_rule(
        admin, draft, code="AZ-UNPUB", title="草稿细则", lead_department=world.depts["X"]
    )
    template = upload("模板.docx", office_zip(), "application/octet-stream")
    world.objects.update(
        draft_policy=draft,
        draft_attachment=policies.add_attachment(admin, draft, upload("草稿附件.pdf")),
        draft_rule=rule,
        draft_item=policies.add_item(
            admin,
            rule.versions.get(),
            key="license",
            label="营业执照",
            kind="file",
            allowed_types=["pdf"],
            template=template,
        ),
    )


def _with_template(item: RequiredItem) -> RequiredItem:
    """The item's 模板 file (set directly: a published version's items are not editable)."""
    item.template_name = "营业执照模板.docx"
    item.template_file.save("template.docx", ContentFile(office_zip()), save=True)
    return item


def _sessions(world: World) -> None:
    for key, user in world.users.items():
        client = Client()
        client.force_login(user)
        world.clients[key] = client
        token = api_services.issue_token(user, name="矩阵令牌", lifetime=dt.timedelta(days=1))
        world.bearer_clients[key] = Client(HTTP_AUTHORIZATION=f"Bearer {token.plaintext}")
    world.clients[ANONYMOUS] = world.bearer_clients[ANONYMOUS] = Client()
    # A's other signed-in browser: the one A (and only A) may end from 我的会话.
    other = Client()
    other.force_login(world.u("ent_a"))
    world.objects["session_a"] = UserSession.objects.create(
        session_key=other.session.session_key, user=world.u("ent_a")
    )


def build() -> World:
    world = World()
    _people(world)
    _cases(world)
    _money(world)
    _matching(world)
    _reform(world)
    _system(world)
    _unpublished(world)
    _sessions(world)
    return world

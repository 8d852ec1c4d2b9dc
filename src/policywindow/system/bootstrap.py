"""Built-in menus, roles, parameters and dictionaries, kept in sync after every migrate.

Menus are data (DESIGN.md §6): administrators may add menus and edit names,
order and visibility (not of the 三员's own menus); built-in entries are matched by ``key`` and only
created or re-linked here, never overwritten, so local edits survive upgrades.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils.translation import gettext_noop as _

from policywindow.core.migrating import schema_is_current


@dataclass(frozen=True)
class MenuSpec:
    key: str
    name: str
    kind: str
    url_name: str = ""
    icon: str = ""
    permission: str = ""
    children: tuple[MenuSpec, ...] = field(default_factory=tuple)


def _buttons(prefix: str, key: str, actions: dict[str, str]) -> tuple[MenuSpec, ...]:
    return tuple(
        MenuSpec(f"{key}.{action}", label, "button", permission=f"{prefix}:{action}")
        for action, label in actions.items()
    )


MENU_TREE: tuple[MenuSpec, ...] = (
    MenuSpec(
        "system",
        _("系统管理"),
        "directory",
        icon="gear",
        children=(
            MenuSpec(
                "system.user",
                _("用户管理"),
                "menu",
                "system:user_list",
                "people",
                "system:user:list",
                _buttons(
                    "system:user",
                    "system.user",
                    {
                        "create": _("新增用户"),
                        "update": _("修改用户"),
                        "reset-password": _("重置密码"),
                        "status": _("启用停用"),
                        "grant-role": _("分配角色"),
                    },
                ),
            ),
            MenuSpec(
                "system.dept",
                _("部门管理"),
                "menu",
                "system:dept_list",
                "diagram-3",
                "system:dept:list",
                _buttons(
                    "system:dept",
                    "system.dept",
                    {
                        "create": _("新增部门"),
                        "update": _("修改部门"),
                    },
                ),
            ),
            MenuSpec(
                "system.post",
                _("岗位管理"),
                "menu",
                "system:post_list",
                "person-badge",
                "system:post:list",
                _buttons(
                    "system:post",
                    "system.post",
                    {
                        "create": _("新增岗位"),
                        "update": _("修改岗位"),
                    },
                ),
            ),
            MenuSpec(
                "system.menu",
                _("菜单管理"),
                "menu",
                "system:menu_list",
                "list-nested",
                "system:menu:list",
                _buttons(
                    "system:menu",
                    "system.menu",
                    {
                        "create": _("新增菜单"),
                        "update": _("修改菜单"),
                        "delete": _("删除菜单"),
                    },
                ),
            ),
            MenuSpec(
                "system.role",
                _("角色管理"),
                "menu",
                "system:role_list",
                "person-lock",
                "system:role:list",
                _buttons(
                    "system:role",
                    "system.role",
                    {
                        "create": _("新增角色"),
                        "update": _("修改角色"),
                        "grant": _("分配权限"),
                    },
                ),
            ),
            MenuSpec(
                "system.dict",
                _("字典管理"),
                "menu",
                "system:dict_list",
                "book",
                "system:dict:list",
                _buttons(
                    "system:dict",
                    "system.dict",
                    {
                        "create": _("新增字典"),
                        "update": _("修改字典"),
                    },
                ),
            ),
            MenuSpec(
                "system.param",
                _("参数设置"),
                "menu",
                "system:param_list",
                "sliders",
                "system:param:list",
                (
                    MenuSpec(
                        "system.param.update",
                        _("修改业务参数"),
                        "button",
                        permission="system:param:update",
                    ),
                    MenuSpec(
                        "system.param.security",
                        _("修改安全参数"),
                        "button",
                        permission="security:param:update",
                    ),
                ),
            ),
            MenuSpec(
                "system.calendar",
                _("节假日日历"),
                "menu",
                "system:calendar",
                "calendar3",
                "system:calendar:list",
                _buttons(
                    "system:calendar",
                    "system.calendar",
                    {
                        "update": _("修改日期"),
                        "seed": _("导入法定节假日"),
                    },
                ),
            ),
            MenuSpec(
                "system.online",
                _("在线用户"),
                "menu",
                "system:online_list",
                "broadcast",
                "security:online:list",
                (
                    MenuSpec(
                        "system.online.kick",
                        _("强制退出"),
                        "button",
                        permission="security:online:kick",
                    ),
                ),
            ),
        ),
    ),
    MenuSpec(
        "audit",
        _("安全审计"),
        "directory",
        icon="shield-check",
        children=(
            MenuSpec(
                "audit.operlog",
                _("操作日志"),
                "menu",
                "system:operlog_list",
                "journal-text",
                "audit:operlog:list",
                (
                    MenuSpec(
                        "audit.operlog.verify",
                        _("校验日志链"),
                        "button",
                        permission="audit:operlog:verify",
                    ),
                    MenuSpec(
                        "audit.operlog.export",
                        _("导出 Excel"),
                        "button",
                        permission="audit:operlog:export",
                    ),
                ),
            ),
            MenuSpec(
                "audit.loginlog",
                _("登录日志"),
                "menu",
                "system:loginlog_list",
                "box-arrow-in-right",
                "audit:loginlog:list",
            ),
        ),
    ),
    # Changes to the 三员's own accounts: filed by one of them, approved by another.
    MenuSpec(
        "admin",
        _("三员管理"),
        "directory",
        icon="shield-lock",
        children=(
            MenuSpec(
                "admin.requests",
                _("双人审批"),
                "menu",
                "system:admin_request_list",
                "people",
                "admin:request:list",
            ),
        ),
    ),
    MenuSpec(
        "policy",
        _("政策库"),
        "directory",
        icon="journal-text",
        children=(
            MenuSpec(
                "policy.policy",
                _("政策管理"),
                "menu",
                "policies:policy_list",
                "journal-richtext",
                "policy:policy:list",
                _buttons(
                    "policy:policy",
                    "policy.policy",
                    {
                        "create": _("新增政策"),
                        "update": _("修改政策"),
                        "publish": _("发布与撤回政策"),
                    },
                ),
            ),
            MenuSpec(
                "policy.rule",
                _("细则管理"),
                "menu",
                "policies:rule_list",
                "list-check",
                "policy:rule:list",
                _buttons(
                    "policy:rule",
                    "policy.rule",
                    {"create": _("新增细则"), "update": _("修改细则"), "publish": _("发布细则")},
                ),
            ),
            MenuSpec(
                "policy.workflow",
                _("审批流程配置"),
                "menu",
                "workflow:designer_list",
                "diagram-2",
                "policy:workflow:list",
                _buttons(
                    "policy:workflow",
                    "policy.workflow",
                    {"update": _("绘制工作流"), "publish": _("发布工作流")},
                ),
            ),
            # -- matching app: batch matching, 精准推送, 免申即享
            MenuSpec(
                "policy.matching",
                _("政策匹配"),
                "menu",
                "matching:run_list",
                "bullseye",
                "policy:matching:list",
                _buttons("policy:matching", "policy.matching", {"run": _("发起匹配")}),
            ),
        ),
    ),
    MenuSpec(
        "approval",
        _("审批管理"),
        "directory",
        icon="clipboard-check",
        children=(
            MenuSpec(
                "approval.todo",
                _("我的待办"),
                "menu",
                "workflow:todo",
                "hourglass-split",
                "approval:task:todo",
                _buttons(
                    "approval:task",
                    "approval.todo",
                    {
                        "decide": _("审批"),
                        "transfer": _("转办"),
                        "batch": _("批量审批"),
                    },
                ),
            ),
            MenuSpec(
                "approval.done",
                _("我的已办"),
                "menu",
                "workflow:done",
                "check2-square",
                "approval:task:done",
            ),
            MenuSpec(
                "approval.queue",
                _("部门待办"),
                "menu",
                "workflow:queue",
                "people",
                "approval:queue:list",
            ),
            MenuSpec(
                "approval.approvers",
                _("审批人员"),
                "menu",
                "workflow:approvers",
                "person-badge",
                "approval:approver:list",
            ),
            MenuSpec(
                "approval.stats",
                _("办理时效"),
                "menu",
                "applications:review_stats",
                "speedometer2",
                "approval:stats:view",
            ),
        ),
    ),
    MenuSpec(
        "stats",
        _("统计分析"),
        "directory",
        icon="bar-chart",
        children=(
            MenuSpec(
                "stats.dashboard",
                _("数据看板"),
                "menu",
                "dashboard:board",
                "graph-up",
                "stats:dashboard:view",
                _buttons("stats:dashboard", "stats.dashboard", {"export": _("导出 Excel")}),
            ),
        ),
    ),
    MenuSpec(
        "enterprise",
        _("企业库"),
        "directory",
        icon="buildings",
        children=(
            MenuSpec(
                "enterprise.registry",
                _("企业管理"),
                "menu",
                "enterprises:enterprise_list",
                "building",
                "enterprise:enterprise:list",
                _buttons(
                    "enterprise:enterprise",
                    "enterprise.registry",
                    {
                        "create": _("新增企业"),
                        "update": _("修改企业"),
                        "import": _("导入企业"),
                        "member": _("管理企业经办人"),
                        "export": _("导出 Excel"),
                    },
                ),
            ),
        ),
    ),
    MenuSpec(
        "window",
        _("窗口受理"),
        "directory",
        icon="window-stack",
        children=(
            MenuSpec(
                "window.intake",
                _("受理队列"),
                "menu",
                "applications:intake_queue",
                "inbox",
                "window:intake:list",
                _buttons(
                    "window:intake",
                    "window.intake",
                    {"accept": _("受理"), "supplement": _("补正告知"), "refuse": _("不予受理")},
                ),
            ),
            MenuSpec(
                "window.counter",
                _("窗口代办申报"),
                "menu",
                "applications:counter_start",
                "person-workspace",
                "window:apply:create",
            ),
            MenuSpec(
                "window.cases",
                _("办件查询"),
                "menu",
                "applications:case_list",
                "search",
                "window:case:list",
                _buttons("window:case", "window.cases", {"export": _("导出 Excel")}),
            ),
        ),
    ),
    MenuSpec(
        "finance",
        _("财政报送"),
        "directory",
        icon="cash-coin",
        children=(
            # -- finance app: budgets, publicity (公示), objections (异议)
            MenuSpec(
                "finance.budget",
                _("预算管理"),
                "menu",
                "finance:budget_list",
                "piggy-bank",
                "finance:budget:list",
                _buttons("finance:budget", "finance.budget", {"update": _("新增与修改预算")}),
            ),
            MenuSpec(
                "finance.publicity",
                _("公示管理"),
                "menu",
                "finance:publicity_list",
                "megaphone",
                "finance:publicity:list",
                _buttons("finance:publicity", "finance.publicity", {"publish": _("发布公示")}),
            ),
            MenuSpec(
                "finance.objection",
                _("异议处理"),
                "menu",
                "finance:objection_list",
                "chat-square-text",
                "finance:objection:list",
                _buttons("finance:objection", "finance.objection", {"decide": _("处理异议")}),
            ),
            # -- finance app: submission to finance (报送财政), disbursement (拨付)
            MenuSpec(
                "finance.submission",
                _("报送签收"),
                "menu",
                "finance:submission_list",
                "send-check",
                "finance:submission:list",
                _buttons(
                    "finance:submission",
                    "finance.submission",
                    {
                        "submit": _("报送财政"),
                        "receive": _("签收与退回"),
                        "export": _("导出支付指令"),
                    },
                ),
            ),
            MenuSpec(
                "finance.disbursement",
                _("拨付登记"),
                "menu",
                "finance:disbursement_list",
                "bank",
                "finance:disbursement:list",
                _buttons(
                    "finance:disbursement",
                    "finance.disbursement",
                    {"record": _("登记拨付"), "import": _("导入拨付回单")},
                ),
            ),
            # -- fundforms app: fund approval forms (经费审批表), verification
            MenuSpec(
                "finance.forms",
                _("经费审批表"),
                "menu",
                "fundforms:case_list",
                "file-earmark-ruled",
                "finance:form:list",
                _buttons("finance:form", "finance.forms", {"create": _("出具审批表")}),
            ),
            MenuSpec(
                "finance.verify",
                _("审批表验证"),
                "menu",
                "fundforms:verify",
                "patch-check",
                "finance:form:verify",
            ),
            # -- archives app: 归档 of disbursed cases (one zip per case)
            MenuSpec(
                "finance.archive",
                _("办件归档"),
                "menu",
                "archives:case_list",
                "archive",
                "finance:archive:list",
                _buttons(
                    "finance:archive",
                    "finance.archive",
                    {"archive": _("归档办件"), "download": _("下载归档包")},
                ),
            ),
        ),
    ),
    MenuSpec(
        "portal",
        _("企业服务"),
        "directory",
        icon="briefcase",
        children=(
            MenuSpec(
                "portal.space",
                _("法人空间"),
                "menu",
                "space:index",
                "person-vcard",
                "portal:space:view",
            ),
            MenuSpec(
                "portal.apply",
                _("政策申报"),
                "menu",
                "applications:rule_catalog",
                "pencil-square",
                "portal:apply:create",
            ),
            MenuSpec(
                "portal.calculator",
                _("政策计算器"),
                "menu",
                "matching:calculator",
                "calculator",
                "portal:calculator:view",
            ),
            MenuSpec(
                "portal.mine",
                _("我的申报"),
                "menu",
                "applications:my_list",
                "folder2-open",
                "portal:application:list",
            ),
            MenuSpec(
                "portal.archives",
                _("办结档案"),
                "menu",
                "archives:my_list",
                "archive",
                "portal:archive:list",
            ),
            MenuSpec(
                "portal.enterprise",
                _("企业信息"),
                "menu",
                "enterprises:my_enterprise",
                "building-check",
                "portal:enterprise:view",
                (
                    MenuSpec(
                        "portal.enterprise.update",
                        _("修改企业信息"),
                        "button",
                        permission="portal:enterprise:update",
                    ),
                ),
            ),
        ),
    ),
    MenuSpec(
        "reform",
        _("改革任务督办"),
        "directory",
        icon="flag",
        children=(
            MenuSpec(
                "reform.programme",
                _("改革任务总览"),
                "menu",
                "reforms:programme",
                "bar-chart-line",
                "reform:programme:view",
                _buttons(
                    "reform:programme",
                    "reform.programme",
                    {"export": _("导出与打印"), "import": _("导入任务分工表")},
                ),
            ),
            MenuSpec(
                "reform.tasks",
                _("改革任务清单"),
                "menu",
                "reforms:task_list",
                "list-task",
                "reform:task:list",
                _buttons("reform:task", "reform.tasks", {"report": _("报送进展")}),
            ),
            MenuSpec(
                "reform.reviews",
                _("进展报告审核"),
                "menu",
                "reforms:review_queue",
                "clipboard2-check",
                "reform:report:list",
                _buttons("reform:report", "reform.reviews", {"review": _("审核进展报告")}),
            ),
            # The designer of the progress reports' review workflow (reforms.review); the menu's
            # route redirects to the designer page of subject type reform_report.
            MenuSpec(
                "reform.workflow",
                _("督办审核流程"),
                "menu",
                "reforms:review_workflow",
                "diagram-2",
                "reform:workflow:list",
                _buttons(
                    "reform:workflow",
                    "reform.workflow",
                    {"update": _("绘制工作流"), "publish": _("发布工作流")},
                ),
            ),
        ),
    ),
)


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    data_scope: str
    menu_keys: tuple[str, ...]
    admin_kind: str = ""
    for_enterprise: bool = False
    remark: str = ""


# Every one of the 三员 files and approves requests about the other two.
ADMIN_REQUEST_MENUS = ("admin", "admin.requests")
SYSTEM_ADMIN_MENUS = (
    "system",
    "system.user",
    "system.user.create",
    "system.user.update",
    "system.user.reset-password",
    "system.user.status",
    "system.dept",
    "system.dept.create",
    "system.dept.update",
    "system.post",
    "system.post.create",
    "system.post.update",
    "system.menu",
    "system.menu.create",
    "system.menu.update",
    "system.menu.delete",
    "system.dict",
    "system.dict.create",
    "system.dict.update",
    "system.param",
    "system.param.update",
    "system.calendar",
    "system.calendar.update",
    "system.calendar.seed",
    *ADMIN_REQUEST_MENUS,
)
SECURITY_ADMIN_MENUS = (
    "system",
    "system.user",
    "system.user.grant-role",
    "system.role",
    "system.role.create",
    "system.role.update",
    "system.role.grant",
    "system.param",
    "system.param.security",
    "system.online",
    "system.online.kick",
    *ADMIN_REQUEST_MENUS,
)
POLICY_ADMIN_MENUS = (
    "policy",
    "policy.policy",
    "policy.policy.create",
    "policy.policy.update",
    "policy.policy.publish",
    "policy.rule",
    "policy.rule.create",
    "policy.rule.update",
    "policy.rule.publish",
    "policy.workflow",
    "policy.workflow.update",
    "policy.workflow.publish",
    "policy.matching",
    "policy.matching.run",
    "approval",
    # 部门待办 across the province: the office sees stuck nodes (approvers who cannot decide).
    "approval.queue",
    "approval.stats",
    # 办件查询: the office reads the cases it publishes, issues forms for and archives.
    "window",
    "window.cases",
    "window.cases.export",
)
WINDOW_CLERK_MENUS = (
    "enterprise",
    "enterprise.registry",
    "enterprise.registry.create",
    "enterprise.registry.update",
    "enterprise.registry.import",
    "enterprise.registry.member",
    "enterprise.registry.export",
    "window",
    "window.intake",
    "window.intake.accept",
    "window.intake.supplement",
    "window.intake.refuse",
    "window.counter",
    "window.cases",
    "window.cases.export",
)
ENTERPRISE_MENUS = (
    "portal",
    "portal.space",
    "portal.apply",
    "portal.calculator",
    "portal.mine",
    "portal.archives",
    "portal.enterprise",
    "portal.enterprise.update",
)
CASE_VIEWER_MENUS = (
    "window",
    "window.cases",
    "window.cases.export",
    "enterprise",
    "enterprise.registry",
    "enterprise.registry.export",
)
# 数据看板: the bureau sees the province, a department its own data scope.
DASHBOARD_MENUS = ("stats", "stats.dashboard", "stats.dashboard.export")
APPROVER_MENUS = (
    "approval",
    "approval.todo",
    "approval.todo.decide",
    "approval.todo.transfer",
    "approval.todo.batch",
    "approval.done",
)
# Chiefs and leaders also watch their department's queue, its approvers and the clock.
SUPERVISOR_MENUS = (
    *APPROVER_MENUS,
    "approval.queue",
    "approval.approvers",
    "approval.stats",
)
AUDIT_ADMIN_MENUS = (
    "audit",
    "audit.operlog",
    "audit.operlog.verify",
    "audit.operlog.export",
    "audit.loginlog",
    *ADMIN_REQUEST_MENUS,
)
# The 三员's built-in menus: their status, visibility and place are fixed (see services.rbac).
ADMIN_MENU_KEYS = frozenset((*SYSTEM_ADMIN_MENUS, *SECURITY_ADMIN_MENUS, *AUDIT_ADMIN_MENUS))
# 改革任务督办: departments report on their own tasks; the bureau watches and reviews.
REFORM_REPORTER_MENUS = ("reform", "reform.tasks", "reform.tasks.report")
REFORM_VIEWER_MENUS = (
    "reform",
    "reform.programme",
    "reform.programme.export",
    "reform.tasks",
    "reform.reviews",
)
REFORM_ADMIN_MENUS = (
    *REFORM_VIEWER_MENUS,
    "reform.programme.import",
    "reform.reviews.review",
    # The bureau draws the 督办审核 workflow of progress reports and decides its own level of
    # it: 我的待办 and 审批, as every workflow approver needs (workflow.candidates).
    "reform.workflow",
    "reform.workflow.update",
    "reform.workflow.publish",
    "approval",
    "approval.todo",
    "approval.todo.decide",
    "approval.done",
)
# 经费审批表: the policy office issues them; finance and the bureau's leaders read them.
FUNDFORM_VIEWER_MENUS = ("finance", "finance.forms")
FUNDFORM_FINANCE_MENUS = (*FUNDFORM_VIEWER_MENUS, "finance.verify")
FUNDFORM_ADMIN_MENUS = (*FUNDFORM_FINANCE_MENUS, "finance.forms.create")
# 办件归档: the policy office archives disbursed cases; finance and the leaders read and download.
ARCHIVE_VIEWER_MENUS = ("finance", "finance.archive", "finance.archive.download")
ARCHIVE_ADMIN_MENUS = (*ARCHIVE_VIEWER_MENUS, "finance.archive.archive")

# 财政报送 (finance app): 政策兑现处 keeps the budgets, publishes approved cases and handles
# objections; the lead departments' chiefs and leaders decide objections on their cases.
FINANCE_ADMIN_MENUS = (
    "finance",
    "finance.budget",
    "finance.budget.update",
    "finance.publicity",
    "finance.publicity.publish",
    "finance.objection",
    "finance.objection.decide",
)
FINANCE_OBJECTION_MENUS = ("finance", "finance.objection", "finance.objection.decide")
FINANCE_BUDGET_VIEWER_MENUS = ("finance", "finance.budget")
FINANCE_VIEWER_MENUS = (*FINANCE_BUDGET_VIEWER_MENUS, "finance.publicity", "finance.objection")
# 报送财政 and 拨付: the policy office submits batches; finance signs for them and pays.
PAYMENT_VIEWER_MENUS = ("finance", "finance.submission", "finance.disbursement")
PAYMENT_ADMIN_MENUS = (
    *PAYMENT_VIEWER_MENUS,
    "finance.submission.submit",
    "finance.submission.export",
)
PAYMENT_FINANCE_MENUS = (
    *PAYMENT_VIEWER_MENUS,
    "finance.submission.receive",
    "finance.submission.export",
    "finance.disbursement.record",
    "finance.disbursement.import",
)

ROLE_SPECS: tuple[RoleSpec, ...] = (
    RoleSpec(
        "sys_admin",
        "系统管理员",
        "all",
        SYSTEM_ADMIN_MENUS,
        "system",
        remark="三员之一：用户、部门、岗位、菜单、字典、参数与日历",
    ),
    RoleSpec(
        "sec_admin",
        "安全管理员",
        "all",
        SECURITY_ADMIN_MENUS,
        "security",
        remark="三员之一：角色授权、安全参数、在线会话",
    ),
    RoleSpec(
        "audit_admin",
        "审计管理员",
        "all",
        AUDIT_ADMIN_MENUS,
        "audit",
        remark="三员之一：查阅操作日志与登录日志，校验日志链",
    ),
    RoleSpec(
        "policy_admin",
        "政策管理员",
        # 政策兑现处 keeps the province's one policy library for every issuing department.
        "all",
        (
            *POLICY_ADMIN_MENUS,
            *FUNDFORM_ADMIN_MENUS,
            *FINANCE_ADMIN_MENUS,
            *DASHBOARD_MENUS,
            *PAYMENT_ADMIN_MENUS,
            *ARCHIVE_ADMIN_MENUS,
        ),
        remark="维护政策库、细则与工作流",
    ),
    RoleSpec(
        "window_clerk",
        "窗口受理人员",
        # The single window receives every department's applications (一口受理).
        "all",
        WINDOW_CLERK_MENUS,
        remark="一口受理：受理、补正、不予受理",
    ),
    RoleSpec(
        "city_window_clerk",
        "市级窗口受理人员",
        # A city's window serves its city: the enterprises it registered and their cases.
        "dept_below",
        WINDOW_CLERK_MENUS,
        remark="市级一口受理：本市企业的受理、补正、不予受理",
    ),
    RoleSpec(
        "reviewer",
        "审核科员",
        "dept",
        (*APPROVER_MENUS, *REFORM_REPORTER_MENUS),
        remark="部门并联审核的经办人",
    ),
    RoleSpec(
        "section_chief",
        "科长",
        "dept",
        (*SUPERVISOR_MENUS, *REFORM_REPORTER_MENUS, *FINANCE_OBJECTION_MENUS, *DASHBOARD_MENUS),
        remark="部门审核的复核人",
    ),
    RoleSpec(
        "dept_leader",
        "分管领导",
        "dept_below",
        (*SUPERVISOR_MENUS, *REFORM_REPORTER_MENUS, *FINANCE_OBJECTION_MENUS, *DASHBOARD_MENUS),
        remark="部门审核的审批人",
    ),
    RoleSpec(
        "finance_officer",
        "财政人员",
        "all",
        (
            *FUNDFORM_FINANCE_MENUS,
            *FINANCE_BUDGET_VIEWER_MENUS,
            *PAYMENT_FINANCE_MENUS,
            *ARCHIVE_VIEWER_MENUS,
        ),
        remark="财政报送与拨付",
    ),
    RoleSpec(
        "bureau_leader",
        "营商局领导",
        "all",
        (
            *CASE_VIEWER_MENUS,
            *SUPERVISOR_MENUS,
            *REFORM_VIEWER_MENUS,
            *FUNDFORM_VIEWER_MENUS,
            *FINANCE_VIEWER_MENUS,
            *DASHBOARD_MENUS,
            *PAYMENT_VIEWER_MENUS,
            *ARCHIVE_VIEWER_MENUS,
        ),
        remark="查看全省数据看板",
    ),
    RoleSpec(
        "reform_admin",
        "改革督办员",
        # The bureau supervises every department's reform tasks across the province.
        "all",
        REFORM_ADMIN_MENUS,
        remark="导入改革任务分工表，配置督办审核流程，审核各部门报送的改革进展",
    ),
    RoleSpec(
        "enterprise",
        "企业经办人",
        "self",
        ENTERPRISE_MENUS,
        for_enterprise=True,
        remark="企业用户：申报与查询本企业事项",
    ),
)

DICT_SPECS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "enterprise_size": (
        "企业规模",
        (("large", "大型"), ("medium", "中型"), ("small", "小型"), ("micro", "微型")),
    ),
    "policy_theme": (
        "政策主题",
        (
            ("tech", "科技创新"),
            ("industry", "产业发展"),
            ("talent", "人才引进"),
            ("trade", "外贸外经"),
            ("employment", "稳岗就业"),
            ("digital", "数字化转型"),
        ),
    ),
    "promotion_scope": ("推广范围", (("province", "全省"), ("ftz", "自贸试验区及协同区"))),
    "notice_channel": ("通知渠道", (("inbox", "站内信"), ("email", "电子邮件"), ("sms", "短信"))),
}


def walk(specs: tuple[MenuSpec, ...], parent_key: str | None = None):
    for order, spec in enumerate(specs, start=1):
        yield spec, parent_key, order
        yield from walk(spec.children, spec.key)


def sync_builtin_data(using: str = DEFAULT_DB_ALIAS, **_kwargs) -> None:
    """post_migrate hook: create what is missing, never overwrite administrators' edits (a
    built-in menu's route is not theirs to edit: it follows the code, ``sync_menus``)."""
    if not schema_is_current(using):
        return
    with transaction.atomic():
        menus, added = sync_menus()
        sync_roles(menus, added)
        sync_parameters()
        sync_dictionaries()


def sync_menus() -> tuple[dict, set[str]]:
    """Create missing built-in menus and point existing ones at their route as the code names
    it (a page that moved to another app keeps its menu); returns all menus by key and the keys
    just added."""
    from .models import Menu

    existing = {m.key: m for m in Menu.objects.all()}
    added: set[str] = set()
    for spec, parent_key, order in walk(MENU_TREE):
        if spec.key in existing:
            menu = existing[spec.key]
            # Administrators cannot edit a built-in route (``MENU_LOCKED_WHEN_BUILTIN``); saving
            # (not ``update``) tells the identity cache, so holders' sidebars are redrawn.
            if menu.builtin and menu.url_name != spec.url_name:
                menu.url_name = spec.url_name
                menu.save(update_fields=["url_name"])
            continue
        added.add(spec.key)
        existing[spec.key] = Menu.objects.create(
            key=spec.key,
            name=spec.name,
            kind=spec.kind,
            url_name=spec.url_name,
            icon=spec.icon,
            permission=spec.permission,
            order=order * 10,
            builtin=True,
            parent=existing.get(parent_key) if parent_key else None,
        )
    return existing, added


def sync_roles(menus: dict, added: set[str]) -> None:
    """Grant built-in roles their menus: all when the role is new; after an upgrade only
    the menus that upgrade added, so grants an administrator removed stay removed."""
    from .models import Role

    for order, spec in enumerate(ROLE_SPECS, start=1):
        role, created = Role.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "data_scope": spec.data_scope,
                "admin_kind": spec.admin_kind,
                "for_enterprise": spec.for_enterprise,
                "builtin": True,
                "order": order * 10,
                "remark": spec.remark,
            },
        )
        if created:
            role.menus.set([menus[k] for k in spec.menu_keys])
        elif spec.admin_kind:
            # The three administrators' grants are fixed by 三员分立; keep them whole.
            role.menus.add(*[menus[k] for k in spec.menu_keys])
        else:
            role.menus.add(*[menus[k] for k in spec.menu_keys if k in added])


def sync_parameters() -> None:
    from .models import SystemParameter
    from .params import PARAM_SPECS, format_value

    have = set(SystemParameter.objects.values_list("key", flat=True))
    SystemParameter.objects.bulk_create(
        SystemParameter(
            key=s.key,
            name=s.name,
            value=format_value(s.value_type, s.default),
            value_type=s.value_type,
            group=s.group,
            remark=s.remark,
            min_value=s.min_value,
            max_value=s.max_value,
        )
        for s in PARAM_SPECS
        if s.key not in have
    )


def sync_dictionaries() -> None:
    from .models import DictItem, DictType

    for code, (name, items) in DICT_SPECS.items():
        dict_type, created = DictType.objects.get_or_create(
            code=code, defaults={"name": name, "builtin": True}
        )
        if created:
            DictItem.objects.bulk_create(
                DictItem(dict_type=dict_type, value=v, label=label, order=i * 10)
                for i, (v, label) in enumerate(items, start=1)
            )

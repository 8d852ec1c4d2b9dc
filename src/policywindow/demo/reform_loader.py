"""演示数据 for 改革任务督办: the reform table the product comes from, imported through the real
service, and progress reports in every state of the review.

The scripted reports are filed and reviewed in one step, as before the bureau drew a review
workflow; then the bureau publishes a two-level 督办审核 workflow through the designer (牵头部门
科长初审, then 省营商局督办复核) and one more report is filed under it, waiting at the first level.

Run after ``system.demo.load_demo`` (it needs the demo departments and users). Idempotent: the
import matches what is there, and the scripted reports and the workflow are added only to a
programme that has no reports yet.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from policywindow.core.pdf_render import render_pdf
from policywindow.reforms.models import SUBJECT_TYPE, ProgressReport, ReformTask
from policywindow.reforms.services import reports
from policywindow.reforms.services.importing import ImportOptions, import_table
from policywindow.system.demo import DEMO_PASSWORD
from policywindow.system.models import Department, Role, User
from policywindow.workflow.services import designer

from .case_loader import working_days_ago

# The 第四批 table of the China (Liaoning) FTZ (a copy of ../shared/data/000_d473786d2f100032.txt).
TABLE = Path(__file__).parent / "data" / "reform_tasks_liaoning_ftz_batch4.txt"
PROVINCE_DAYS, FTZ_DAYS = 120, 40
# The table is issued relative to the day the demo is loaded: the 全省 items fall due this many
# working days after it (weeks of plausible "推进中"), so the 自贸试验区 items (40 working days)
# are long past their deadline, as in a programme half-way through.
PROVINCE_LEAD_DAYS = 30
BUREAU = "YSJ"
SUPERVISOR = "ysj_reform"


@dataclass(frozen=True)
class ReformUser:
    username: str
    real_name: str
    department: str
    role: str
    mobile: str


USERS = (
    ReformUser(SUPERVISOR, "孟凡宇", "YSJ", "reform_admin", "13840000014"),
    ReformUser("sy_reform", "邵佳", "SY-YSJ", "reviewer", "13840000052"),
    ReformUser("dlhg_clerk", "秦海", "DLHG", "reviewer", "13840000091"),
    # 初审 of 大连海关's reports in the 督办审核 workflow (牵头部门 · 科长).
    ReformUser("dlhg_chief", "于洋", "DLHG", "section_chief", "13840000092"),
)


@dataclass(frozen=True)
class Filing:
    """One scripted report: who files what on which task, and what the bureau does with it."""

    reporter: str
    number: int
    department: str
    locality: str
    kind: str
    percent: int
    text: str
    figures: tuple[tuple[str, str, str], ...] = ()
    review: tuple[str, ...] = ()  # "accept" | "return" | "resubmit", in order
    # Filed once the 督办审核 workflow is published: its approvers review it.
    via_workflow: bool = False


P, C = "progress", "completion"
FILINGS = (
    Filing(
        "sy_reform",
        2,
        "YSJ",
        "SY-YSJ",
        C,
        100,
        "沈阳市政策兑现单一窗口已上线运行，实现一表申请、一口受理、并联审核、一周办结；"
        "市级 38 项惠企政策全部纳入政策库统一配置。",
        (("纳入政策细则", "38", "项"), ("平均办结时间", "4.2", "个工作日")),
        ("accept",),
    ),
    Filing(
        "dlhg_clerk",
        15,
        "DLHG",
        "DL-YSJ",
        C,
        100,
        "维修物品综保区流转新模式已在大连湾里综保区落地，航空发动机维修企业全部纳入。",
        (("惠及企业", "6", "家"), ("节约物流成本", "320", "万元")),
        ("accept",),
    ),
    Filing(
        "dlhg_clerk",
        16,
        "DLHG",
        "DL-YSJ",
        P,
        50,
        "已完成“特定附条件放行”作业流程改造，正在大窑湾口岸试运行，鲜活易腐商品平均通关时间明显缩短。",
        (("试运行批次", "42", "批"),),
    ),
    Filing(
        "dlhg_clerk",
        17,
        "DLHG",
        "SY-YSJ",
        C,
        100,
        "进口汽车零部件“免抽样送检”监管模式已在沈阳关区推开，采信第三方检验结果。",
        (("采信检验报告", "215", "份"),),
        ("return", "resubmit"),
    ),
    Filing(
        "dlhg_clerk",
        18,
        "DLHG",
        "AS-YSJ",
        P,
        30,
        "已与鞍山市商务局对接进口汽车零部件企业名单，正在开展政策宣讲。",
        (),
        ("return",),
    ),
    Filing(
        "gxt_clerk",
        33,
        "GXT",
        "SY-YSJ",
        P,
        40,
        "工业互联网标识解析二级节点已接入 120 家企业，供应链金融平台完成联调。",
        (("接入企业", "120", "家"),),
        ("accept",),
    ),
    Filing(
        "gxt_clerk",
        43,
        "GXT",
        "DL-YSJ",
        C,
        100,
        "大连“产品+服务”国际合作项目已签约 3 个，形成可复制的合作模式。",
        (("签约项目", "3", "个"),),
    ),
    Filing(
        "kjt_clerk",
        46,
        "KJT",
        "SY-YSJ",
        C,
        100,
        "沈阳已建成科技人才驿站 12 个，柔性引进高层次人才 86 名。",
        (("人才驿站", "12", "个"), ("柔性引才", "86", "名")),
        ("accept",),
    ),
    Filing(
        "kjt_clerk",
        46,
        "KJT",
        "DL-YSJ",
        P,
        70,
        "大连已建成科技人才驿站 7 个，正在完善驿站服务规范。",
        (("人才驿站", "7", "个"),),
        ("accept",),
    ),
    Filing(
        "gxt_clerk",
        44,
        "GXT",
        "SY-YSJ",
        P,
        60,
        "东软医疗与两家金融机构签订产融合作协议，出口信用保险覆盖 3 个国别市场，"
        "正在梳理可复制的操作指引。",
        (("签约金融机构", "2", "家"), ("覆盖国别市场", "3", "个")),
        via_workflow=True,
    ),
)
RETURN_COMMENT = "请补充采信检验报告的企业清单和一个办理实例，并附正式印发的工作方案。"


@transaction.atomic
def load_reform_demo() -> None:
    """Add the demo accounts, import the demo table and file the scripted reports."""
    _load_users()
    supervisor = User.objects.get(username=SUPERVISOR)
    report = import_table(
        supervisor,
        TABLE.read_bytes(),
        source_name=TABLE.name,
        options=ImportOptions(
            bureau=Department.objects.get(code=BUREAU),
            issued_on=issued_on(timezone.localdate()),
            province_days=PROVINCE_DAYS,
            ftz_days=FTZ_DAYS,
        ),
    )
    if ProgressReport.objects.filter(task__item__programme_id=report.programme_id).exists():
        return
    for filing in FILINGS:
        if not filing.via_workflow:
            _file(filing, report.programme_id, supervisor)
    _publish_review_workflow(supervisor)
    for filing in FILINGS:
        if filing.via_workflow:
            _file(filing, report.programme_id, supervisor)


def review_workflow_spec() -> dict:
    """The demo's 督办审核 workflow: the responsible department's 科长, then the bureau's
    改革督办员 (both 或签)."""
    bureau = Department.objects.get(code=BUREAU)
    return {
        "levels": [
            _review_level(
                "lead_review",
                "牵头部门初审",
                {"kind": "lead_dept_role", "role_code": "section_chief"},
            ),
            _review_level(
                "bureau_review",
                "省营商局督办复核",
                {"kind": "dept_role", "department_id": bureau.pk, "role_code": "reform_admin"},
            ),
        ]
    }


def _review_level(key: str, name: str, assignee: dict) -> dict:
    node = {"key": key, "name": name, "assignee": assignee, "limit": {"value": 5, "unit": "days"}}
    return {"name": name, "parallel": True, "nodes": [node]}


def _publish_review_workflow(supervisor: User) -> None:
    note = "演示数据：两级督办审核（牵头部门初审、省营商局督办复核）"
    designer.save_draft(supervisor, SUBJECT_TYPE, review_workflow_spec(), note)
    designer.publish(supervisor, SUBJECT_TYPE)


def issued_on(today: dt.date) -> dt.date:
    """The demo table's issue date: ``PROVINCE_LEAD_DAYS`` working days before the 全省 items
    fall due (暂定 where they fall past the loaded holiday table)."""
    return working_days_ago(PROVINCE_DAYS - PROVINCE_LEAD_DAYS, today)


def _load_users() -> None:
    existing = set(
        User.objects.filter(username__in=[u.username for u in USERS]).values_list(
            "username", flat=True
        )
    )
    password = make_password(DEMO_PASSWORD)
    for spec in USERS:
        if spec.username in existing:
            continue
        user = User(
            username=spec.username,
            real_name=spec.real_name,
            mobile=spec.mobile,
            department=Department.objects.get(code=spec.department),
            must_change_password=False,
            remark="演示数据",
        )
        user.password = password
        user.save()
        user.roles.set([Role.objects.get(code=spec.role)])


def _file(filing: Filing, programme_id: int, supervisor: User) -> None:
    reporter = User.objects.get(username=filing.reporter)
    task = ReformTask.objects.get(
        item__programme_id=programme_id,
        item__number=filing.number,
        department__code=filing.department,
        locality__code=filing.locality,
    )
    report = reports.submit_report(reporter, task, _input(filing, task))
    for step in filing.review:
        if step == "accept":
            reports.accept_report(supervisor, report, "材料齐全，成效明显，予以采纳。")
        elif step == "return":
            reports.return_report(supervisor, report, RETURN_COMMENT)
        else:
            reports.resubmit_report(reporter, report, _input(filing, task, revised=True))


def _input(filing: Filing, task: ReformTask, *, revised: bool = False) -> reports.ReportInput:
    text = filing.text + ("已按审核意见补充企业清单和办理实例。" if revised else "")
    files = [_evidence(task, revised)] if filing.kind == C else []
    return reports.ReportInput(
        kind=filing.kind,
        text=text,
        percent=filing.percent,
        figures=list(filing.figures),
        files=files,
    )


def _evidence(task: ReformTask, revised: bool) -> SimpleUploadedFile:
    name = "工作方案（修订）.pdf" if revised else "落实情况说明.pdf"
    return SimpleUploadedFile(name, _evidence_pdf(task.item.title), "application/pdf")


@functools.cache
def _evidence_pdf(title: str) -> bytes:
    html = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><style>'
        '@page { size: A5; margin: 16mm 14mm; } body { font-family: "Noto Sans CJK SC"; }'
        "h1 { font-weight: normal; font-size: 16pt; text-align: center; }"
        ".mark { border: 1px solid #b02a37; color: #b02a37; padding: 2mm 3mm; margin-top: 10mm; }"
        f"</style></head><body><h1>{escape(title)}<br>落实情况说明（演示）</h1>"
        '<p class="mark">演示数据：本文件由系统演示程序生成，仅用于演示。</p></body></html>'
    )
    return render_pdf(html, what="演示落实情况说明")

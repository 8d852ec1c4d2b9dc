"""Demo applications (申报) in every status the product has so far (all fictional).

``ages`` are working days before today: the filing, then each later status change
(补正, 补正后重新提交, the window's decision, the final approval). A case is identified by its
enterprise and rule, so each pair appears once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policywindow.applications.models import ApplicationStatus as S


@dataclass(frozen=True)
class DemoCase:
    enterprise: str
    rule: str
    outcome: str
    ages: tuple[int, ...]
    # A window clerk filing at the counter (channel window); "" = the enterprise's user online.
    filed_by: str = ""
    answers: dict = field(default_factory=dict)
    # 补正: (item key, what to fix). With ``resubmitted`` the enterprise fixed them already.
    fixes: tuple[tuple[str, str], ...] = ()
    resubmitted: bool = False
    note: str = ""
    # Review decisions after acceptance: (approver's username, opinion), each an approval.
    review: tuple[tuple[str, str], ...] = ()


# Answers a filer gives per rule (the form pre-fills enterprise attributes itself).
RULE_ANSWERS: dict[str, dict] = {
    "KJ-GQ-01": {"cert_no": "GR202621000123", "cert_date": "2026-10-16"},
    "KJ-GQ-02": {"cert_no": "GR202621000457"},
    "KJ-YF-01": {"project_count": "12"},
    "GX-ZJ-01": {"list_batch": "第七批"},
    "GX-ST-01": {"equipment_name": "五轴联动立式加工中心（演示）", "premium": "1260000.00"},
    "SW-CX-01": {"premium": "386000.00", "policy_no": "SCXL2026-21-000318"},
    "RS-WG-01": {"unemployment_premium": "412600.00", "layoff": "false"},
    "RS-WG-02": {"unemployment_premium": "1865000.00"},
    "KJ-CXQ-01": {
        "service_org": "辽宁省检验检测认证中心（演示）",
        "service_type": ["检验检测", "研发设计"],
        "service_fee": "184000.00",
    },
    "GX-SZ-01": {
        "investment": "18600000.00",
        "project_summary": "建成数控加工、智能仓储与制造执行系统（MES）一体化的智能工厂，"
        "关键工序数控化率 92%，设备联网率 95%。（演示）",
    },
    "GX-SZ-02": {"investment": "6200000.00"},
}

ACCEPT_NOTE = "材料齐全，符合受理条件，予以受理，转牵头部门审核"
# Outcomes reached by approving every task of the workflow; 财政报送's demo then publishes them.
GRANTED = (S.APPROVED, S.IN_PUBLICITY, S.PUBLICITY_PASSED)
# The opinion each node of the demo workflow gives when it approves (workflow_data).
NODE_OPINIONS = {
    "lead_review": "材料真实完整，符合细则规定的兑现条件，同意。",
    "finance_review": "资金渠道已核实，预算额度充足，同意。",
    "lead_leader": "同意兑现。",
    "bureau_leader": "同意。",
}

CASES: tuple[DemoCase, ...] = (
    # 沈阳精工数控机床有限公司 (qiye_zhang): one case of each kind an enterprise meets.
    DemoCase(
        "沈阳精工数控机床有限公司",
        "KJ-GQ-01",
        S.IN_REVIEW,
        (4, 2),
        review=(
            ("kjt_clerk", "高新技术企业证书真实有效，认定日期在奖励范围内，同意。"),
            ("czt_officer", "资金渠道已核实，同意。"),
        ),
    ),
    DemoCase(
        "沈阳精工数控机床有限公司",
        "KJ-YF-01",
        S.SUPPLEMENT_REQUIRED,
        (3, 1),
        fixes=(
            ("audit_report", "专项审计报告缺少会计师事务所盖章页，请上传完整的盖章版本"),
            ("credit_promise", "信用承诺书未加盖企业公章，请盖章后扫描上传"),
        ),
        note="其余材料已核验齐全，无需重复提交；请于 10 个工作日内完成补正",
    ),
    DemoCase("沈阳精工数控机床有限公司", "GX-ZJ-01", S.SUBMITTED, (1,)),
    DemoCase(
        "沈阳精工数控机床有限公司",
        "RS-WG-01",
        S.DRAFT,
        (0,),
        answers={"unemployment_premium": "412600.00"},
    ),
    # 大连星海软件开发有限公司 (qiye_li): an overdue review after one round of 补正.
    DemoCase(
        "大连星海软件开发有限公司",
        "KJ-YF-01",
        S.IN_REVIEW,
        (16, 14, 13, 11),
        fixes=(("audit_report", "审计报告所属年度应为上一年度，请更换为 2025 年度专项审计报告"),),
        resubmitted=True,
    ),
    DemoCase("大连星海软件开发有限公司", "GX-ZJ-01", S.SUBMITTED, (2,)),
    DemoCase(
        "大连星海软件开发有限公司",
        "KJ-CXQ-01",
        S.DRAFT,
        (1,),
        answers={"service_org": "大连理工技术转移中心（演示）", "service_type": ["技术转移"]},
    ),
    # Filed at the window (窗口代办) for enterprises without an online account.
    DemoCase("沈阳新松智造装备股份有限公司", "GX-ST-01", S.SUBMITTED, (3,), filed_by="sy_clerk"),
    DemoCase("沈阳华晨汽车零部件有限公司", "RS-WG-02", S.IN_REVIEW, (5, 3), filed_by="clerk"),
    DemoCase("大连渤海海洋食品有限公司", "SW-CX-01", S.SUBMITTED, (2,), filed_by="dl_clerk"),
    DemoCase(
        "大连中山国际贸易有限公司",
        "SW-CX-01",
        S.NOT_ACCEPTED,
        (8, 7),
        filed_by="dl_clerk",
        note="保费发票抬头及保单投保人均为关联企业“大连中山进出口有限公司”，"
        "不是申报企业本身，不属于本细则支持范围，不予受理",
    ),
    DemoCase(
        "沈阳云启软件技术有限公司",
        "KJ-CXQ-01",
        S.SUPPLEMENT_REQUIRED,
        (4, 2),
        filed_by="clerk",
        fixes=(
            ("service_contract", "服务合同缺少服务机构盖章页，请补充完整合同扫描件"),
            ("service_fee", "服务费金额应与发票金额 168,000.00 元一致，请更正"),
        ),
        note="合同、发票与申报金额须相互一致，请核对后一并更正",
    ),
    DemoCase(
        "鞍山钢联特种材料有限公司",
        "GX-SZ-01",
        S.IN_REVIEW,
        (3, 2),
        filed_by="clerk",
        review=(("czt_officer", "预算额度充足，同意。"),),
    ),
    DemoCase("锦州汽车电机有限公司", "GX-SZ-02", S.SUBMITTED, (4,), filed_by="clerk"),
    DemoCase("沈阳北方药业集团有限公司", "GX-ZJ-02", S.IN_REVIEW, (14, 12), filed_by="sy_clerk"),
    DemoCase(
        "大连金普轴承股份有限公司",
        "GX-ZJ-01",
        S.NOT_ACCEPTED,
        (10, 9),
        filed_by="dl_clerk",
        note="该企业于第四批入选“小巨人”名单，2023 年已享受同类奖励，"
        "不属于本细则“新认定”的支持范围，不予受理",
    ),
    DemoCase("营口大石桥耐火材料有限公司", "RS-WG-01", S.SUBMITTED, (0,), filed_by="clerk"),
    DemoCase(
        "鞍山海城菱镁新材料有限公司",
        "KJ-GQ-02",
        S.DRAFT,
        (0,),
        filed_by="clerk",
        answers={"cert_no": "GR202621000457"},
    ),
    # Approved through the whole workflow (every task approved); the two oldest passed the
    # first publicity, two are in the current one, two wait to be published (finance_loader).
    DemoCase(
        "沈阳铁西重型装备制造有限公司",
        "KJ-GQ-01",
        S.PUBLICITY_PASSED,
        (22, 21, 17),
        filed_by="clerk",
        answers={"cert_no": "GR202621000311", "cert_date": "2026-10-16"},
    ),
    DemoCase(
        "大连港湾船舶配套有限公司",
        "KJ-GQ-01",
        S.PUBLICITY_PASSED,
        (21, 20, 17),
        filed_by="dl_clerk",
        answers={"cert_no": "GR202621000365", "cert_date": "2026-10-16"},
    ),
    DemoCase(
        "沈阳新松智造装备股份有限公司",
        "KJ-GQ-02",
        S.IN_PUBLICITY,
        (10, 9, 5),
        filed_by="sy_clerk",
        answers={"cert_no": "GR202621000612"},
    ),
    DemoCase(
        "大连海晟精细化工有限公司",
        "SW-CX-01",
        S.IN_PUBLICITY,
        (9, 8, 5),
        filed_by="dl_clerk",
        answers={"premium": "254000.00", "policy_no": "SCXL2026-21-000542"},
    ),
    DemoCase(
        "沈阳北方药业集团有限公司",
        "KJ-GQ-01",
        S.APPROVED,
        (6, 5, 1),
        filed_by="sy_clerk",
        answers={"cert_no": "GR202621000188", "cert_date": "2026-10-16"},
    ),
    DemoCase("沈阳盛京检测认证有限公司", "KJ-CXQ-01", S.APPROVED, (5, 4, 1), filed_by="clerk"),
)

"""The data board's headline figures, each defined once: what is counted and as of when.

The page shows each definition beside its figure and the export lists them; ``selectors``
computes them as written here (``tests/dashboard/test_figures.py`` recounts them from the rows).
"""

from __future__ import annotations

from dataclasses import replace

from policywindow.applications.selectors_review import CASE_AVERAGE, CASE_ON_TIME
from policywindow.core.figures import Figure, registry

FILED = "期间按申报提交日期（北京时间）计；阶段和金额以统计时（打开页面时）的状态为准。"

FIGURES: dict[str, Figure] = registry(
    Figure(
        "total",
        "申报件数",
        "期间内提交的申报（不含草稿），按当前所处阶段分列：受理中（待受理、待补正）、审核中、"
        "已通过待拨付、已拨付、未通过或终止。",
        FILED,
    ),
    Figure(
        "approved",
        "审核通过",
        "期间申报中已审核通过的件数（含公示、异议处理、待拨付、已拨付、已办结）；"
        "通过率 = 审核通过 ÷（审核通过 + 审核不通过、不予受理、已撤回）。",
        FILED,
    ),
    Figure(
        "approved_amount",
        "核定金额",
        "期间申报中审核通过案件的核定金额合计；已拨付为其中已拨付、已办结案件的核定金额。",
        FILED,
    ),
    Figure(
        "budget",
        "预算执行",
        "期间所涉年度、数据范围内细则的年度预算已核定金额合计 ÷ 年度预算合计。",
        "以统计时的预算台账为准（审核通过即计入已核定）。",
    ),
    replace(CASE_ON_TIME, key="on_time_rate", label="一周办结按期率"),
    replace(CASE_AVERAGE, key="avg_days"),
)

"""Demo workflows: every demo rule is reviewed the same way (one week, DESIGN.md §1).

1. 部门并联审核 — the lead department's reviewer and the finance department's, in parallel;
2. 分管领导审批 — the lead department's leader (a rejection returns to level 1);
3. 营商局领导审批 — only when more than 1,000,000 yuan is requested.
Departments are named by code here and turned into ids by the loader.
"""

from __future__ import annotations

from typing import Any


def standard_workflow(department_ids: dict[str, int]) -> dict[str, Any]:
    def node(key: str, name: str, assignee: dict, days: int, **fields: Any) -> dict[str, Any]:
        return {
            "key": key,
            "name": name,
            "assignee": assignee,
            "mode": "any",
            "limit": {"value": days, "unit": "days"},
            "on_reject": fields.get("on_reject", "end"),
            "on_timeout": fields.get("on_timeout", "escalate"),
            "condition": fields.get("condition", ""),
        }

    # 财政厅's reviewers (审核科员 there: czt_officer), who can see and decide the task; the
    # payment role 财政人员 grants no approval, so a node naming it could never be cleared.
    finance = {
        "kind": "dept_role",
        "department_id": department_ids["CZT"],
        "role_code": "reviewer",
    }
    bureau = {
        "kind": "dept_role",
        "department_id": department_ids["YSJ"],
        "role_code": "bureau_leader",
    }
    return {
        "levels": [
            {
                "name": "部门并联审核",
                "parallel": True,
                "nodes": [
                    node(
                        "lead_review",
                        "牵头部门审核",
                        {"kind": "lead_dept_role", "role_code": "reviewer"},
                        2,
                        on_reject="supplement",
                    ),
                    node("finance_review", "财政厅审核", finance, 2),
                ],
            },
            {
                "name": "分管领导审批",
                "parallel": True,
                "nodes": [
                    node(
                        "lead_leader",
                        "牵头部门分管领导审批",
                        {"kind": "lead_dept_role", "role_code": "dept_leader"},
                        1,
                        on_reject="previous_level",
                    ),
                ],
            },
            {
                "name": "营商局领导审批",
                "parallel": True,
                "nodes": [
                    node(
                        "bureau_leader",
                        "营商局领导审批",
                        bureau,
                        1,
                        on_timeout="remind",
                        condition="requested_amount > 1000000 # 申请金额超过 100 万元",
                    ),
                ],
            },
        ]
    }

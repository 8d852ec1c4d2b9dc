"""REST API of 政策计算器 (registered in policywindow/api/root.py): the enterprise's matches."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from policywindow.api.schemas import ErrorOut, labelled_enum
from policywindow.api.security import require
from policywindow.core.errors import NotFound
from policywindow.enterprises.selectors import enterprise_of
from policywindow.policies import engine

from . import selectors

router = Router(tags=["政策计算器"])
EligibilityValue = labelled_enum(engine.STATUS_LABELS, "资格预审结果")


class MatchOut(Schema):
    rule: str = Field(description="细则编码")
    title: str
    policy: str
    version: int
    status: EligibilityValue
    status_label: str
    expected_amount: str | None = Field(description="预计兑现金额（元，两位小数；仅符合条件时）")
    failures: list[str] = Field(
        description="不满足的条件，如“上年研发费用 2,400,000.00 元，低于要求的 …”"
    )
    unknowns: list[str] = Field(description="无法判断的原因，如“缺少数据：上年研发费用”")
    excluded_by: str = Field(
        description="符合条件但不计入合计的原因：同一互斥组只计已申报或预计金额较高的一项"
    )
    auto_grant: bool = Field(description="免申即享：符合条件的企业由系统自动立案")


class MatchesOut(Schema):
    enterprise: str
    eligible: int = Field(description="可享受的细则数（互斥组只计一项）")
    total: int
    expected_total: str = Field(description="预计可兑现合计（元，两位小数；互斥组只计一项）")
    items: list[MatchOut]


def _out(match: selectors.Match) -> MatchOut:
    version = match.version
    return MatchOut(
        rule=match.rule.code,
        title=version.title,
        policy=match.rule.policy.title,
        version=version.version,
        status=match.status,
        status_label=engine.STATUS_LABELS[match.status],
        expected_amount=None if match.amount is None else f"{match.amount:.2f}",
        failures=list(match.failures),
        unknowns=list(match.unknowns),
        excluded_by=match.excluded_by,
        auto_grant=version.auto_grant,
    )


@router.get("/matches", response={200: MatchesOut, 403: ErrorOut, 404: ErrorOut})
@require("portal:calculator:view")
def my_matches(request: HttpRequest) -> MatchesOut:
    """本企业的政策匹配结果：每项已发布细则是否符合条件、预计兑现金额和不符合的原因。"""
    enterprise = enterprise_of(request.user)
    if enterprise is None:
        raise NotFound("您的账号尚未关联企业，请联系政务服务窗口")
    matches = selectors.enterprise_matches(enterprise)
    summary = selectors.summary(matches)
    return MatchesOut(
        enterprise=enterprise.name,
        eligible=summary.eligible,
        total=summary.total,
        expected_total=f"{summary.amount:.2f}",
        items=[_out(m) for m in matches],
    )

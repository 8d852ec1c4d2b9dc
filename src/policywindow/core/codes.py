"""National codes: the unified social credit code and the enterprise size classification.

- 统一社会信用代码 (GB 32100-2015, DESIGN.md §3): 18 characters from
  ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (values 0–30); weights W_i = 3^(i−1) mod 31
  for positions 1–17; check value C18 = (31 − Σ C_i·W_i mod 31) mod 31.
- 企业规模 per 《统计上大中小微型企业划分办法（2017）》 (国统字〔2017〕213号): 大型、中型
  和小型企业须同时满足所列指标的下限，否则下划一档；微型企业只须满足所列指标中的一项即可。
  Industry scopes follow GB/T 4754-2017 (附注 2 of the document).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import ValidationFailed

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_LENGTH = 18
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_VALUES = {char: value for value, char in enumerate(USCC_ALPHABET)}


def _uscc_refusal(reason: str) -> ValidationFailed:
    return ValidationFailed(f"统一社会信用代码不正确：{reason}", details={"credit_code": [reason]})


def uscc_check_char(first17: str) -> str:
    """The check character for the first 17 characters (already known to be legal)."""
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _check_characters(code: str) -> None:
    for position, char in enumerate(code, start=1):
        if char in _VALUES:
            continue
        if char in "IOSVZ":
            why = "字母 I、O、S、V、Z 不用于统一社会信用代码"
        elif char.isascii() and char.isalpha():
            why = "小写字母无效，请使用大写字母"
        else:
            why = "只能使用数字和大写字母（不含 I、O、S、V、Z）"
        raise _uscc_refusal(f"第 {position} 位“{char}”是非法字符：{why}")


def validate_uscc(code: str) -> None:
    """Raise ``ValidationFailed`` (field ``credit_code``) naming exactly what is wrong."""
    if not code:
        raise _uscc_refusal("请填写统一社会信用代码")
    if len(code) != USCC_LENGTH:
        raise _uscc_refusal(f"应为 18 位，实际为 {len(code)} 位")
    _check_characters(code)
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise _uscc_refusal(f"校验码错误：第 18 位应为“{expected}”，实际为“{code[17]}”")


def normalize_uscc(code: str) -> str:
    """What people type: surrounding and inner spaces removed, letters upper-cased."""
    return "".join(code.split()).upper()


def make_uscc(first17: str) -> str:
    """Append the check character (for demo data and tests)."""
    if len(first17) != 17:
        raise ValueError(f"make_uscc needs 17 characters, got {len(first17)}")
    _check_characters(first17)
    return first17 + uscc_check_char(first17)


# ---------------------------------------------------------------- GB/T 4754-2017 sections

# 门类 -> its range of 大类 numbers.
SECTION_DIVISIONS = {
    "A": (1, 5),
    "B": (6, 12),
    "C": (13, 43),
    "D": (44, 46),
    "E": (47, 50),
    "F": (51, 52),
    "G": (53, 60),
    "H": (61, 62),
    "I": (63, 65),
    "J": (66, 69),
    "K": (70, 70),
    "L": (71, 72),
    "M": (73, 75),
    "N": (76, 79),
    "O": (80, 82),
    "P": (83, 83),
    "Q": (84, 85),
    "R": (86, 90),
    "S": (91, 96),
    "T": (97, 97),
}


def industry_section_of(code: str) -> str:
    """The 门类 letter of a 门类, 大类, 中类 or 小类 code ("39" -> "C", "702" -> "K")."""
    if code in SECTION_DIVISIONS:
        return code
    number = int(code[:2]) if code[:2].isdigit() else -1
    for section, (first, last) in SECTION_DIVISIONS.items():
        if first <= number <= last:
            return section
    raise ValueError(f"not a GB/T 4754-2017 industry code: {code!r}")


# ---------------------------------------------------------------- enterprise size

LARGE, MEDIUM, SMALL, MICRO = "large", "medium", "small", "micro"
EMPLOYEES, REVENUE, TOTAL_ASSETS = "employees", "revenue", "total_assets"
INDICATOR_LABELS = {EMPLOYEES: "从业人员", REVENUE: "营业收入", TOTAL_ASSETS: "资产总额"}
TEN_THOUSAND = Decimal(10000)


@dataclass(frozen=True)
class SizeStandard:
    """One row group of the 2017 table: per indicator the lower bounds of 大型, 中型, 小型.

    Employees are persons; money bounds are in 万元 as printed in the document.
    """

    name: str
    bounds: dict[str, tuple[int, int, int]]


AGRICULTURE = SizeStandard("农、林、牧、渔业", {REVENUE: (20000, 500, 50)})
INDUSTRY = SizeStandard("工业", {EMPLOYEES: (1000, 300, 20), REVENUE: (40000, 2000, 300)})
CONSTRUCTION = SizeStandard(
    "建筑业", {REVENUE: (80000, 6000, 300), TOTAL_ASSETS: (80000, 5000, 300)}
)
WHOLESALE = SizeStandard("批发业", {EMPLOYEES: (200, 20, 5), REVENUE: (40000, 5000, 1000)})
RETAIL = SizeStandard("零售业", {EMPLOYEES: (300, 50, 10), REVENUE: (20000, 500, 100)})
TRANSPORT = SizeStandard("交通运输业", {EMPLOYEES: (1000, 300, 20), REVENUE: (30000, 3000, 200)})
WAREHOUSING = SizeStandard("仓储业", {EMPLOYEES: (200, 100, 20), REVENUE: (30000, 1000, 100)})
POSTAL = SizeStandard("邮政业", {EMPLOYEES: (1000, 300, 20), REVENUE: (30000, 2000, 100)})
ACCOMMODATION = SizeStandard("住宿业", {EMPLOYEES: (300, 100, 10), REVENUE: (10000, 2000, 100)})
CATERING = SizeStandard("餐饮业", {EMPLOYEES: (300, 100, 10), REVENUE: (10000, 2000, 100)})
INFO_TRANSMISSION = SizeStandard(
    "信息传输业", {EMPLOYEES: (2000, 100, 10), REVENUE: (100000, 1000, 100)}
)
SOFTWARE = SizeStandard(
    "软件和信息技术服务业", {EMPLOYEES: (300, 100, 10), REVENUE: (10000, 1000, 50)}
)
REAL_ESTATE_DEVELOPMENT = SizeStandard(
    "房地产开发经营", {REVENUE: (200000, 1000, 100), TOTAL_ASSETS: (10000, 5000, 2000)}
)
PROPERTY_MANAGEMENT = SizeStandard(
    "物业管理", {EMPLOYEES: (1000, 300, 100), REVENUE: (5000, 1000, 500)}
)
LEASING_AND_BUSINESS = SizeStandard(
    "租赁和商务服务业", {EMPLOYEES: (300, 100, 10), TOTAL_ASSETS: (120000, 8000, 100)}
)
OTHER = SizeStandard("其他未列明行业", {EMPLOYEES: (300, 100, 10)})

SECTION_STANDARDS = {
    "A": AGRICULTURE,
    "B": INDUSTRY,  # 工业 = 采矿业，制造业，电力、热力、燃气及水生产和供应业
    "C": INDUSTRY,
    "D": INDUSTRY,
    "E": CONSTRUCTION,
    "L": LEASING_AND_BUSINESS,
}
# Looked up longest code first, so a 中类 (e.g. 591 装卸搬运) overrides its 大类.
CODE_STANDARDS = {
    "51": WHOLESALE,
    "52": RETAIL,
    # 交通运输业: 道路、水上、航空、管道运输，多式联运和运输代理，装卸搬运；不含 53 铁路运输业.
    "54": TRANSPORT,
    "55": TRANSPORT,
    "56": TRANSPORT,
    "57": TRANSPORT,
    "58": TRANSPORT,
    "591": TRANSPORT,
    # 仓储业: 59 装卸搬运和仓储业 except 591 装卸搬运 (592–599 are the 仓储 中类).
    "59": WAREHOUSING,
    "60": POSTAL,
    "61": ACCOMMODATION,
    "62": CATERING,
    "63": INFO_TRANSMISSION,  # 信息传输业 = 电信、广播电视和卫星传输服务，互联网和相关服务
    "64": INFO_TRANSMISSION,
    "65": SOFTWARE,
    # 70 房地产业: 701 开发经营 and 704 租赁经营 (自有房地产经营活动, which the document keeps
    # out of 其他未列明行业) use 房地产开发经营; 702 物业管理; 703 中介 and 709 其他 are 其他未列明.
    "70": REAL_ESTATE_DEVELOPMENT,
    "702": PROPERTY_MANAGEMENT,
    "703": OTHER,
    "709": OTHER,
}


def size_standard(industry_section: str, industry_division: str) -> SizeStandard:
    """The table row for an industry; ``industry_division`` may be a 大类 or a 中类 code."""
    for length in range(len(industry_division), 1, -1):
        standard = CODE_STANDARDS.get(industry_division[:length])
        if standard is not None:
            return standard
    return SECTION_STANDARDS.get(industry_section, OTHER)


def _as_number(indicator: str, value: int | Decimal) -> Decimal:
    number = Decimal(value)
    return number if indicator == EMPLOYEES else number / TEN_THOUSAND


def classify_size(
    industry_section: str,
    industry_division: str,
    employees: int | None,
    revenue_yuan: Decimal | None,
    total_assets_yuan: Decimal | None,
) -> str:
    """The size ("large", "medium", "small" or "micro") by the 2017 rules; money in yuan.

    An indicator the industry's row does not list is ignored. When one it lists is
    unknown (None) the size is still certain if a known one is below the 小型 bound
    (微型 needs only one); otherwise ``ValidationFailed`` names the missing indicator.
    """
    standard = size_standard(industry_section, industry_division)
    given = {EMPLOYEES: employees, REVENUE: revenue_yuan, TOTAL_ASSETS: total_assets_yuan}
    values = {
        indicator: _as_number(indicator, given[indicator])
        for indicator in standard.bounds
        if given[indicator] is not None
    }
    for tier, size in enumerate((LARGE, MEDIUM, SMALL)):
        reached = [
            values[ind] >= bounds[tier] for ind, bounds in standard.bounds.items() if ind in values
        ]
        if not all(reached):
            continue
        missing = [ind for ind in standard.bounds if ind not in values]
        if missing:
            raise _missing_indicators(standard, missing)
        return size
    return MICRO


def _missing_indicators(standard: SizeStandard, missing: list[str]) -> ValidationFailed:
    needed = "、".join(INDICATOR_LABELS[ind] for ind in standard.bounds)
    return ValidationFailed(
        f"{standard.name}企业按{needed}划分规模，请填写{'、'.join(INDICATOR_LABELS[i] for i in missing)}",
        details={
            indicator: [f"{standard.name}企业划分规模须填写{INDICATOR_LABELS[indicator]}"]
            for indicator in missing
        },
    )

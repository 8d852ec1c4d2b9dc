"""The batch evaluator (``matching.compiled``) against the engine, on random enterprises and lines.

A run decides ``attr op number`` in Python on zen's view of the numbers, sorts a chunk's rows
once and maps zen over whole columns; ``engine.check_eligibility`` evaluates one enterprise at
a time with zen and is the reference. They must pick the same enterprises for every line —
thresholds are drawn from the enterprises' own values, so boundaries are hit, and money has
up to 16 digits (more than a float holds) with cents.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policywindow.matching.compiled import FactTable, compile_rule
from policywindow.policies import engine
from policywindow.policies.models import RuleVersion

pytestmark = pytest.mark.django_db

MONEY = ("revenue", "total_assets", "rd_spend", "export_value", "registered_capital")
INTEGERS = ("employees", "established_years")
FLAGS = ("high_tech", "tech_sme")
OPERATORS = (">=", ">", "<=", "<", "==", "!=")
RATIOS = ("0", "0.02", "0.5", "1", "5")

money = st.one_of(
    st.decimals(min_value=0, max_value=Decimal("99999999999999.99"), places=2),
    st.sampled_from([Decimal("0"), Decimal("4418510005700.73"), Decimal("99999999999999.99")]),
)
# Now and then a value of another type than the column's: zen decides those rows.
odd = st.sampled_from(["3000000", True, False, "small"])


def enterprises() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {
            **{name: st.one_of(st.none(), money, odd) for name in MONEY},
            "employees": st.one_of(st.none(), st.integers(0, 2_000_000), odd),
            "established_years": st.one_of(st.none(), st.integers(-2, 80)),
            "high_tech": st.one_of(st.booleans(), st.just(1)),
            "tech_sme": st.booleans(),
            "specialized": st.sampled_from(["", "provincial", "little_giant"]),
            "size": st.sampled_from([None, "large", "medium", "small", "micro"]),
            "industry": st.sampled_from(["39", "65", "C"]),
            "region": st.sampled_from(["210100", "210200"]),
        }
    )


def literal(value: object) -> str:
    """A number literal of a rule: one of the enterprises' values (a boundary) or any."""
    if isinstance(value, Decimal):
        return format(value.normalize() if value else Decimal("0"), "f")
    return str(value)


def zen_value_of(expression: str, facts: dict) -> str | None:
    """What zen computes for ``expression`` over one enterprise, as a literal (a boundary)."""
    try:
        text = zen.evaluate_expression(f"string({expression})", engine._context(facts))
        return literal(Decimal(text))
    except Exception:  # zen rejects the values, or the result is no number
        return None


@st.composite
def comparison(draw: st.DrawFn, facts: list[dict]) -> str:
    """``operand op number``: an attribute or arithmetic over two, against a value one of the
    enterprises has (as zen computes it), or any number."""
    left = draw(st.sampled_from(MONEY + INTEGERS))
    operand = left
    if draw(st.booleans()):
        right = draw(st.sampled_from(MONEY + INTEGERS))
        operand = f"{left} {draw(st.sampled_from(('+', '-', '*', '/')))} {right}"
    seen = [v for f in facts if (v := zen_value_of(operand, f)) is not None]
    anything = st.one_of(money.map(literal), st.integers(-5, 5).map(str))
    number = draw(st.one_of(st.sampled_from(seen), anything) if seen else anything)
    return f"{operand} {draw(st.sampled_from(OPERATORS))} {number}"


@st.composite
def lines(draw: st.DrawFn, facts: list[dict]) -> str:
    kind = draw(st.integers(0, 9))
    if kind <= 2:  # operand op number, decided in Python on zen's decimals
        return draw(comparison(facts))
    if kind == 3:  # attr ==/!= true/false
        name = draw(st.sampled_from((*FLAGS, "employees")))
        op, value = draw(st.sampled_from(("==", "!="))), draw(st.sampled_from(("true", "false")))
        return f"{name} {op} {value}"
    if kind in (4, 5):  # parts joined by and (taken apart when Python decides each) or by or
        part = st.one_of(
            comparison(facts), st.sampled_from(["high_tech == true", "size in ['small']"])
        )
        joiner = draw(st.sampled_from([" and ", " or "]))
        return joiner.join(draw(st.lists(part, min_size=2, max_size=3)))
    return draw(
        st.sampled_from(
            [  # zen: batched over columns, or row by row
                f"revenue > 0 and rd_spend / revenue >= {draw(st.sampled_from(RATIOS))}",
                "rd_spend / revenue >= 0.02",  # a zero revenue: zen rejects that row
                "size in ['small', 'micro']",
                "not high_tech",
                "established_years >= 3 or tech_sme == true",
                "size >= 3",
                "abs(employees - 100) < 50",  # a function call: row by row
                "some([1, 2, 3], # == employees)",  # a closure: row by row
                "null != 0",  # no attribute at all
                "project_budget >= 1",  # not a fact: never known
                "specialized == 'little_giant' ? true : employees > 100",
                "specialized == 'a and b' and employees > 1",  # "and" inside a text
                "(employees > 1 and rd_spend > 1) == true",
            ]
        )
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_chunk_picks_exactly_the_enterprises_the_engine_finds_eligible(data):
    facts = data.draw(st.lists(enterprises(), min_size=1, max_size=25), label="facts")
    text = "\n".join(data.draw(st.lists(lines(facts), min_size=1, max_size=2), label="lines"))
    version = RuleVersion(eligibility_expression=text)
    expected = [
        row
        for row, one in enumerate(facts)
        if engine.check_eligibility(version, one).status == engine.ELIGIBLE
    ]
    assert compile_rule(version).eligible_rows(FactTable(facts)) == expected


def test_a_line_without_a_fact_holds_for_every_enterprise_as_in_the_engine():
    facts = [{"employees": 1}, {"employees": None}]
    version = RuleVersion(eligibility_expression="null != 0")
    assert engine.check_eligibility(version, facts[1]).status == engine.ELIGIBLE
    assert compile_rule(version).eligible_rows(FactTable(facts)) == [0, 1]


def test_zens_view_of_a_number_decides_a_boundary_not_pythons():
    """zen reads the float of 4273.7358405 as 4273.735840500001: not <= 4273.7358405."""
    facts = [{"rd_spend": Decimal("4273.7358405")}, {"rd_spend": Decimal("4273.73")}]
    version = RuleVersion(eligibility_expression="rd_spend <= 4273.7358405")
    expected = [
        row
        for row, one in enumerate(facts)
        if engine.check_eligibility(version, one).status == engine.ELIGIBLE
    ]
    assert expected == [1]
    assert compile_rule(version).eligible_rows(FactTable(facts)) == expected


def test_a_row_zen_rejects_leaves_the_others_of_its_batch_to_the_batch():
    facts = [{"rd_spend": Decimal("5"), "revenue": Decimal(n % 7)} for n in range(40)]
    version = RuleVersion(eligibility_expression="rd_spend / revenue >= 1")
    expected = [row for row in range(40) if 0 < row % 7 <= 5]
    assert compile_rule(version).eligible_rows(FactTable(facts)) == expected


def test_a_line_with_or_is_not_taken_apart():
    facts = [{"employees": 5, "tech_sme": False}, {"employees": 500, "tech_sme": True}]
    version = RuleVersion(eligibility_expression="employees >= 100 or tech_sme == true")
    assert compile_rule(version).eligible_rows(FactTable(facts)) == [1]
    version = RuleVersion(eligibility_expression="employees >= 1 or tech_sme == true")
    assert compile_rule(version).eligible_rows(FactTable(facts)) == [0, 1]

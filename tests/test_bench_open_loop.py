"""The open-loop deadline day's arithmetic (bench/_openloop.py): which case files what, what a
step's window counts, when a step is saturated, and how lock waits are told apart."""

from collections import Counter

import pytest
from bench._openloop import (
    CASE,
    IN_TRANSACTION,
    Sample,
    StepPlan,
    headlines,
    pair,
    parse_models,
    plan_steps,
    report_tables,
    step_result,
    target_lines,
    wait_label,
)
from bench._summary import LATENCY, RATE

PLAN = StepPlan(4, 4, rate=8, warm=10, window=10, pause=1, drain=5, offset=0)
START, END = 1000.0, 1010.0


@pytest.mark.parametrize(("enterprises", "rules"), [(50, 5), (5, 50), (6, 4), (7, 7)])
def test_the_first_enterprises_times_rules_cases_file_distinct_pairs(enterprises, rules):
    pairs = [pair(n, enterprises, rules) for n in range(enterprises * rules)]
    assert len(set(pairs)) == enterprises * rules
    assert {e for e, _ in pairs} == set(range(enterprises))
    assert {r for _, r in pairs} == set(range(rules))
    # consecutive cases go to different enterprises and different approvers' rules
    burst = min(enterprises, rules)
    assert len({e for e, _ in pairs[:burst]}) == burst
    assert len({r for _, r in pairs[:burst]}) == burst


def test_models_are_workers_by_threads():
    assert parse_models("2x8, 4×4,8X2") == [(2, 8), (4, 4), (8, 2)]


def test_a_step_plans_its_cases_and_the_requests_due_per_second():
    assert PLAN.cases == 160  # 8/s over warm-up and window
    assert PLAN.offered == 8 * len(CASE) == 96
    assert PLAN.name == "4×4 at 8/s"


def test_steps_number_their_cases_on_and_a_new_server_warms_up_longer():
    (first, second), (other, _) = plan_steps([(4, 4), (2, 8)], [2, 4], 5, 10, 1, 30)
    assert (first.warm, second.warm, other.warm) == (10, 5, 10)
    assert (first.offset, second.offset, other.offset) == (0, 40, 100)
    assert other.model == "2×8" and other.rate == 2


def _answered(name, due, ms, at=None, statements=10, late_ms=0.0):
    at = due + ms / 1000 if at is None else at
    return {
        "kind": "sql", "step": PLAN.name, "name": name, "due": due, "at": at, "ms": ms,
        "statements": statements, "late_ms": late_ms,
    }  # fmt: skip


def _records(extra=()):
    records = [{"kind": "window", "step": PLAN.name, "start": START, "end": END}]
    records += [_answered("submit", START + n * 0.01, 100 + n) for n in range(100)]
    records += list(extra)
    return records


def test_a_step_counts_only_the_requests_due_in_its_window():
    other_step = {**_answered("submit", START + 1, 5), "step": "2×8 at 8/s"}
    records = _records(
        [
            _answered("submit", START - 0.5, 9_000),  # due in the warm-up
            _answered("submit", END, 9_000),  # due after the window
            other_step,
            {"kind": "error", "step": PLAN.name, "name": "accept", "due": START + 2,
             "at": START + 2.1, "status": 500, "body": "", "late_ms": 0.0},
        ]
    )  # fmt: skip
    result = step_result(PLAN, records, [])
    assert result.due == 101
    assert result.errors == 1
    assert result.by_request["accept"].errors == 1
    assert len(result.by_request["submit"].ms) == 100
    assert result.by_request["submit"].p(50) == pytest.approx(149.5)
    assert max(result.by_request["submit"].ms) == 199


def test_answered_means_answered_within_the_window_and_late_means_sent_late():
    slow = _answered("decide", END - 1, 3_000, late_ms=800)  # answered 2 s after the window
    result = step_result(PLAN, _records([slow]), [])
    assert result.answered == 100
    assert result.achieved == pytest.approx(10.0)
    assert result.late == 1
    assert result.worst_p95() == ("decide", 3_000)


def test_a_step_that_answers_less_than_nine_tenths_of_what_is_due_is_saturated():
    records = _records(_answered("decide", START + 5, 20) for _ in range(770))
    assert step_result(PLAN, records, []).achieved == pytest.approx(87.0)  # 0.9 × 96 = 86.4
    assert not step_result(PLAN, records, []).saturated
    assert step_result(PLAN, records[:-10], []).achieved == pytest.approx(86.0)
    assert step_result(PLAN, records[:-10], []).saturated


def test_answers_still_missing_after_the_drain_mean_saturated():
    records = _records(_answered("decide", START + 5, 20) for _ in range(900))
    assert not step_result(PLAN, records, []).saturated
    drained = {"kind": "drained", "step": PLAN.name, "at": END + 5, "unfinished": 3}
    result = step_result(PLAN, [*records, drained], [])
    assert result.unanswered == 3
    assert result.saturated


def test_lock_waits_and_cpu_are_averaged_over_the_window_only():
    row = "row lock: number sequence"
    samples = [
        Sample(START - 1, Counter({row: 9}), (0, 0), server_cpu=1.0),  # warm-up: left out
        Sample(START, Counter({row: 1, IN_TRANSACTION: 2}), (100, 200), server_cpu=10.0),
        Sample(START + 2, Counter(), (150, 300)),
        Sample(START + 5, Counter({row: 2, "advisory lock: ?": 1}), (250, 400), server_cpu=13.0),
        Sample(END, Counter({row: 9}), (1000, 1000), server_cpu=99.0),  # after: left out
    ]
    result = step_result(PLAN, _records(), samples)
    assert result.waits == {row: 1.0, IN_TRANSACTION: 2 / 3, "advisory lock: ?": 1 / 3}
    assert result.row_locks == 1.0
    assert result.busy == pytest.approx(75.0)
    assert result.server_cpu == pytest.approx(0.6)  # 3 CPU seconds in 5 s
    assert result.cpu_per_request_ms == pytest.approx(60.0)  # 10 requests answered a second


def test_a_wait_is_named_by_its_lock_and_the_table_of_the_waiting_statement():
    update = 'UPDATE "applications_applicationsequence" SET "last" = "last" + 1'
    assert wait_label("transactionid", update) == "row lock: number sequence"
    assert wait_label("tuple", "update core_auditchainhead set x = 1") == (
        "row lock: audit chain head"
    )
    assert wait_label("advisory", "SELECT pg_advisory_xact_lock(1, 2)") == "advisory lock: ?"
    assert wait_label(None, "COMMIT") == IN_TRANSACTION


def _at_target(p95_ms, errors=0):
    records = _records(_answered("decide", START + 5, p95_ms) for _ in range(20))
    records += [
        {"kind": "error", "step": PLAN.name, "name": "decide", "due": START + 3, "at": START + 3,
         "status": 500, "body": "", "late_ms": 0.0}
        for _ in range(errors)
    ]  # fmt: skip
    return step_result(PLAN, records, [])


def test_the_issue_targets_are_reported_met_or_not():
    (at_eight, throughput) = target_lines([_at_target(250)])
    assert "worst p95 decide 250 ms (target ≤ 300: met)" in at_eight
    assert "0 errors (target 0: met)" in at_eight
    assert "12.0 requests/s" in throughput and "target ≥ 3×: **not met**" in throughput
    (slow, _) = target_lines([_at_target(350, errors=2)])
    assert "(target ≤ 300: **not met**)" in slow
    assert "2 errors (target 0: **not met**)" in slow


def test_the_report_has_each_step_and_each_request():
    text = report_tables([_at_target(250)])
    assert "| 4×4 | 8 | 96 | **12.0** |" in text
    assert "**4×4 at 8/s** — 96 requests/s due" in text
    assert "| decide | 20 | 0 | 250 | 250 | 250 | 250 | 10 |" in text


def test_headlines_are_a_rate_per_step_and_with_one_model_a_latency_per_request():
    result = _at_target(250)
    found = headlines([result], {"4×4": 16}, per_request=True)
    assert [h.kind for h in found] == [RATE, LATENCY, LATENCY]
    assert found[0].rate == pytest.approx(12.0) and found[0].clients == 16
    assert found[2].measure.endswith(": decide") and found[2].p95_ms == 250
    assert [h.kind for h in headlines([result], {"4×4": 16}, per_request=False)] == [RATE]


def test_a_step_whose_load_generator_never_started_is_an_error_not_a_zero():
    with pytest.raises(RuntimeError, match="never started"):
        step_result(PLAN, [], [])

"""The case page's node colours agree with the engine on when a node is done.

The engine announces a node's completion (``NodeCompleted``) when it moves on; the case page
colours nodes from the stored state alone (``selectors.node_states``). Over random runs the
page must show "done" exactly for the nodes whose current round the engine completed and no
withdrawal has reopened since.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policywindow.workflow import selectors
from policywindow.workflow.definition import Definition
from policywindow.workflow.engine import (
    InvalidEvent,
    NodeCompleted,
    State,
    TaskWithdrawn,
    initial_state,
    step,
)

from .test_engine_properties import MAX_STEPS, definitions, pick_event


def shown_done(definition: Definition, state: State) -> set[tuple[str, int]]:
    states = selectors.node_states(definition, state)
    return {(key, state.node_round(key)) for key, shown in states.items() if shown == "done"}


def completed_now(completed: set[tuple[str, int]], state: State) -> set[tuple[str, int]]:
    """The completions still in force: the node has not been opened in a later round."""
    return {(key, round_) for key, round_ in completed if state.node_round(key) == round_}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition=definitions(), data=st.data())
def test_the_page_shows_done_exactly_what_the_engine_completed(definition, data):
    state = initial_state(definition)
    completed: set[tuple[str, int]] = set()
    for _ in range(MAX_STEPS):
        if state.status in ("approved", "rejected", "withdrawn"):
            break
        event, _may_raise = pick_event(data, state)
        try:
            result = step(definition, state, event)
        except InvalidEvent:
            continue
        for effect in result.effects:
            if isinstance(effect, NodeCompleted):
                completed.add((effect.node, effect.round))
            elif isinstance(effect, TaskWithdrawn):  # the withdrawn approval's node reopens
                task = result.state.task(effect.task_id)
                completed.discard((task.node, task.round))
        state = result.state
        assert shown_done(definition, state) == completed_now(completed, state)

"""The engine's definition and state as JSON, for the instance row (and back)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .definition import Definition, Level, Node
from .engine import State, Task


def definition_to_json(definition: Definition) -> dict[str, Any]:
    return {
        "levels": [
            {
                "parallel": level.parallel,
                "nodes": [
                    {
                        "key": node.key,
                        "candidates": list(node.candidates),
                        "mode": node.mode,
                        "on_reject": node.on_reject,
                        "applies": node.applies,
                    }
                    for node in level.nodes
                ],
            }
            for level in definition.levels
        ]
    }


def definition_from_json(data: dict[str, Any]) -> Definition:
    return Definition(
        tuple(
            Level(tuple(Node(**node) for node in level["nodes"]), level["parallel"])
            for level in data["levels"]
        )
    )


def state_to_json(state: State) -> dict[str, Any]:
    data = asdict(state)
    data["level_rounds"] = list(state.level_rounds)
    data["node_rounds"] = [list(pair) for pair in state.node_rounds]
    return data


def state_from_json(data: dict[str, Any]) -> State:
    return State(
        status=data["status"],
        level=data["level"],
        tasks=tuple(Task(**task) for task in data["tasks"]),
        level_rounds=tuple(data["level_rounds"]),
        node_rounds=tuple((key, round_) for key, round_ in data["node_rounds"]),
        supplement_node=data.get("supplement_node"),
        clock=data.get("clock", 0),
    )

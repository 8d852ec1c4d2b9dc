"""Workflow definitions: an ordered list of levels, each holding one or more nodes.

Candidates are opaque user ids resolved by the caller; conditions are evaluated by the caller too,
which passes the outcome as ``Node.applies``.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

UserId = Hashable
Mode = Literal["any", "all", "sequential"]
OnReject = Literal["end", "previous_level", "supplement"]

MODES: tuple[str, ...] = ("any", "all", "sequential")
ON_REJECT: tuple[str, ...] = ("end", "previous_level", "supplement")


class WorkflowError(Exception):
    """Base class of every workflow error; ``message`` is Chinese and shown to users."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DefinitionError(WorkflowError):
    """The definition cannot run."""


@dataclass(frozen=True)
class Node:
    key: str
    candidates: tuple[UserId, ...]
    mode: Mode = "any"
    on_reject: OnReject = "end"
    applies: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not self.key:
            raise DefinitionError("节点缺少标识")
        if self.mode not in MODES:
            raise DefinitionError(f"节点「{self.key}」的审批方式无效：{self.mode}")
        if self.on_reject not in ON_REJECT:
            raise DefinitionError(f"节点「{self.key}」的驳回处理方式无效：{self.on_reject}")
        if self.applies and not self.candidates:
            raise DefinitionError(f"节点「{self.key}」没有可办理的审批人")
        if len(set(self.candidates)) != len(self.candidates):
            raise DefinitionError(f"节点「{self.key}」的审批人重复")


@dataclass(frozen=True)
class Level:
    nodes: tuple[Node, ...]
    parallel: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if not self.nodes:
            raise DefinitionError("审批层级不能为空")

    @property
    def applicable(self) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.applies)


@dataclass(frozen=True)
class Definition:
    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if not self.levels:
            raise DefinitionError("工作流至少需要一个审批层级")
        keys = [node.key for level in self.levels for node in level.nodes]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise DefinitionError(f"节点标识重复：{'、'.join(duplicates)}")

    def node(self, key: str) -> Node:
        for level in self.levels:
            for node in level.nodes:
                if node.key == key:
                    return node
        raise KeyError(key)

    def node_keys(self) -> tuple[str, ...]:
        return tuple(node.key for level in self.levels for node in level.nodes)

"""Server-side SVG drawing of a workflow definition (DESIGN.md §4).

Levels run left to right as columns; a level's nodes are stacked inside its frame. A parallel
level (并审) forks to every node and joins again; a serial level links its nodes with arrows.
Given ``node_states`` the same drawing shows a running case, each node coloured by its status.
The output is deterministic: the same input always gives the same string.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from .definition import Definition, Level, Node

FONT_FAMILY = "Noto Sans CJK SC, Microsoft YaHei, sans-serif"

MODE_LABELS: dict[str, str] = {"any": "或签", "all": "会签", "sequential": "依次"}
ON_REJECT_HINTS: dict[str, str] = {
    "end": "驳回即结束",
    "previous_level": "驳回退回上一级",
    "supplement": "驳回退企业补正",
}


@dataclass(frozen=True)
class Style:
    label: str
    fill: str
    stroke: str
    text: str


STATE_STYLES: dict[str, Style] = {
    "done": Style("已完成", "#e6f4ea", "#2e7d32", "#1b5e20"),
    "current": Style("办理中", "#e3f0fd", "#1565c0", "#0d47a1"),
    "pending": Style("待办理", "#f3f4f6", "#9ca3af", "#4b5563"),
    "rejected": Style("已驳回", "#fdecea", "#c62828", "#b71c1c"),
    "overdue": Style("已超时", "#fff3e0", "#ef6c00", "#e65100"),
}
NEUTRAL_STYLE = Style("", "#ffffff", "#4a6fa5", "#1f2937")
NOT_APPLICABLE_STYLE = Style("不适用", "#fafafa", "#c0c4cc", "#9ca3af")

# Layout, in SVG user units.
MARGIN = 16
TITLE_HEIGHT = 32
MARKER_RADIUS = 20
ARROW_GAP = 44  # horizontal room for an arrow between two columns
NODE_WIDTH = 180
NODE_PADDING = 12  # text inset inside a node
LINE_HEIGHT = 18
NODE_GAP_PARALLEL = 14
NODE_GAP_SERIAL = 30  # room for the arrow between two serial nodes
FRAME_HEADER = 30
FRAME_PADDING_X = 22  # room for the fork / join bars of a parallel level
FRAME_PADDING_BOTTOM = 14
FRAME_WIDTH = NODE_WIDTH + 2 * FRAME_PADDING_X
LEGEND_HEIGHT = 36
LABEL_SIZE = 14
DETAIL_SIZE = 12


def render_svg(
    definition: Definition,
    *,
    node_states: Mapping[str, str] | None = None,
    node_labels: Mapping[str, str] | None = None,
    title: str = "",
) -> str:
    """Render ``definition`` as a standalone SVG document.

    ``node_states`` maps node keys to one of ``STATE_STYLES``; nodes it leaves out are pending.
    ``node_labels`` maps node keys to display names (the key is shown otherwise).
    """
    states = _checked_states(definition, node_states)
    labels = node_labels or {}
    node_height = (4 if states is not None else 3) * LINE_HEIGHT
    half_stack = max(_stack_height(level, node_height) for level in definition.levels) // 2
    top = MARGIN + (TITLE_HEIGHT if title else 0)
    flow_y = top + FRAME_HEADER + half_stack

    parts: list[str] = []
    x = MARGIN
    parts += _marker(x + MARKER_RADIUS, flow_y, "开始", end=False)
    x += 2 * MARKER_RADIUS
    for index, level in enumerate(definition.levels):
        parts.append(_arrow(x, flow_y, x + ARROW_GAP, flow_y))
        x += ARROW_GAP
        parts += _level(index, level, x, flow_y, node_height, states, labels)
        x += FRAME_WIDTH
    parts.append(_arrow(x, flow_y, x + ARROW_GAP, flow_y))
    x += ARROW_GAP
    parts += _marker(x + MARKER_RADIUS, flow_y, "结束", end=True)
    x += 2 * MARKER_RADIUS

    bottom = flow_y + half_stack + FRAME_PADDING_BOTTOM + MARGIN
    legend_items = _legend_items(definition, states)
    width = max(x, MARGIN + _legend_width(legend_items), MARGIN + _text_width(title, 16)) + MARGIN
    if title:
        parts.insert(0, _text(MARGIN, MARGIN + 18, title, size=16, bold=True))
    if legend_items:
        parts += _legend(legend_items, MARGIN, bottom)
        bottom += LEGEND_HEIGHT
    return _document(width, bottom, title, parts)


# --------------------------------------------------------------------------- validation
def _checked_states(
    definition: Definition, node_states: Mapping[str, str] | None
) -> dict[str, str] | None:
    if node_states is None:
        return None
    keys = definition.node_keys()
    unknown_keys = sorted(set(node_states) - set(keys))
    if unknown_keys:
        raise ValueError(f"流程中没有这些节点：{'、'.join(unknown_keys)}")
    unknown_states = sorted(set(node_states.values()) - set(STATE_STYLES))
    if unknown_states:
        raise ValueError(f"未知的节点状态：{'、'.join(unknown_states)}")
    return {key: node_states.get(key, "pending") for key in keys}


# --------------------------------------------------------------------------- layout
def _gap(level: Level) -> int:
    return NODE_GAP_PARALLEL if level.parallel else NODE_GAP_SERIAL


def _stack_height(level: Level, node_height: int) -> int:
    count = len(level.nodes)
    return count * node_height + (count - 1) * _gap(level)


def _node_tops(level: Level, node_height: int, flow_y: int) -> list[int]:
    """Tops of the level's nodes, centred as a stack on the flow line."""
    first = flow_y - _stack_height(level, node_height) // 2
    return [first + i * (node_height + _gap(level)) for i in range(len(level.nodes))]


def _text_width(text: str, size: int) -> int:
    """Approximate rendered width: CJK and full-width characters are square, others narrower."""
    return int(sum(size if ord(char) >= 0x2E80 else size * 0.6 for char in text)) + 1


def _fit(text: str, size: int, width: int) -> str:
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


# --------------------------------------------------------------------------- drawing
def _level(
    index: int,
    level: Level,
    x: int,
    flow_y: int,
    node_height: int,
    states: dict[str, str] | None,
    labels: Mapping[str, str],
) -> list[str]:
    tops = _node_tops(level, node_height, flow_y)
    frame_top = tops[0] - FRAME_HEADER
    frame_height = FRAME_HEADER + _stack_height(level, node_height) + FRAME_PADDING_BOTTOM
    parts = [
        f'<g class="pw-level" data-level="{index + 1}">',
        f'<rect class="pw-level-frame" x="{x}" y="{frame_top}" width="{FRAME_WIDTH}" '
        f'height="{frame_height}" rx="10" fill="#f8fafc" stroke="#d0d7e2"/>',
        _text(x + 12, frame_top + 20, f"第{index + 1}级", size=13, bold=True, fill="#374151"),
    ]
    if len(level.nodes) > 1:
        parts += _level_tag("并审" if level.parallel else "顺序", x + FRAME_WIDTH - 12, frame_top)
    node_x = x + FRAME_PADDING_X
    middles = [top + node_height // 2 for top in tops]
    if level.parallel or len(level.nodes) == 1:
        parts += _fork(x, node_x, middles, flow_y)
        parts += _fork(x + FRAME_WIDTH, node_x + NODE_WIDTH, middles, flow_y)
    else:
        parts += [
            _arrow(node_x + NODE_WIDTH // 2, top + node_height, node_x + NODE_WIDTH // 2, below)
            for top, below in pairwise(tops)
        ]
    for node, top in zip(level.nodes, tops, strict=True):
        parts += _node(node, node_x, top, node_height, states, labels)
    parts.append("</g>")
    return parts


def _level_tag(tag: str, right: int, frame_top: int) -> list[str]:
    width = _text_width(tag, DETAIL_SIZE) + 12
    return [
        f'<rect class="pw-level-tag" x="{right - width}" y="{frame_top + 6}" '
        f'width="{width}" height="18" rx="9" fill="#e0e7ff"/>',
        _text(right - width + 6, frame_top + 19, tag, size=DETAIL_SIZE, fill="#3730a3"),
    ]


def _fork(edge_x: int, node_edge_x: int, middles: list[int], flow_y: int) -> list[str]:
    """Lines joining the frame edge on the flow line to every node of a parallel level."""
    bar_x = (edge_x + node_edge_x) // 2
    stroke = 'stroke="#6b7280" stroke-width="1.5" fill="none"'
    parts = [f'<path class="pw-fork" d="M{edge_x} {flow_y}H{bar_x}" {stroke}/>']
    if len(middles) > 1:
        parts.append(f'<path class="pw-fork" d="M{bar_x} {middles[0]}V{middles[-1]}" {stroke}/>')
    parts += [
        f'<path class="pw-fork" d="M{bar_x} {middle}H{node_edge_x}" {stroke}/>'
        for middle in middles
    ]
    return parts


def _node(
    node: Node,
    x: int,
    top: int,
    height: int,
    states: dict[str, str] | None,
    labels: Mapping[str, str],
) -> list[str]:
    label = labels.get(node.key, node.key)
    state = states[node.key] if states is not None else None
    if not node.applies:
        style, detail = NOT_APPLICABLE_STYLE, "不适用"
    else:
        style = STATE_STYLES[state] if state is not None else NEUTRAL_STYLE
        detail = f"{MODE_LABELS[node.mode]} · {ON_REJECT_HINTS[node.on_reject]}"
    dashed = "" if node.applies else ' stroke-dasharray="6 4"'
    width = 2.5 if state == "current" and node.applies else 1.5
    text_width = NODE_WIDTH - 2 * NODE_PADDING
    tooltip = " · ".join(part for part in (label, detail, style.label) if part)
    state_attr = f' data-state="{state}"' if state is not None and node.applies else ""
    parts = [
        f'<g class="pw-node-group" data-node="{escape(node.key)}"{state_attr}>',
        f"<title>{escape(tooltip)}</title>",
        f'<rect class="pw-node" x="{x}" y="{top}" width="{NODE_WIDTH}" height="{height}" rx="8" '
        f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="{width}"{dashed}/>',
        _text(
            x + NODE_PADDING,
            top + LINE_HEIGHT + 4,
            _fit(label, LABEL_SIZE, text_width),
            size=LABEL_SIZE,
            bold=True,
            fill=style.text,
        ),
        _text(
            x + NODE_PADDING,
            top + 2 * LINE_HEIGHT + 6,
            _fit(detail, DETAIL_SIZE, text_width),
            size=DETAIL_SIZE,
            fill="#9ca3af" if not node.applies else "#4b5563",
        ),
    ]
    if state is not None and node.applies:
        parts.append(
            _text(
                x + NODE_PADDING,
                top + 3 * LINE_HEIGHT + 8,
                style.label,
                size=DETAIL_SIZE,
                bold=True,
                fill=style.stroke,
            )
        )
    parts.append("</g>")
    return parts


def _marker(cx: int, cy: int, text: str, *, end: bool) -> list[str]:
    parts = [
        f'<circle class="pw-marker" cx="{cx}" cy="{cy}" r="{MARKER_RADIUS}" '
        f'fill="{"#374151" if end else "#ffffff"}" stroke="#374151" stroke-width="2"/>',
        _text(
            cx,
            cy + 4,
            text,
            size=DETAIL_SIZE,
            bold=True,
            fill="#ffffff" if end else "#374151",
            anchor="middle",
        ),
    ]
    return parts


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (
        f'<line class="pw-arrow" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
        'stroke="#6b7280" stroke-width="1.5" marker-end="url(#pw-arrowhead)"/>'
    )


def _legend_items(definition: Definition, states: dict[str, str] | None) -> list[Style]:
    if states is None:
        return []
    items = list(STATE_STYLES.values())
    if any(not node.applies for level in definition.levels for node in level.nodes):
        items.append(NOT_APPLICABLE_STYLE)
    return items


def _legend_entry_width(style: Style) -> int:
    return 14 + 6 + _text_width(style.label, DETAIL_SIZE) + 18


def _legend_width(items: list[Style]) -> int:
    return sum(_legend_entry_width(style) for style in items)


def _legend(items: list[Style], x: int, y: int) -> list[str]:
    parts = ['<g class="pw-legend">']
    for style in items:
        dashed = ' stroke-dasharray="3 2"' if style is NOT_APPLICABLE_STYLE else ""
        parts.append(
            f'<rect class="pw-legend-swatch" x="{x}" y="{y + 8}" width="14" height="14" rx="3" '
            f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="1.5"{dashed}/>'
        )
        parts.append(_text(x + 20, y + 20, style.label, size=DETAIL_SIZE, fill="#374151"))
        x += _legend_entry_width(style)
    parts.append("</g>")
    return parts


def _text(
    x: int,
    y: int,
    text: str,
    *,
    size: int,
    bold: bool = False,
    fill: str = "#1f2937",
    anchor: str = "start",
) -> str:
    weight_attr = ' font-weight="bold"' if bold else ""
    anchor_attr = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}"{weight_attr}{anchor_attr} '
        f'fill="{fill}">{escape(text)}</text>'
    )


def _document(width: int, height: int, title: str, parts: list[str]) -> str:
    label = escape(title or "审批流程图")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label}" '
        f'font-family="{FONT_FAMILY}">'
    )
    defs = (
        '<defs><marker id="pw-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0 0L10 5L0 10z" fill="#6b7280"/></marker></defs>'
    )
    return "\n".join([head, f"<title>{label}</title>", defs, *parts, "</svg>"]) + "\n"

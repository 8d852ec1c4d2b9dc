"""The SVG drawing of a workflow definition (DESIGN.md §4)."""

import xml.etree.ElementTree as ET

import pytest

from policywindow.workflow.definition import Definition, Level, Node
from policywindow.workflow.diagram import FONT_FAMILY, STATE_STYLES, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def four_levels() -> Definition:
    return Definition(
        (
            Level((Node("accept", (1,)),)),
            Level(
                (
                    Node("review", (1, 2), mode="all", on_reject="supplement"),
                    Node("finance", (3,), on_reject="previous_level"),
                    Node("legal", (), applies=False),
                ),
                parallel=True,
            ),
            Level(
                (Node("chief", (4,), mode="sequential"), Node("leader", (5,))),
                parallel=False,
            ),
            Level((Node("bureau", (6,)),)),
        )
    )


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - parsing our own output


def node_rects(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "pw-node"]


def node_group(root: ET.Element, key: str) -> ET.Element:
    for group in root.iter(f"{SVG}g"):
        if group.get("data-node") == key:
            return group
    raise AssertionError(f"no node {key}")


def texts(element: ET.Element) -> list[str]:
    return [text.text or "" for text in element.iter(f"{SVG}text")]


def box(rect: ET.Element) -> tuple[float, float, float, float]:
    x, y = float(rect.get("x")), float(rect.get("y"))
    return x, y, x + float(rect.get("width")), y + float(rect.get("height"))


def test_renders_standalone_svg_with_view_box_and_cjk_font():
    root = parse(render_svg(four_levels(), title="审批流程"))
    assert root.tag == f"{SVG}svg"
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    assert width > 0 and height > 0
    assert root.get("font-family") == FONT_FAMILY
    assert "审批流程" in texts(root)


def test_one_rect_per_node_including_not_applicable():
    root = parse(render_svg(four_levels()))
    assert len(node_rects(root)) == 7
    legal = node_group(root, "legal").find(f"{SVG}rect")
    assert legal.get("stroke-dasharray")
    assert "不适用" in texts(node_group(root, "legal"))
    assert not node_group(root, "review").find(f"{SVG}rect").get("stroke-dasharray")


def test_labels_default_to_keys_and_are_escaped():
    svg = render_svg(four_levels(), node_labels={"accept": "窗口<受理>&", "chief": "科长"})
    root = parse(svg)
    assert "窗口<受理>&" in texts(node_group(root, "accept"))
    assert "科长" in texts(node_group(root, "chief"))
    assert "bureau" in texts(node_group(root, "bureau"))
    assert "窗口&lt;受理&gt;&amp;" in svg


def test_escapes_title_and_node_keys():
    definition = Definition((Level((Node('a"<&>', (1,)),)),))
    root = parse(render_svg(definition, title="<流程>&"))
    assert node_group(root, 'a"<&>') is not None
    assert "<流程>&" in texts(root)


def test_mode_and_reject_hint_in_chinese():
    root = parse(render_svg(four_levels()))
    assert "会签 · 驳回退企业补正" in texts(node_group(root, "review"))
    assert "或签 · 驳回退回上一级" in texts(node_group(root, "finance"))
    assert "依次 · 驳回即结束" in texts(node_group(root, "chief"))


def test_parallel_level_tagged_and_serial_level_has_arrows_between_nodes():
    root = parse(render_svg(four_levels()))
    levels = {g.get("data-level"): g for g in root.iter(f"{SVG}g") if g.get("data-level")}
    assert "并审" in texts(levels["2"])
    assert "并审" not in texts(levels["3"])
    assert "并审" not in texts(levels["1"])  # a single node is not parallel in any useful sense
    inner_arrows = [e for e in levels["3"].iter(f"{SVG}line") if e.get("class") == "pw-arrow"]
    assert len(inner_arrows) == 1
    assert not [e for e in levels["2"].iter(f"{SVG}line") if e.get("class") == "pw-arrow"]


def test_arrows_between_levels_and_start_end_markers():
    root = parse(render_svg(four_levels()))
    top_arrows = [e for e in root.findall(f"{SVG}line") if e.get("class") == "pw-arrow"]
    assert len(top_arrows) == 5  # start → 4 levels → end
    markers = [e for e in root.findall(f"{SVG}circle") if e.get("class") == "pw-marker"]
    assert len(markers) == 2
    assert {"开始", "结束"} <= set(texts(root))


@pytest.mark.parametrize("state", sorted(STATE_STYLES))
def test_node_coloured_by_state(state):
    root = parse(render_svg(four_levels(), node_states={"finance": state}))
    rect = node_group(root, "finance").find(f"{SVG}rect")
    assert rect.get("fill") == STATE_STYLES[state].fill
    assert rect.get("stroke") == STATE_STYLES[state].stroke
    assert STATE_STYLES[state].label in texts(node_group(root, "finance"))


def test_nodes_without_state_are_pending_and_states_are_distinct():
    root = parse(render_svg(four_levels(), node_states={"accept": "done"}))
    pending = node_group(root, "bureau").find(f"{SVG}rect")
    assert pending.get("fill") == STATE_STYLES["pending"].fill
    assert len({style.fill for style in STATE_STYLES.values()}) == len(STATE_STYLES)
    assert STATE_STYLES["done"].stroke.startswith("#2e")  # green
    assert STATE_STYLES["rejected"].stroke == "#c62828"  # red


def test_legend_only_with_states():
    plain = parse(render_svg(four_levels()))
    assert not [g for g in plain.iter(f"{SVG}g") if g.get("class") == "pw-legend"]
    with_states = parse(render_svg(four_levels(), node_states={"accept": "current"}))
    (legend,) = [g for g in with_states.iter(f"{SVG}g") if g.get("class") == "pw-legend"]
    assert texts(legend) == ["已完成", "办理中", "待办理", "已驳回", "已超时", "不适用"]


def test_unknown_state_or_node_is_refused():
    with pytest.raises(ValueError, match="未知的节点状态"):
        render_svg(four_levels(), node_states={"accept": "finished"})
    with pytest.raises(ValueError, match="没有这些节点"):
        render_svg(four_levels(), node_states={"ghost": "done"})


def test_deterministic():
    kwargs = {"node_states": {"accept": "done", "review": "current"}, "title": "流程"}
    assert render_svg(four_levels(), **kwargs) == render_svg(four_levels(), **kwargs)


def test_long_label_is_shortened_but_kept_in_tooltip():
    long = "法规处合法性审查（申报金额超过一百万元时）"
    root = parse(render_svg(four_levels(), node_labels={"legal": long}))
    group = node_group(root, "legal")
    assert any(text.endswith("…") for text in texts(group))
    assert long in group.find(f"{SVG}title").text


def test_six_levels_of_four_nodes_do_not_overlap_and_fit():
    definition = Definition(
        tuple(
            Level(tuple(Node(f"n{lv}{i}", (1,)) for i in range(4)), parallel=bool(lv % 2))
            for lv in range(6)
        )
    )
    root = parse(render_svg(definition, node_states={"n00": "done"}, title="六级"))
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    boxes = [box(rect) for rect in node_rects(root)]
    frames = [box(r) for r in root.iter(f"{SVG}rect") if r.get("class") == "pw-level-frame"]
    assert len(boxes) == 24
    for left, top, right, bottom in boxes + frames:
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
    for i, a in enumerate(boxes + frames):
        for b in (boxes + frames)[i + 1 :]:
            contains = a[0] <= b[0] and b[2] <= a[2] and a[1] <= b[1] and b[3] <= a[3]
            contained = b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]
            disjoint = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert disjoint or contains or contained, (a, b)


def test_width_grows_with_levels():
    def width(levels: int) -> float:
        definition = Definition(tuple(Level((Node(f"n{i}", (1,)),)) for i in range(levels)))
        return float(parse(render_svg(definition)).get("viewBox").split()[2])

    assert width(1) < width(3) < width(6)

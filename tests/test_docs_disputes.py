"""docs/disputes.md draws the dispute lifecycle; the drawing must be the code's table."""

import re
from pathlib import Path

from order_messages.models import Dispute, Role

DOC = Path(__file__).resolve().parent.parent / "docs" / "disputes.md"
MERMAID = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
# "open --> escalated: system", "[*] --> open: customer, staff"
EDGE = re.compile(r"^\s*(\S+)\s*-->\s*(\S+)\s*:\s*(.+?)\s*$")
# "closed: Resolved"
STATE = re.compile(r"^\s*(\w+)\s*:\s*(.+?)\s*$")
START = "[*]"  # mermaid's start: the conversation never had a dispute


def diagram() -> list[str]:
    blocks = MERMAID.findall(DOC.read_text())
    assert len(blocks) == 1, "docs/disputes.md should have exactly one mermaid diagram"
    lines = blocks[0].splitlines()
    assert lines[0].strip() == "stateDiagram-v2"
    return lines[1:]


def drawn_edges() -> list[tuple[str | None, str, set[str]]]:
    edges = []
    for line in diagram():
        found = EDGE.match(line)
        if found:
            source, target, label = found.groups()
            roles = {role.strip() for role in label.split(",")}
            edges.append((None if source == START else source, target, roles))
    return edges


def test_the_diagram_draws_exactly_the_transition_table():
    edges = drawn_edges()
    drawn = {(source, target): roles for source, target, roles in edges}
    table = {
        (None if source is None else str(source), str(target)): {str(role) for role in roles}
        for (source, target), roles in Dispute.TRANSITIONS.items()
    }

    assert len(drawn) == len(edges), "an arrow is drawn twice"
    assert drawn == table


def test_every_arrow_names_who_may_make_the_move():
    for source, target, roles in drawn_edges():
        assert roles and roles <= set(Role.values), (source, target, roles)


def test_the_states_are_named_as_the_pages_name_them():
    named = {}
    for line in diagram():
        found = STATE.match(line)
        if found and "-->" not in line:
            named[found.group(1)] = found.group(2)

    assert named == {str(status): str(status.label) for status in Dispute.Status}

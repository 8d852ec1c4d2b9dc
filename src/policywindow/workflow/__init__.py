"""审批工作流 (workflow engine, DESIGN.md §4).

- ``definition``/``engine``: the pure core, ``step(definition, state, event) -> Result``;
- ``spec``: a rule's workflow as drawn and stored, turned into a definition per case;
- ``candidates``: who acts on a node; ``diagram``: the SVG drawing;
- ``models``/``services``/``selectors``: persistence, decisions under row locks, to-do lists.
"""

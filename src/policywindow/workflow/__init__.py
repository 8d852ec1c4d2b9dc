"""审批工作流 (workflow engine, DESIGN.md §4).

For now this is a plain Python package holding the pure core of the engine:

- ``definition``: the frozen dataclasses that describe a workflow (levels and nodes);
- ``engine``: ``step(definition, state, event) -> Result(state, effects)``, a pure, deterministic
  function free of Django and I/O. Persistence (rows, locking, audit, outbox) will wrap it.
"""

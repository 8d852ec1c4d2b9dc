"""Writes of the system module, one module per area.

Each function owns its transaction and writes its audit event in it.
Import from the area's module, e.g. ``from policywindow.system.services import users``.
"""

"""REST API operations of this module (registered in policywindow/api/root.py)."""

from ninja import Router

router = Router()

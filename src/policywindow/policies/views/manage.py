"""Placeholder: filled in by its page family."""

urlpatterns: list = []

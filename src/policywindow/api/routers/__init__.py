"""One router per area; ``root.py`` mounts them. Later modules add their own."""

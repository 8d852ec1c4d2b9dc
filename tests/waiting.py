"""Waiting in tests: for a condition or for threads to finish, never for a fixed time.

``HANG_GUARD_S`` only stops a test that would otherwise hang for ever (a deadlock, a process
that never answers); it is no speed expectation, so a busy machine makes a test slower, never
red. Durations are measured by the benchmarks (bench/, docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterable

HANG_GUARD_S = 1800


def wait_for(
    condition: Callable[[], bool], what: str, *, alive: subprocess.Popen | None = None
) -> None:
    """Until ``condition()`` holds; fails at once when the ``alive`` process has exited."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        assert alive is None or alive.poll() is None, (
            f"the process exited ({alive.returncode}) before {what}"
        )
        assert time.monotonic() < deadline, f"no {what} after {HANG_GUARD_S} s: hung"
        time.sleep(0.05)


def join_all(threads: Iterable[threading.Thread]) -> None:
    """Until every thread has finished (however long a busy machine makes that)."""
    for thread in threads:
        thread.join(HANG_GUARD_S)
        assert not thread.is_alive(), f"{thread.name} still running after {HANG_GUARD_S} s: hung"

"""Warm-up scheduling: background work holds back while a page is drawn for someone.

The app wraps each script run in :func:`foreground`; background work (the planning
warm-up, later imports) calls :func:`wait_for_quiet` before each step and stops when the
process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterator

#: :func:`wait_for_quiet` waits until no question has been asked, and no page has run
#: (:func:`foreground`), for this long (seconds).
QUIET_SECONDS = 0.5

_STOP_WARMING = threading.Event()
_PAGES = {"running": 0, "last": 0.0}
_PAGES_LOCK = threading.Lock()


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """Mark a page being drawn for someone: warm-ups hold back meanwhile and just after.

    A warm-up in a thread shares the process (and Python's GIL) with every page, not
    only the planning page: the app wraps each script run (and fragment run) in this, so
    that building models in the background never slows down a search. Usable as a
    decorator (``@foreground()``).
    """
    with _PAGES_LOCK:
        _PAGES["running"] += 1
    try:
        yield
    finally:
        with _PAGES_LOCK:
            _PAGES["running"] -= 1
            _PAGES["last"] = time.monotonic()


def _pages_busy() -> bool:
    """Return whether a page is being drawn or was within :data:`QUIET_SECONDS`."""
    with _PAGES_LOCK:
        return bool(_PAGES["running"]) or time.monotonic() - _PAGES["last"] < QUIET_SECONDS


def wait_for_quiet(since: float = 0.0) -> bool:
    """Block until no page is drawn, none was for :data:`QUIET_SECONDS`, nor since ``since``.

    For work in the background (the planning warm-up, later imports). Returns False, at
    once, when the process is exiting: the caller stops.
    """
    while time.monotonic() - since < QUIET_SECONDS or _pages_busy():
        if _STOP_WARMING.wait(0.05):
            return False
    return not _STOP_WARMING.is_set()


@atexit.register
def _stop_warming_at_exit() -> None:
    """At exit, :func:`wait_for_quiet` answers False at once: background work stops.

    (Planning work inside HiGHS is waited for by
    :func:`tilbudskart.planning.highs.exit_guard`.)
    """
    _STOP_WARMING.set()

"""What the command line prints: terminal-safe text, its messages and its errors."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from tilbudskart import geocode

#: Longest error message printed (characters).
MAX_MESSAGE = 500

#: Characters never printed: C0 controls but tab and newline, DEL and C1 controls
#: (U+009B is a one-character CSI), bidirectional embeddings, overrides and isolates
#: (they reorder what the terminal shows); lone surrogates cannot be encoded at all.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def terminal_safe(text: str, json_escape: bool = False) -> str:
    r"""Return text that cannot control a terminal.

    Parameters
    ----------
    text : str
        Anything about to be printed (data, a query, a message).
    json_escape : bool
        For JSON text: write each unsafe character as a ``\\uXXXX`` escape, which keeps
        the data exact (JSON strings are the only place such characters can occur).
        Otherwise escape sequences and unsafe characters are removed.

    Returns
    -------
    str
        The text without terminal escapes and control characters (newlines and tabs
        are kept).

    """
    if json_escape:
        return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _UNSAFE.sub("", geocode.TERMINAL_ESCAPE.sub("", text))


def _say(text: str = "", err: bool = False) -> None:
    print(terminal_safe(text), file=sys.stderr if err else sys.stdout)


def _error(message: str) -> None:
    line = " ".join(terminal_safe(message).split())
    _say(f"error: {geocode.shorten(line, MAX_MESSAGE)}", err=True)


def _not_resolved(query: str, candidates: list[str], reason: str,
                  suggestions: Sequence[str] = ()) -> int:
    """Say that a search was ambiguous (listing the choices) or not found; exit status 2.

    Not found, it names what the search may have meant («Mente du …?»,
    :func:`tilbudskart.suggest.suggest`).
    """
    if candidates:
        _say(f"«{geocode.shorten(query)}» is ambiguous; try one of:", err=True)
        for candidate in candidates:
            _say(f"  {candidate}", err=True)
    else:
        _say(f"Not found: {geocode.shorten(reason, MAX_MESSAGE)}", err=True)
        if suggestions:
            _say("Did you mean (Mente du): " + ", ".join(suggestions) + "?", err=True)
    return 2

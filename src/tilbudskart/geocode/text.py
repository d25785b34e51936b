"""Text a person types: cleaned of control characters, shortened for echo, normalised for lookup."""

from __future__ import annotations

import re
import unicodedata

#: The longest search a person can type (characters, after cleaning); longer text is refused.
MAX_QUERY_CHARS = 200

#: How much of a query is echoed back in messages.
ECHO_CHARS = 60


#: Terminal control sequences: CSI (colours, cursor moves, "ESC [ … m") and OSC (window
#: titles, hyperlinks, "ESC ] … BEL"), removed whole so that no fragment is left.
TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")


def clean_text(text: str) -> str:
    """Return text as a person meant it: NFC, no invisible characters, single spaces.

    Control and format characters (zero-width spaces and joiners, byte-order marks, soft
    hyphens, bidirectional marks and overrides, …) and terminal escape sequences are
    removed; every kind of whitespace (tabs, line breaks, no-break spaces) becomes one
    space; combining marks are composed (``"o"`` + U+0308 → ``"ö"``). The result is idempotent:
    ``clean_text(clean_text(s)) == clean_text(s)``.

    Parameters
    ----------
    text : str
        Any text, e.g. a search as typed or pasted.

    Returns
    -------
    str
        The cleaned text, stripped at both ends.

    """
    if not (text.isascii() and text.isprintable()):
        # str.isprintable() is False exactly for the categories Cc, Cf, Cs, Co, Cn, Zl, Zp
        # and Zs other than the ASCII space: whitespace among them becomes a space, the
        # rest is invisible and dropped (terminal escape sequences first, whole).
        text = TERMINAL_ESCAPE.sub("", text)
        text = "".join(c if c.isprintable() else " " if c.isspace() else ""
                       for c in text)
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """Return text cut to at most ``limit`` characters, with "…" when it was cut.

    Parameters
    ----------
    text : str
        Text to echo back to a person (e.g. their search).
    limit : int
        Most characters returned (at least 2).

    Returns
    -------
    str

    """
    return text if len(text) <= limit else text[:max(limit - 1, 1)].rstrip() + "…"


def normalise(name: str) -> str:
    """Return a name folded for matching: cleaned, case-folded, no punctuation.

    Parameters
    ----------
    name : str
        A place, kommune or region name as printed or typed.

    Returns
    -------
    str
        The folded key; ``"Sør -Trøndelag"`` and ``"sør-trøndelag"`` give the same key,
        and so does ``"alta"`` with a zero-width space in it (see :func:`clean_text`).

    """
    text = unicodedata.normalize("NFC", clean_text(name).casefold())
    text = re.sub(r"[\s\-–.,:;/]+", " ", text)
    return text.strip()

"""Text for people: escaping data for HTML and Markdown, Norwegian number formats.

Every text that comes from data (a group's name, a place, an uploaded list) is *text*: it
is escaped for HTML wherever HTML is built and for Markdown wherever Markdown is rendered
(``st.markdown`` turns ``![x](http://…)`` into an image request and ``<https://…>`` into a
link). Numbers are formatted one way everywhere: Norwegian bokmål (``nb_NO``) with a space
between thousands and a decimal comma, by :mod:`babel`.
"""

from __future__ import annotations

import html
import math
import re

from babel.numbers import get_decimal_symbol, get_group_symbol

#: str: the locale of every number shown to people.
LOCALE = "nb_NO"
# The locale's symbols from CLDR (babel): a no-break space between thousands, a decimal
# comma. Formatting itself is Python's (babel's per-call pattern parsing is ~20× slower and
# a coverage table has thousands of cells).
_SYMBOLS = str.maketrans({",": get_group_symbol(LOCALE), ".": get_decimal_symbol(LOCALE)})

#: dict of str to str: Norwegian labels of geocode precision.
PRECISION_LABELS: dict[str, str] = {
    "postcode": "postnummer", "place": "sted", "kommune": "kommune", "region": "region",
}

# CommonMark lets a backslash escape any ASCII punctuation, and an escaped character is
# always literal: no emphasis, link, image, HTML tag, entity or (GitHub) autolink can start.
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def escape(value: object) -> str:
    """Return text from data made safe for HTML (``None``/NaN become an empty string).

    Examples
    --------
    >>> escape('<img src=x onerror=alert(1)>')
    '&lt;img src=x onerror=alert(1)&gt;'

    """
    if _missing(value):
        return ""
    return html.escape(str(value), quote=True)


def escape_markdown(value: object) -> str:
    r"""Return text from data made safe for Markdown *and* HTML.

    Backslash-escapes every ASCII punctuation character (CommonMark makes each literal),
    so ``![x](http://evil)`` shows as those characters and asks nobody for an image, and
    ``<b>`` is text even where the Markdown allows HTML. Line breaks become spaces (a name
    never starts a list or a heading).

    Examples
    --------
    >>> print(escape_markdown("![px](http://evil.example/p.png)"))
    \!\[px\]\(http\:\/\/evil\.example\/p\.png\)

    """
    if _missing(value):
        return ""
    return _ASCII_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))


def figure(value: object, digits: int = 0) -> str:
    r"""Return a number the Norwegian way; an en dash for none.

    Parameters
    ----------
    value : float or int
        The number (NaN/None give "–").
    digits : int
        Decimals to show (rounded).

    Examples
    --------
    >>> figure(177687)
    '177\xa0687'
    >>> figure(12.345, 1)
    '12,3'

    """
    if _missing(value) or value is None:
        return "–"
    number = round(float(value), digits) + 0.0  # type: ignore[arg-type]  # no "-0"
    return f"{number:,.{max(digits, 0)}f}".translate(_SYMBOLS)


def minutes(value: object) -> str:
    """Return a drive time in Norwegian: "ca. 45 min", "under 1 min", or "–" for none."""
    if _missing(value) or value is None:
        return "–"
    number = float(value)  # type: ignore[arg-type]
    return "under 1 min" if number < 1 else f"ca. {figure(number)} min"


def kilometres(value: object) -> str:
    """Return a distance in Norwegian: "12 km", "under 1 km", or "–" for none."""
    if _missing(value) or value is None:
        return "–"
    number = float(value)  # type: ignore[arg-type]
    return "under 1 km" if number < 1 else f"{figure(number)} km"


def report_filename(number: str, name: str) -> str:
    """Return a safe file name for a kommune's report ("4022_Seljord.pdf").

    Here, not in :mod:`tilbudskart.report`, so the coverage page can name the file without
    importing the report module (and matplotlib's PDF backend).
    """
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name.replace("ø", "o").replace("Ø", "O")
                                       .replace("æ", "ae").replace("Æ", "Ae")
                                       .replace("đ", "d").replace("ŋ", "n").replace("ŧ", "t"))
    ascii_name = re.sub(r"[^A-Za-z0-9]+", "_", ascii_name.encode("ascii", "ignore").decode())
    return f"{number}_{ascii_name.strip('_') or 'kommune'}.pdf"

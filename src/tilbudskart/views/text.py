"""Text for people: escaping data for HTML and Markdown, Norwegian number formats.

Every text that comes from data (a group's name, a place, an uploaded list) is *text*: it
is escaped for HTML wherever HTML is built and for Markdown wherever Markdown is rendered
(``st.markdown`` turns ``![x](http://…)`` into an image request and ``<https://…>`` into a
link). Numbers are formatted one way everywhere: Norwegian bokmål (``nb_NO``) with a space
between thousands and a decimal comma, by :mod:`babel`.
"""

from __future__ import annotations

import functools
import html
import math
import re
from datetime import date

from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol

from tilbudskart import settings

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


# GitHub's autolinks are found in the *rendered* text (mdast-util-gfm-autolink-literal runs
# after backslash escapes are resolved): ``http://``/``https://``, ``www.`` and
# ``name@domain.tld`` become links however they were escaped. A WORD JOINER (U+2060,
# invisible, no width, no line break) inside each of these starts breaks the pattern.
_WORD_JOINER = "\u2060"
_AUTOLINK_STARTS = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)", re.IGNORECASE)


def break_autolinks(text: str) -> str:
    """Return text in which no bare URL, ``www.`` or e-mail address becomes a link.

    Examples
    --------
    >>> break_autolinks("http://evil.example") == "http:\u2060//evil.example"
    True

    """
    return _AUTOLINK_STARTS.sub(_WORD_JOINER, text)


def own_links(markdown: str) -> str:
    """Return Markdown (made by :func:`escape_markdown`) with the project's own links.

    The project's own addresses are the organisations' websites (``contact_web`` of
    ``data/organisations.csv``) and the e-mail addresses of the 2007 registry
    (``data/*.csv``, transcribed with provenance): where one appears, the project writes
    it as a link (``https://`` the site, ``mailto:`` the address). Nothing else, and
    nothing an upload brings, becomes a link.
    """
    for shown, target in _own_targets():
        if shown in markdown:
            markdown = markdown.replace(shown, f"[{shown}]({target})")
    return markdown


@functools.cache
def _own_targets() -> tuple[tuple[str, str], ...]:
    from tilbudskart import registry, settings

    targets: dict[str, str] = {}
    for organisation in settings.ORGANISATION_TABLE.values():
        site = organisation.contact_web.strip()
        if site:
            targets[site] = site if "://" in site else f"https://{site}"
    emails = registry.load_registry()["email"].astype(str)
    for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", " ".join(emails)):
        targets[address] = f"mailto:{address}"
    # Longest first, so an address inside a longer one is not linked twice.
    return tuple((escape_markdown(text), target)
                 for text, target in sorted(targets.items(), key=lambda t: -len(t[0])))


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
    never starts a list or a heading). Bare URLs, ``www.`` and e-mail addresses get an
    invisible word joiner (:func:`break_autolinks`): GitHub-flavoured Markdown would make
    them live links even escaped. Links the project offers are written as links by it.

    Examples
    --------
    >>> print(escape_markdown("![px](http://evil.example/p.png)").replace("\u2060", "|"))
    \!\[px\]\(http\:|\/\/evil\.example\/p\.png\)

    """
    if _missing(value):
        return ""
    text = break_autolinks(" ".join(str(value).split()))
    return _ASCII_PUNCTUATION.sub(r"\\\1", text)


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


#: int: drive times longer than this (minutes) are said in hours and minutes.
HOURS_FROM_MINUTES = 90


def minutes(value: object) -> str:
    """Return a drive time in Norwegian: "ca. 45 min", "under 1 min", or "–" for none.

    Longer than :data:`HOURS_FROM_MINUTES`, in hours and minutes to the nearest five
    ("ca. 22 t 30 min", "ca. 2 t"): nobody reads "ca. 1 352 min" at a glance, and an
    estimate of a day's drive is not known to the minute.

    Examples
    --------
    >>> minutes(45.4), minutes(0.5), minutes(90)
    ('ca. 45 min', 'under 1 min', 'ca. 90 min')
    >>> minutes(1352), minutes(119), minutes(121.6)
    ('ca. 22 t 30 min', 'ca. 2 t', 'ca. 2 t')

    """
    if _missing(value) or value is None:
        return "–"
    number = float(value)  # type: ignore[arg-type]
    if number < 1:
        return "under 1 min"
    if number <= HOURS_FROM_MINUTES:
        return f"ca. {figure(number)} min"
    hours, rest = divmod(int(round(number / 5) * 5), 60)
    return f"ca. {figure(hours)} t" + (f" {rest} min" if rest else "")


#: dict of str to str: how precisely a group's meeting place is known, in plain words
#: (what the tables' short "Plassering" means).
PRECISION_PLAIN: dict[str, str] = {
    "postcode": "Møtestedet er kjent ut fra postnummeret.",
    "place": "Møtestedet er kjent ut fra stedsnavnet.",
    "kommune": "Bare kommunen er kjent: punktet er kommunesenteret.",
    "region": "Bare regionen er kjent: punktet er et grovt anslag.",
}


def precision_plain(precision: object) -> str:
    """Return how precisely a place is known, in a plain sentence ("" if unknown)."""
    return PRECISION_PLAIN.get(str(precision), "") if not _missing(precision) else ""


def list_age(year: object = None, published: object = None) -> str:
    """Return how old an organisation's list of groups is, for beside its groups.

    Parameters
    ----------
    year : int or str, optional
        The year of the report the groups come from (default: the registry's,
        ``settings.DATA_YEARS["registry"]``).
    published : datetime.date or str, optional
        When the organisation last published its own list (once lists can be published);
        it replaces the report's year.

    Examples
    --------
    >>> list_age(2007)
    'fra rapporten i 2007 – ring og sjekk før du drar'
    >>> import datetime
    >>> list_age(2007, datetime.date(2026, 3, 9))
    'fra organisasjonens liste 9. mars 2026 – ring og sjekk før du drar'

    """
    check = "ring og sjekk før du drar"
    if not _missing(published) and published not in ("", None):
        when = (published if isinstance(published, date)
                else date.fromisoformat(str(published)[:10]))
        day = format_date(when, "d. MMMM y", locale=LOCALE)
        return f"fra organisasjonens liste {day} – {check}"
    if _missing(year) or year in ("", None):
        year = settings.DATA_YEARS["registry"]
    return f"fra rapporten i {year} – {check}"


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

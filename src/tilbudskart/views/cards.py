"""Answer cards: the nearest groups as a phone shows them, one card each, in HTML.

A card says what a relative needs to act on: the group's name, its organisation and
kommune, how far it is (km and drive time), whom to call (a ``tel:`` link) and where to
read more (a web link), how precisely its place is known, and how old the list is
(:func:`~tilbudskart.views.text.list_age`). Every text from data is HTML-escaped; the only
links are ones this module writes: ``tel:`` with digits only, and the organisation's web
address from ``data/organisations.csv`` (the project's own table), never a URL from a
list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

import pandas as pd

from tilbudskart import settings
from tilbudskart.views.text import escape, kilometres, list_age, minutes, precision_plain

#: CSS of the cards and of the phone/laptop switch: a container keyed ``tk-phone`` shows
#: under 640 px only, one keyed ``tk-wide`` from 640 px only, and one keyed ``tk-table``
#: (the full table) is one tap away on a phone (its toggle gives it the key
#: ``tk-table-open``).
PHONE_WIDTH_PX = 640
STYLE = f"""<style>
.tk-cards {{ display: flex; flex-direction: column; gap: .5rem; margin: 0 !important;
  padding: 0 !important; }}
.tk-card {{ list-style: none; border: 1px solid #b8b8b8; border-radius: .5rem;
  margin: 0 !important; padding: .5rem .75rem; background: #fff; color: #111;
  line-height: 1.35; }}
.tk-card p {{ margin: 0 0 .2rem 0; }}
.tk-card .tk-name {{ font-size: 1.08rem; font-weight: 700; }}
.tk-card .tk-far {{ font-weight: 600; }}
.tk-card a {{ color: #0b4fa3; text-decoration: underline; }}
.tk-card a.tk-call {{ display: inline-block; padding: .2rem 0; font-weight: 700; }}
.tk-card .tk-note {{ font-size: .88rem; color: #333; margin: 0; }}
.tk-scroll {{ overflow-x: auto; max-width: 100%; border: 1px solid #d6d6d6;
  border-radius: .5rem; }}
.tk-scroll:focus-visible {{ outline: 2px solid #0b4fa3; outline-offset: 2px; }}
.tk-table {{ border-collapse: collapse; width: 100%; font-size: .92rem; color: #111; }}
.tk-table th, .tk-table td {{ padding: .35rem .5rem; border-bottom: 1px solid #e4e4e4;
  text-align: left; vertical-align: top; }}
.tk-table th {{ font-weight: 600; color: #333; }}
.tk-table td.tk-num {{ text-align: right; white-space: nowrap; }}
@media (min-width: {PHONE_WIDTH_PX}px) {{ .st-key-tk-phone {{ display: none !important; }} }}
@media (max-width: {PHONE_WIDTH_PX - 0.02}px) {{
  .st-key-tk-wide, .st-key-tk-table {{ display: none !important; }}
  .st-key-tk-found > div:has(> .st-key-tk-notes) {{ order: 1; }}
  [data-testid="stMainBlockContainer"] {{ padding-top: 1.25rem !important; }}
  h1 {{ font-size: 2rem !important; padding-top: .25rem !important; }}
  h3 {{ font-size: 1.25rem !important; padding-top: .25rem !important; }}
}}
</style>"""

# A web address the project wrote (organisations.csv): host and path, nothing else.
_WEB = re.compile(r"(?:https?://)?([a-z0-9][a-z0-9.-]*\.[a-z]{2,})(/[A-Za-z0-9._~/-]*)?")


def tel_href(phone: object) -> str:
    """Return a ``tel:`` link target for the first number in a phone text ("" if none).

    Examples
    --------
    >>> tel_href("815 00 205 (landsdekkende); 23 08 05 50")
    'tel:81500205'
    >>> tel_href("ring oss")
    ''

    """
    first = str(phone or "").split(";")[0].split("(")[0]
    digits = "".join(ch for ch in first if ch.isdigit())
    return f"tel:{digits}" if 3 <= len(digits) <= 15 else ""


def web_href(web: object) -> str:
    """Return an ``https://`` link for a web address the project wrote ("" otherwise).

    Examples
    --------
    >>> web_href("www.al-anon.org/norway")
    'https://www.al-anon.org/norway'
    >>> web_href("javascript:alert(1)")
    ''

    """
    found = _WEB.fullmatch(str(web or "").strip())
    return f"https://{found.group(1)}{found.group(2) or ''}" if found else ""


def _contact(row: pd.Series) -> str:
    """Return the card's contact line: the group's own phone, else its organisation's."""
    own = str(row.get("phone") or "").strip() if pd.notna(row.get("phone")) else ""
    known = settings.ORGANISATION_TABLE.get(str(row["organisation"]))
    national = known.contact_phone if known else ""
    phone, whose = (own, "") if tel_href(own) else (national, " (organisasjonen sentralt)")
    parts = []
    if tel_href(phone):
        parts.append(f'Ring <a class="tk-call" href="{tel_href(phone)}">{escape(phone)}</a>'
                     f"{whose}")
    web = web_href(known.contact_web) if known else ""
    if web:
        parts.append(f'<a href="{escape(web)}" target="_blank" rel="noopener noreferrer">'
                     f"{escape(known.contact_web if known else '')}</a>")
    return " · ".join(parts)


def card(row: pd.Series, published: Mapping[str, date] | None = None) -> str:
    """Return one group as a card (an HTML ``<li>``).

    Parameters
    ----------
    row : pandas.Series
        A row of :attr:`tilbudskart.pipeline.SearchAnswer.nearest` (``name``,
        ``organisation``, ``kommunenavn``, ``distance_km``, ``drive_min``, ``phone``,
        ``precision``, ``year``).
    published : mapping of str to date, optional
        When each organisation last published its own list (organisation id → date);
        an organisation in it gets that date instead of the report's year.

    """
    organisation = str(row["organisation"])
    known = settings.ORGANISATION_TABLE.get(organisation)
    drive = row.get("drive_min")
    far = [kilometres(row["distance_km"]) + " i luftlinje"]
    far.append(f"{minutes(drive)} med bil" if pd.notna(drive) else "ingen bilrute funnet")
    contact = _contact(row)
    age = list_age(row.get("year"), (published or {}).get(organisation))
    notes = " ".join(x for x in (precision_plain(row.get("precision")),
                                 f"Listen er {age}.") if x)
    return (
        '<li class="tk-card">'
        f'<p class="tk-name">{escape(row["name"])}</p>'
        f"<p>{escape(known.name if known else organisation)} · {escape(row['kommunenavn'])}"
        "</p>"
        f'<p class="tk-far">{escape(" · ".join(far))}</p>'
        + (f"<p>{contact}</p>" if contact else "")
        + f'<p class="tk-note">{escape(notes)}</p></li>')


def cards(found: pd.DataFrame, label: str,
          published: Mapping[str, date] | None = None) -> str:
    """Return groups as a list of cards (HTML ``<ul>``, "" for none), nearest first.

    Parameters
    ----------
    found : pandas.DataFrame
        Groups in distance order (see :func:`card`).
    label : str
        What the list is, for screen readers ("Nærmeste gruppe").
    published : mapping of str to date, optional
        See :func:`card`.

    """
    if found.empty:
        return ""
    items = "".join(card(row, published) for _, row in found.iterrows())
    return f'<ul class="tk-cards" aria-label="{escape(label)}">{items}</ul>'


def organisation_ages(found: pd.DataFrame,
                      published: Mapping[str, date] | None = None) -> list[str]:
    """Return how old each organisation's list is, one line per organisation in ``found``.

    E.g. "LMS (Landsforbundet Mot Stoffmisbruk): fra rapporten i 2007 – ring og sjekk før
    du drar", in order of first appearance; plain text (escape it where it is shown).
    """
    lines = []
    for organisation, rows in found.groupby("organisation", sort=False):
        known = settings.ORGANISATION_TABLE.get(str(organisation))
        years = rows["year"] if "year" in rows.columns else pd.Series(dtype=object)
        year = years.dropna().astype(str).min() if years.notna().any() else None
        age = list_age(year, (published or {}).get(str(organisation)))
        lines.append(f"{known.name if known else str(organisation)}: {age}")
    return lines

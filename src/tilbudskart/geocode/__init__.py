"""Offline, deterministic geocoding of registry rows and user searches.

Steps, in order:

0. **alias** — ``data/aliases.csv``: reasoned human decisions for names no gazetteer can
   resolve (regions such as Grenland, neighbourhoods such as Bøle, print errors such as
   Steinkjær). An alias is an explicit decision, so it is consulted before the automatic
   steps; its row states the precision (``region``, ``place`` or ``kommune``).
1. **postcode** — ``postnummer_2026.csv`` (precision ``postcode``), when the printed postal
   place agrees with the register.
2. **place** — gazetteer (``stedsnavn.csv``) and administrative centres (precision ``place``).
3. **kommune** — a kommune name of today (precision ``kommune``, point = administrative centre).
4. **old kommune** — an older name or number from the crosswalk (precision ``kommune``).

The county printed beside a name (2007 county names, Al-Anon districts, landsdeler; see
``data/counties_2007.csv``) restricts candidates to today's kommuner that lie in it.
A name that still matches places in more than one kommune is *ambiguous*: with a county it
is settled only if exactly one candidate is an administrative centre; without context it is
reported, never guessed. What cannot be resolved stays in the output with a reason.
"""

from __future__ import annotations

from tilbudskart.geocode.gazetteer import (
    SHARED_NAMES_PATH,
    Gazetteer,
    Match,
    Resolution,
    territory_note,
)
from tilbudskart.geocode.services import distance_outside_kommune, geocode_services, kommuner_at
from tilbudskart.geocode.text import (
    ECHO_CHARS,
    MAX_QUERY_CHARS,
    TERMINAL_ESCAPE,
    clean_text,
    normalise,
    shorten,
)

__all__ = [
    "ECHO_CHARS",
    "MAX_QUERY_CHARS",
    "SHARED_NAMES_PATH",
    "TERMINAL_ESCAPE",
    "Gazetteer",
    "Match",
    "Resolution",
    "clean_text",
    "distance_outside_kommune",
    "geocode_services",
    "kommuner_at",
    "normalise",
    "shorten",
    "territory_note",
]

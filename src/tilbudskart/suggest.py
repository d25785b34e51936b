"""«Mente du …?»: names close to a search that found nothing, for a person to pick.

A relative types "Kautokiino", "Tromso" or "Aalesund"; the gazetteer
(:class:`tilbudskart.geocode.Gazetteer`) matches names exactly and finds nothing. This
module offers up to three names it does know: every place in the gazetteer (and its other
names), every kommune name of the current boundaries in each official language
(bokmål/nynorsk and Sámi or Kven forms) and every postal place. Names are compared by
rapidfuzz on a folded key
(:func:`fold`): case, diacritics and the Norwegian letters written in ASCII (æ as "ae",
ø as "o"/"oe", å as "a"/"aa") do not count against a name.

Everything is local: the search is compared with in-memory names and goes nowhere.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from tilbudskart.geocode import Gazetteer, clean_text, normalise

#: int: most suggestions shown.
MAX_SUGGESTIONS = 3
#: float: lowest rapidfuzz similarity (0–100, :func:`rapidfuzz.fuzz.ratio` on folded keys)
#: that is offered at all.
MIN_SCORE = 72.0
#: dict of str to float: added to the similarity by kind of name, so that when a kommune,
#: a postal place and a hamlet are as close, the names most people mean come first.
KIND_BONUS = {"kommune": 4.0, "poststed": 2.0, "sted": 0.0}

# Letters NFKD does not take apart, and the ASCII people type for them.
_LETTERS = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "đ": "d",
                          "ŋ": "n", "ŧ": "t", "ß": "ss"})


def fold(name: str) -> str:
    """Return a name folded for fuzzy comparison.

    Cleaned and case-folded (:func:`tilbudskart.geocode.normalise`), Norwegian and Sámi
    letters to ASCII (æ → ae, ø → o, å → a, á → a, č → c, ŋ → n …), and "aa" and "oe"
    read as å and ø.

    Examples
    --------
    >>> fold("Kárášjohka") == fold("Karasjohka")
    True
    >>> fold("Ålesund") == fold("Aalesund")
    True
    >>> fold("Bærum")
    'baerum'

    """
    text = normalise(name).translate(_LETTERS)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    return text.replace("aa", "a").replace("oe", "o")


@dataclass(frozen=True)
class Names:
    """The names a search can be compared with: folded keys and what to show for each."""

    keys: list[str]
    shown: list[str]
    bonus: list[float]


def _official_forms(name: str) -> list[str]:
    """"Kárášjohka - Karasjok" → ["Kárášjohka", "Karasjok"] (each official form)."""
    return [part.strip() for part in str(name).split(" - ") if part.strip()]


@lru_cache(maxsize=4)  # one gazetteer per process (two with an upload's own)
def names(gazetteer: Gazetteer) -> Names:
    """Return every name a suggestion may be, one per folded key (the best kind wins).

    Parameters
    ----------
    gazetteer : Gazetteer
        The loaded gazetteer.

    Returns
    -------
    Names

    """
    found: dict[str, tuple[str, float]] = {}

    def add(name: object, kind: str, shown: str = "") -> None:
        text = clean_text(name) if isinstance(name, str) else ""
        key = fold(text)
        shown = shown or text
        if len(key) < 2:
            return
        bonus = KIND_BONUS[kind]
        if key not in found or found[key][1] < bonus:
            found[key] = (shown, bonus)

    for row in gazetteer.population[["navn", "kommunenavn"]].itertuples(index=False):
        for form in {row.navn, *_official_forms(str(row.kommunenavn))}:
            add(form, "kommune")
    for place in gazetteer.postcodes["poststed"].dropna().unique():
        add(str(place).title() if str(place).isupper() else place, "poststed")
    places = gazetteer._places
    for name, others in zip(places["navn"], places["alternative_navn"].fillna(""),
                            strict=True):
        add(name, "sted")
        for other in str(others).split("|"):  # another name: show the place's own
            add(other, "sted", shown=clean_text(str(name)))
    return Names(list(found), [v[0] for v in found.values()], [v[1] for v in found.values()])


def _searchable(gazetteer: Gazetteer, name: str) -> bool:
    """Whether a search for ``name`` finds a place (or lets the person choose one)."""
    found = gazetteer.search(name)
    return found.ok or bool(found.candidates)


def suggest(gazetteer: Gazetteer, query: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Return up to ``limit`` known names close to a search that found nothing.

    Parameters
    ----------
    gazetteer : Gazetteer
        The loaded gazetteer.
    query : str
        What the person typed (a street or a postcode before the place is ignored: the
        last comma-separated part with letters is compared).
    limit : int
        Most names returned (1 … 3 makes sense on a phone).

    Returns
    -------
    list of str
        Best first; empty when nothing is close enough (:data:`MIN_SCORE`). Each name is
        one :meth:`Gazetteer.search` knows.

    Examples
    --------
    ``suggest(gazetteer, "Kautokiino")`` → ``["Kautokeino", …]``.

    """
    parts = [p for p in clean_text(query).split(",") if any(ch.isalpha() for ch in p)]
    if not parts:
        return []
    key = fold("".join(ch for ch in parts[-1] if not ch.isdigit()))
    if len(key) < 2:
        return []
    known = names(gazetteer)
    scored = process.extract(key, known.keys, scorer=fuzz.ratio, score_cutoff=MIN_SCORE,
                             limit=limit * 4)
    ranked = sorted(scored, key=lambda hit: (-(hit[1] + known.bonus[hit[2]]), hit[2]))
    shown: list[str] = []
    for _, _, index in ranked:
        name = known.shown[index]
        if name not in shown and _searchable(gazetteer, name):
            shown.append(name)
        if len(shown) == limit:
            break
    return shown

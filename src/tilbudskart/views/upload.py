"""Upload previews: an organisation's list and its comparison, in Norwegian words.

Pure functions of :class:`tilbudskart.pipeline.Upload`'s frames: organisation names (not
ids), Møteform in Norwegian, empty cells blank (never "None"), numbers kept as numbers
(shown with thousands spaces by :func:`tilbudskart.views.tables.styled`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from tilbudskart import importers, settings
from tilbudskart.views.text import figure

#: Møteform in Norwegian, by ``attendance``.
ATTENDANCE_NB = {"physical": "fysisk", "online": "på nett", "hybrid": "fysisk og på nett"}

#: Kind of change in the comparison, in Norwegian.
CHANGE_NB = {"same": "samme", "new": "ny", "gone": "borte", "moved": "flyttet"}

#: A list with fewer groups than this share of the organisation's current ones is
#: probably a part of its list, not all of it (see :func:`part_list_notes`).
PART_LIST_SHARE = 0.5


def organisation_name(organisation: object) -> str:
    """Return an organisation's name ("Alle grupper" for ``all``; "" for nothing)."""
    if organisation == "all":
        return "Alle grupper"
    if not isinstance(organisation, str) or not organisation:
        return ""
    return settings.ORGANISATIONS.get(organisation, organisation)


def _blank(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns with empty cells as "" (not None/NaN shown as "None")."""
    frame = frame.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
            frame[column] = frame[column].map(lambda v: "" if v is None else v)
    return frame


def preview_table(used: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of a list that are used, as the upload page previews them."""
    table = pd.DataFrame({
        "Rad": used["source_row"].to_numpy(),
        "Navn": used["name"].to_numpy(),
        "Organisasjon": used["organisation"].map(organisation_name).to_numpy(),
        "Sted": used["place"].to_numpy(),
        "Postnummer": used["postcode"].to_numpy(),
        "Møteform": used["attendance"].map(lambda a: ATTENDANCE_NB.get(a, a)).to_numpy(),
    })
    return _blank(table)


def counts_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Return the comparison's counts per organisation (same, moved, gone, new)."""
    table = counts.rename(columns={"organisation": "Organisasjon", "same": "Samme",
                                   "moved": "Flyttet", "gone": "Borte", "new": "Nye"})
    table["Organisasjon"] = table["Organisasjon"].map(organisation_name)
    return _blank(table)


def coverage_table(coverage: pd.DataFrame) -> pd.DataFrame:
    """Return coverage then and now per organisation and measure (numbers as numbers)."""
    table = pd.DataFrame({
        "Organisasjon": coverage["organisation"].map(organisation_name).to_numpy(),
        "Mål": coverage["label"].to_numpy(),
        "2007": coverage["then"].to_numpy(), "Nå": coverage["now"].to_numpy(),
        "Endring": coverage["change"].to_numpy(),
    })
    return _blank(table)


def changes_table(matches: pd.DataFrame) -> pd.DataFrame:
    """Return the groups that are new, gone or moved, in Norwegian."""
    changed = matches[matches["change"] != "same"]
    table = pd.DataFrame({
        "Organisasjon": changed["organisation"].map(organisation_name).to_numpy(),
        "Endring": changed["change"].map(lambda c: CHANGE_NB.get(c, c)).to_numpy(),
        "2007": changed["then_name"].to_numpy(),
        "Kommune 2007": changed["then_kommune"].to_numpy(),
        "Nå": changed["now_name"].to_numpy(),
        "Kommune nå": changed["now_kommune"].to_numpy(),
        "Flyttet (km)": pd.to_numeric(changed["moved_km"], errors="coerce").round(1).to_numpy(),
    })
    return _blank(table)


def part_list_notes(current: pd.DataFrame, results: Sequence[importers.ImportResult],
                    mode: str, share: float = PART_LIST_SHARE) -> list[str]:
    """Return a plain warning per organisation whose list looks like only part of it.

    In ``replace`` mode a list stands for all of an organisation's groups: a list with
    far fewer groups than the organisation has today reads as groups closing. Said
    before any comparison.

    Parameters
    ----------
    current : pandas.DataFrame
        The services shown today (``organisation``, ``kind``, ``status``).
    results : sequence of ImportResult
        The lists read.
    mode : str
        ``"add"`` (no warning) or ``"replace"``.
    share : float
        Fewer than this share of today's groups is a part-list.

    """
    if mode != "replace":
        return []
    counted = current[(current["kind"] == "self_help")
                      & current["status"].isin(["geocoded", "online"])]
    today = counted.groupby("organisation").size()
    rows = [r.services for r in results if len(r.services)]
    if not rows:
        return []
    listed = pd.concat(rows).groupby("organisation").size()
    notes = []
    for organisation, count in listed.items():
        before = int(today.get(organisation, 0))
        if before and count < share * before:
            name = organisation_name(organisation)
            notes.append(
                f"Lista har {figure(count)} grupper for {name}, men i dag vises "
                f"{figure(before)}. Når lista erstatter gruppene fra 2007, leses den som "
                f"hele lista til {name}: de {figure(before - count)} andre regnes som "
                "nedlagt, og mange flere ser ut til å bo langt unna. Er dette bare en del "
                "av lista, velg «Legg til 2007-gruppene» i stedet.")
    return notes

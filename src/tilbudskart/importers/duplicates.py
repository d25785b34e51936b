"""Duplicates: imported groups that look like the same group twice."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from tilbudskart import geocode
from tilbudskart.importers.problems import (
    WARNING,
    empty_report,
    report_frame,
)


def flag_duplicates(services: pd.DataFrame, threshold: float = 90.0) -> pd.DataFrame:
    """Flag imported groups that look like the same group twice (both rows stay).

    The report of :func:`find_duplicates` without the pairs; see there.
    """
    return find_duplicates(services, threshold=threshold, left_out=False)[0]


def find_duplicates(services: pd.DataFrame, registry_rows: pd.DataFrame | None = None,
                    threshold: float = 90.0, left_out: bool = True
                    ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Find imported groups that look like the same group twice, or like a 2007 group.

    Two rows are the same group when they have the same organisation, the same place (the
    same kommune once geocoded, else the same place text) and near-same names (rapidfuzz:
    the better of ``ratio`` without spaces and ``token_sort_ratio``, ≥ ``threshold``,
    after case-folding: "Seljord-gruppa" = "Seljordgruppa", "Gruppe A" ≠ "Gruppe B";
    names with different numbers are different groups).

    Parameters
    ----------
    services : pandas.DataFrame
        Imported rows with ``id``, ``registry_file``, ``source_row``, ``organisation``,
        ``name`` and ``place`` (and ``kommunenummer`` when geocoded).
    registry_rows : pandas.DataFrame, optional
        Geocoded groups already there (the 2007 registry, when a list is added to it):
        an imported row like one of them is a duplicate too.
    threshold : float
        Similarity (0–100) from which two names count as the same.
    left_out : bool
        Say in the report that the later row is left out (unless the user keeps it).

    Returns
    -------
    tuple of (pandas.DataFrame, dict of str to str)
        A report (:data:`REPORT_COLUMNS`), severity ``warning``, one row per later row of
        a pair; and each later row's id → the id of the row it repeats.

    """
    from rapidfuzz import fuzz

    if services.empty:
        return empty_report(), {}
    suffix = "; left out (keep it to count it)" if left_out else ""
    records = services.to_dict("records")

    def where(record: dict[Any, Any]) -> str:
        kommune = record.get("kommunenummer")
        return str(kommune) if isinstance(kommune, str) and kommune else geocode.normalise(
            str(record.get("place") or ""))

    groups: dict[tuple[str, str], list[dict[Any, Any]]] = {}
    for record in records:
        if where(record):
            groups.setdefault((str(record["organisation"]), where(record)), []).append(record)
    known: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    if registry_rows is not None and len(registry_rows):
        counted = registry_rows[registry_rows["status"] == "geocoded"]
        for row in counted[["id", "name", "organisation", "kommunenummer"]].itertuples():
            known.setdefault((str(row.organisation), str(row.kommunenummer)), []).append(
                (str(row.id), str(row.name), geocode.normalise(str(row.name))))
    problems, pairs = [], {}
    for key, group in groups.items():
        names = [geocode.normalise(str(r["name"])) for r in group]
        for j in range(len(group)):
            later = group[j]
            first_name, first_id = "", ""
            for i in range(j):
                if _similarity(fuzz, names[i], names[j]) >= threshold:
                    first = group[i]
                    first_id = str(first["id"])
                    first_name = (f"{first['name']!r} ({first['registry_file']}, row "
                                  f"{first['source_row']}): same organisation and place")
                    break
            if not first_id:
                for ident, shown, name in known.get(key, []):
                    if _similarity(fuzz, name, names[j]) >= threshold:
                        first_id = ident
                        first_name = (f"{shown!r} in the 2007 registry: same organisation "
                                      "and kommune")
                        break
            if first_id:
                pairs[str(later["id"])] = first_id
                problems.append({
                    "file": later["registry_file"], "row": later["source_row"],
                    "field": "name", "value": geocode.shorten(str(later["name"]), 80),
                    "problem": f"looks like the same group as {first_name}{suffix}",
                    "severity": WARNING})
    return report_frame(problems), pairs


def _similarity(fuzz: Any, a: str, b: str) -> float:
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return 0.0  # "Gruppe 1" and "Gruppe 2" are two groups
    return float(max(fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),
                     fuzz.token_sort_ratio(a, b)))

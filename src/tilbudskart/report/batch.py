"""Many reports at once: finding a kommune, the index, and writing reports to a folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tilbudskart.report.data import (
    ReportData,
    beyond_ranks,
)
from tilbudskart.report.kommune import kommune_report
from tilbudskart.views.text import report_filename


def report_index(kommuner: pd.DataFrame) -> pd.DataFrame:
    """Return the index of ``report --all``: one row per kommune and its file name."""
    table = kommuner.reset_index() if "kommunenummer" not in kommuner.columns else kommuner
    return pd.DataFrame({
        "kommunenummer": table["kommunenummer"].astype(str),
        "kommunenavn": table["kommunenavn"], "fylkesnavn": table["fylkesnavn"],
        "folkemengde": table["folkemengde"],
        "fil": [report_filename(str(n), str(k)) for n, k in
                zip(table["kommunenummer"], table["kommunenavn"], strict=True)],
    }).sort_values("kommunenummer", ignore_index=True)





@dataclass
class KommuneLookup:
    """The outcome of looking up a kommune typed by a person.

    Attributes
    ----------
    number : str or None
        The kommunenummer found (None if none or several).
    candidates : list of str
        Labels to choose from when the name is ambiguous ("Herøy (1515, Møre og Romsdal)").
    reason : str
        Why nothing was found (empty when found or ambiguous).

    """

    number: str | None
    candidates: list[str] = field(default_factory=list)
    reason: str = ""


def find_kommune(kommuner: pd.DataFrame, query: str,
                 gazetteer: Any | None = None) -> KommuneLookup:
    """Find one kommune by number or name (then, with a gazetteer, by place or postcode).

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (column or index ``kommunenummer``; ``kommunenavn``,
        ``fylkesnavn``, optionally ``kommunenavn_offisielt``).
    query : str
        "4022", "Seljord", "Kárášjohka", "Guovdageaidnu - Kautokeino" …
    gazetteer : Gazetteer, optional
        For a place or postcode ("Bø i Telemark", "3840"): its kommune.

    Returns
    -------
    KommuneLookup

    """
    from tilbudskart.geocode import clean_text, normalise

    table = kommuner.reset_index() if "kommunenummer" not in kommuner.columns else kommuner
    text = clean_text(query)
    if not text:
        return KommuneLookup(None, reason="empty kommune")
    numbers = table["kommunenummer"].astype(str)
    if text.isdigit() and text.zfill(4) in set(numbers):
        return KommuneLookup(text.zfill(4))
    key = normalise(text)
    names = [table["kommunenavn"].astype(str)]
    if "kommunenavn_offisielt" in table.columns:
        official = table["kommunenavn_offisielt"].astype(str)
        names.append(official)
        names.extend(official.str.split(" - ").str[i].fillna("") for i in range(3))
    hit = np.zeros(len(table), dtype=bool)
    for column in names:
        hit |= column.map(normalise).to_numpy() == key
    if hit.sum() == 1:
        return KommuneLookup(str(numbers[hit].iloc[0]))
    if hit.sum() > 1:
        chosen = table[hit]
        return KommuneLookup(None, [f"{k} ({n}, {f})" for n, k, f in zip(
            chosen["kommunenummer"], chosen["kommunenavn"], chosen["fylkesnavn"], strict=True)])
    if gazetteer is not None:
        resolution = gazetteer.search(text)
        if resolution.ok and not resolution.match.territory:
            return KommuneLookup(resolution.match.kommunenummer)
        if resolution.candidates:
            return KommuneLookup(None, [c.label for c in resolution.candidates])
        return KommuneLookup(None, reason=resolution.reason or "not found")
    return KommuneLookup(None, reason=f"no kommune named {text[:60]!r}")


_WORKER: dict[str, Any] = {}


def _init_worker(data: ReportData, ranks: pd.DataFrame) -> None:
    _WORKER["data"], _WORKER["ranks"] = data, ranks


def _render_to(job: tuple[str, str]) -> str:
    number, path = job
    _write_atomic(path, kommune_report(_WORKER["data"], number, _WORKER["ranks"]))
    return path


def _write_atomic(path: str | Any, content: bytes) -> None:
    """Write bytes to a temporary file beside ``path``, then rename it into place."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=".tmp", delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)


def write_reports(data: ReportData, folder: Any, numbers: Sequence[str] | None = None,
                  workers: int = 2) -> list[Any]:
    """Write one report per kommune into ``folder`` (in parallel), and ``index.csv``.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    folder : pathlib.Path
        Output folder (created if missing).
    numbers : sequence of str, optional
        Kommunenumre (default all).
    workers : int
        Processes (1: in this process). Workers are forked, so the data is not copied.

    Returns
    -------
    list of pathlib.Path
        The reports written, then ``index.csv`` (kommunenummer, name, fylke, population,
        file name; UTF-8 with BOM, Excel-safe).

    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from tilbudskart.views.exports import csv_bytes

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    index = report_index(data.kommuner)
    if numbers is not None:
        index = index[index["kommunenummer"].isin(list(numbers))]
    ranks = beyond_ranks(data.kommuner)
    jobs = [(n, str(out / f)) for n, f in zip(index["kommunenummer"], index["fil"],
                                              strict=True)]
    methods = multiprocessing.get_all_start_methods()
    if workers <= 1 or "fork" not in methods:
        _init_worker(data, ranks)
        written = [_render_to(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("fork"),
                                 initializer=_init_worker, initargs=(data, ranks)) as pool:
            written = list(pool.map(_render_to, jobs, chunksize=4))
    _write_atomic(out / "index.csv", csv_bytes(index))
    return [Path(p) for p in written] + [out / "index.csv"]

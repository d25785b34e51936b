"""Planning answers in plain words: why each proposed site, and one total per answer.

Pure functions over a plan's sites (:class:`tilbudskart.planning.Plan`) and the
population grid; they use only public functions of :mod:`tilbudskart.access` and
:mod:`tilbudskart.network` (not the planning internals). Method names (MCLP, p-median,
LSCP) are for the "Slik er det regnet" part of the page, never these sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from tilbudskart import access, network
from tilbudskart.views.language import official_name
from tilbudskart.views.text import figure

#: How far (km in a line) beyond a drive-time threshold's straight-line reach cells are
#: routed from a site: driving covers at most this many km per minute.
KM_PER_MINUTE = 2.0


def measure_today(services: pd.DataFrame, grid: pd.DataFrame, road_network: network.RoadNetwork,
                  organisation: str | None, unit: str) -> np.ndarray:
    """Return each grid cell's km in a line (``unit`` "km") or minutes to its nearest group.

    Cells without a route get ``inf`` (they count as beyond every threshold).
    """
    groups = access.located(services, organisation=organisation)
    if unit == "km":
        return np.asarray(access.NearestIndex.from_services(groups).distance_km(
            grid["lat"].to_numpy(), grid["lon"].to_numpy()), dtype=float)
    routes = road_network.nearest(*network.to_metric(groups["lat"], groups["lon"]))
    minutes = network.travel_from(routes, road_network, grid["x"], grid["y"])["minutes"]
    return np.nan_to_num(minutes.to_numpy(dtype=float), nan=np.inf)


def measure_from_site(lat: float, lon: float, grid: pd.DataFrame,
                      road_network: network.RoadNetwork, unit: str,
                      threshold: float) -> np.ndarray:
    """Return each cell's km in a line or minutes by road from one site (``inf``: too far).

    For minutes, only cells within ``threshold`` × :data:`KM_PER_MINUTE` km in a line are
    routed (no one farther can be within ``threshold`` minutes).
    """
    km = access.geodesic_km(grid["lat"].to_numpy(), grid["lon"].to_numpy(),
                            np.full(len(grid), lat), np.full(len(grid), lon))
    if unit == "km":
        return np.asarray(km, dtype=float)
    result = np.full(len(grid), np.inf)
    near = np.flatnonzero(km <= threshold * KM_PER_MINUTE)
    if len(near):
        routes = road_network.nearest(*network.to_metric([lat], [lon]))
        cells = grid.iloc[near]
        minutes = network.travel_from(routes, road_network, cells["x"], cells["y"])["minutes"]
        result[near] = np.nan_to_num(minutes.to_numpy(dtype=float), nan=np.inf)
    return result


def reached_by_kommune(grid: pd.DataFrame, today: np.ndarray,
                       from_sites: Sequence[np.ndarray], threshold: float) -> list[pd.Series]:
    """Return, per site in plan order, the people it newly brings within the threshold.

    A cell counts for the first site that reaches it (as the plan's ``added``); only cells
    beyond the threshold today count.

    Returns
    -------
    list of pandas.Series
        People by ``kommunenummer``, most first, one series per site.

    """
    people = grid["befolkning"].to_numpy(dtype=float)
    open_ = today > threshold
    answers = []
    for reach in from_sites:
        newly = open_ & (reach <= threshold)
        open_ &= ~newly
        counts = pd.Series(people[newly]).groupby(
            grid["kommunenummer"].to_numpy()[newly]).sum()
        answers.append(counts[counts > 0].sort_values(ascending=False, kind="stable"))
    return answers


def _names(numbers: Sequence[str], names: dict[str, str]) -> str:
    shown = [names.get(n, n) for n in numbers]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " og " + shown[-1]


def site_sentences(sites: pd.DataFrame, reached: Sequence[pd.Series], names: dict[str, str],
                   far: str, most: int = 3) -> list[str]:
    """Return one sentence per proposed site: whom it reaches, and from which kommuner.

    Parameters
    ----------
    sites : pandas.DataFrame
        ``Plan.sites`` (``kommunenavn``, ``fylkesnavn``, ``fixed``, ``added``), in order.
    reached : sequence of pandas.Series
        :func:`reached_by_kommune` for the same sites.
    names : dict of str to str
        Kommune names by number.
    far : str
        What "beyond" is, e.g. ``"mer enn 50 km"``.
    most : int
        How many kommuner to name.

    """
    sentences = []
    for rank, (site, by_kommune) in enumerate(zip(sites.itertuples(), reached, strict=True),
                                              start=1):
        added = int(cast(Any, site.added))
        chosen = " Du valgte denne kommunen selv." if bool(site.fixed) else ""
        where = f"{rank}. {site.kommunenavn} ({official_name(str(site.fylkesnavn))}):"
        if added <= 0:
            sentences.append(f"{where} en gruppe her ville ikke nå noen flere enn stedene "
                             f"over, som i dag bor {far} unna.{chosen}")
            continue
        top = [str(n) for n in by_kommune.index[:most]]
        whence = ""
        if top:
            lead = "mest i" if len(by_kommune) > len(top) else "i"
            whence = f", {lead} {_names(top, names)}"
        sentences.append(f"{where} en gruppe her ville nå {figure(added)} mennesker som i dag "
                         f"bor {far} fra nærmeste gruppe{whence}.{chosen}")
    return sentences


def total_sentence(k: int, covered: int, beyond: int, far: str) -> str:
    r"""Return the one total of a plan, in a sentence.

    Examples
    --------
    >>> total_sentence(5, 177234, 602142, "mer enn 60 min").replace("\xa0", " ")
    'Til sammen ville 5 nye grupper nå 177 234 av de 602 142 innbyggerne som i dag bor mer enn 60 min fra nærmeste gruppe.'

    """  # noqa: E501
    groups = "1 ny gruppe" if k == 1 else f"{k} nye grupper"
    return (f"Til sammen ville {groups} nå {figure(covered)} av de {figure(beyond)} "
            f"innbyggerne som i dag bor {far} fra nærmeste gruppe.")

"""Measures: how far help is — the thresholds and the people beyond them, in one place.

Every "how many live farther than N" figure of the project is computed here, from a cost
per population grid cell (straight-line km or drive minutes to the nearest group):

- :class:`Threshold` is one "near" (``25km``, ``60min``): a unit and a value, with its
  output column (:func:`tilbudskart.settings.beyond_km_column`);
- :data:`BEYOND` are the thresholds of the tables, maps, reports and comparisons, and
  :data:`THRESHOLDS` those the planning questions offer; both are *derived* from
  :data:`tilbudskart.settings.BEYOND_KM`, :data:`~tilbudskart.settings.BEYOND_MINUTES` and
  :data:`~tilbudskart.settings.PLANNING_MINUTES`, the only place the numbers live;
- :func:`figures` turns a cost per grid cell into the per-kommune figures: the cost at the
  centre (nearest), the population-weighted cost, the people beyond each threshold and the
  people not routed, scaled from the grid to each kommune's population.

Norwegian wording stays in :mod:`tilbudskart.views` (``views.measures`` for km/min).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from tilbudskart import settings

#: The two units: straight-line km, minutes by road and car ferry.
UNITS: tuple[str, ...] = ("km", "min")


@dataclass(frozen=True)
class Threshold:
    """What counts as "near" a group.

    Attributes
    ----------
    key : str
        ``"<value><unit>"``: ``"25km"``, ``"50km"``, ``"45min"``, ``"60min"``, ``"75min"``.
    unit : {"km", "min"}
        Straight-line kilometres or minutes by road and car ferry.
    value : float
        The threshold.

    """

    key: str
    unit: Literal["km", "min"]
    value: float

    @property
    def column(self) -> str:
        """Return the output column of the people beyond it (``population_beyond_50km``)."""
        if self.unit == "km":
            return settings.beyond_km_column(int(self.value))
        return settings.beyond_minutes_column(int(self.value))


def threshold(unit: str, value: float) -> Threshold:
    """Return the :class:`Threshold` of ``value`` ``unit`` (``threshold("km", 50)``).

    Raises
    ------
    ValueError
        If the unit is not one of :data:`UNITS` or the value is not a positive number.

    """
    if unit not in UNITS:
        raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"threshold must be a positive number, not {value!r}")
    return Threshold(f"{value:g}{unit}", "km" if unit == "km" else "min", float(value))


def derived(km: Sequence[float], minutes: Sequence[float],
            planning_minutes: Sequence[float]) -> dict[str, Any]:
    """Return the thresholds derived from the settings' numbers (the names below).

    What this module sets at import from :data:`tilbudskart.settings.BEYOND_KM`,
    :data:`~tilbudskart.settings.BEYOND_MINUTES` and
    :data:`~tilbudskart.settings.PLANNING_MINUTES`; a test sets other numbers with it.
    """
    beyond_km = tuple(threshold("km", v) for v in km)
    beyond_minutes = tuple(threshold("min", v) for v in minutes)
    nearest_minutes = min(beyond_minutes, key=lambda t: t.value)
    return {
        "BEYOND_KM": beyond_km, "BEYOND_MINUTES": beyond_minutes,
        "BEYOND": beyond_km + beyond_minutes,
        "FARTHEST_KM": max(beyond_km, key=lambda t: t.value),
        "FARTHEST_MINUTES": max(beyond_minutes, key=lambda t: t.value),
        "NEAREST_MINUTES": nearest_minutes,
        "THRESHOLDS": {t.key: t for t in (*beyond_km, *(threshold("min", v) for v in sorted(
            {*planning_minutes, nearest_minutes.value})))},
    }


_DERIVED = derived(settings.BEYOND_KM, settings.BEYOND_MINUTES, settings.PLANNING_MINUTES)

#: tuple of Threshold: the distance thresholds of the tables (from settings.BEYOND_KM).
BEYOND_KM: tuple[Threshold, ...] = _DERIVED["BEYOND_KM"]
#: tuple of Threshold: the time thresholds of the tables (from settings.BEYOND_MINUTES).
BEYOND_MINUTES: tuple[Threshold, ...] = _DERIVED["BEYOND_MINUTES"]
#: tuple of Threshold: every "people beyond" threshold of the tables, km first.
BEYOND: tuple[Threshold, ...] = _DERIVED["BEYOND"]
#: Threshold: the widest distance threshold (the "far" of captions and the report's reach).
FARTHEST_KM: Threshold = _DERIVED["FARTHEST_KM"]
#: Threshold: the longest time threshold (the worst-off line of plans and reports).
FARTHEST_MINUTES: Threshold = _DERIVED["FARTHEST_MINUTES"]
#: Threshold: the shortest time threshold (what "everyone near" means by default).
NEAREST_MINUTES: Threshold = _DERIVED["NEAREST_MINUTES"]
#: dict of str to Threshold: the thresholds planning offers: the tables' distances, and
#: SSB's centrality times (settings.PLANNING_MINUTES) with the tables' shortest time.
THRESHOLDS: dict[str, Threshold] = _DERIVED["THRESHOLDS"]


def check_threshold(near: str | Threshold,
                    offered: dict[str, Threshold] | None = None) -> Threshold:
    """Return the :class:`Threshold` of ``near`` if it is offered.

    Parameters
    ----------
    near : str or Threshold
        A key (``"60min"``) or a threshold.
    offered : dict of str to Threshold, optional
        Default :data:`THRESHOLDS`.

    Raises
    ------
    ValueError
        Naming the value, if it is not offered.

    Examples
    --------
    >>> check_threshold("60min")
    Threshold(key='60min', unit='min', value=60.0)

    """
    offered = THRESHOLDS if offered is None else offered
    if isinstance(near, Threshold) and offered.get(near.key) == near:
        return near
    if isinstance(near, str) and near in offered:
        return offered[near]
    raise ValueError(f"threshold {near!r} is not offered; choose one of "
                     f"{', '.join(offered)}")


#: Columns of :func:`figures` besides one per threshold (:attr:`Threshold.column`).
FIGURE_COLUMNS: tuple[str, ...] = ("nearest", "weighted", "not_routed")


def figures(cost_per_cell: np.ndarray | pd.Series, grid: pd.DataFrame, kommuner: pd.DataFrame,
            thresholds: Sequence[Threshold],
            centre: np.ndarray | pd.Series | Sequence[float]) -> pd.DataFrame:
    """Return per kommune how far help is, from a cost per grid cell.

    Parameters
    ----------
    cost_per_cell : array of float
        Straight-line km or drive minutes from each grid cell to the nearest group, in the
        grid's row order; NaN where the cell has no route.
    grid : pandas.DataFrame
        Population grid cells (``kommunenummer``, ``befolkning``).
    kommuner : pandas.DataFrame
        ``kommunenummer``, ``folkemengde`` (one row per kommune).
    thresholds : sequence of Threshold
        The thresholds to count people beyond (in the unit of ``cost_per_cell``).
    centre : array of float
        The cost from each kommune's administrative centre, in ``kommuner``'s row order
        (NaN: no route); the fallback of a kommune without inhabited grid cells.

    Returns
    -------
    pandas.DataFrame
        In ``kommuner``'s row order and index: ``nearest`` (``centre``), ``weighted``
        (population-weighted cost over the routed cells; the centre's without any),
        one int64 column per threshold (:attr:`Threshold.column`: people beyond it)
        and ``not_routed`` (int64: people in cells without a route). People are grid
        residents scaled to the kommune's ``folkemengde``, rounded per kommune; a kommune
        without grid cells counts all or none of its people by its centre.

    """
    cost = np.asarray(cost_per_cell, dtype=float)
    if len(cost) != len(grid):
        raise ValueError(f"{len(cost)} costs for {len(grid)} grid cells")
    routed = np.isfinite(cost)
    people = grid["befolkning"].to_numpy(dtype=float)
    routed_people = np.where(routed, people, 0.0)
    per = pd.DataFrame({
        "kommunenummer": grid["kommunenummer"].to_numpy(),
        "people": people,
        "weighted": np.where(routed, np.nan_to_num(cost) * people, 0.0),
        "routed_people": routed_people,
        **{t.key: np.where(routed & (np.nan_to_num(cost) > t.value), people, 0.0)
           for t in thresholds},
    }).groupby("kommunenummer").sum()
    table = kommuner[["kommunenummer", "folkemengde"]].merge(
        per, left_on="kommunenummer", right_index=True, how="left")
    table.index = kommuner.index
    nearest = pd.Series(np.asarray(centre, dtype=float), index=kommuner.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = table["weighted"] / table["routed_people"]
        scale = table["folkemengde"] / table["people"]
    has_cells = table["people"] > 0
    result = pd.DataFrame({"nearest": nearest,
                           "weighted": weighted.where(table["routed_people"] > 0, nearest)},
                          index=kommuner.index)
    for t in thresholds:
        fallback = (nearest > t.value).astype(float) * table["folkemengde"]
        beyond = (table[t.key] * scale).where(has_cells, fallback)
        result[t.column] = beyond.fillna(0).round().astype("int64")
    not_routed = ((table["people"] - table["routed_people"]) * scale).where(
        has_cells, nearest.isna() * table["folkemengde"])
    result["not_routed"] = not_routed.fillna(0).round().astype("int64")
    return result


#: str: the population every people figure counts (tables, reports, plans), stated in
#: outputs: the grid's residents scaled to each kommune's registered population.
POPULATION_SOURCE = (f"SSB population grid {settings.DATA_YEARS['grid']}, scaled to each "
                     f"kommune's population on 1 January {settings.DATA_YEARS['population']}")


def scaled_population(grid: pd.DataFrame, kommuner: pd.DataFrame) -> np.ndarray:
    """Return each grid cell's residents scaled to its kommune's population, in whole people.

    The scaling of :func:`figures` (:data:`POPULATION_SOURCE`), as whole numbers: each
    cell gets its share of the kommune's ``folkemengde`` rounded down, and the people left
    over go one each to the cells with the largest remainders (largest remainder method),
    so a kommune's cells hold exactly its ``folkemengde`` and plans count the people the
    tables count. Cells of a kommune not in ``kommuner``, or of one whose cells hold
    nobody, keep their grid count.

    Parameters
    ----------
    grid : pandas.DataFrame
        ``kommunenummer``, ``befolkning``.
    kommuner : pandas.DataFrame
        ``kommunenummer``, ``folkemengde``.

    Returns
    -------
    numpy.ndarray of int64
        In the grid's row order.

    Examples
    --------
    >>> grid = pd.DataFrame({"kommunenummer": ["1", "1", "1", "2"], "befolkning": [1, 1, 1, 5]})
    >>> kommuner = pd.DataFrame({"kommunenummer": ["1"], "folkemengde": [5]})
    >>> scaled_population(grid, kommuner).tolist()
    [2, 2, 1, 5]

    """
    people = grid["befolkning"].to_numpy(dtype=float)
    codes = grid["kommunenummer"].to_numpy()
    totals = pd.Series(people).groupby(codes).sum()
    target = kommuner.set_index("kommunenummer")["folkemengde"].astype(float).reindex(
        totals.index)
    scaled = (target.notna() & (totals > 0)).reindex(codes).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        exact = people * (target / totals).reindex(codes).to_numpy()
    result = np.where(scaled, np.floor(np.nan_to_num(exact)), people)
    left = (target - pd.Series(result).groupby(codes).sum()).fillna(0.0)
    remainder = np.where(scaled, np.nan_to_num(exact) - result, -1.0)
    order = np.lexsort((np.arange(len(codes)), -remainder, codes))  # by kommune, largest first
    rank = pd.Series(np.arange(len(order))).groupby(codes[order]).cumcount().to_numpy()
    extra = np.zeros(len(codes))
    extra[order] = (rank < left.reindex(codes[order]).to_numpy()) & scaled[order]
    return (result + extra).round().astype(np.int64)

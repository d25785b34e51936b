"""Search answers kept per place: each searched point's answer and route, computed once.

People search for postcodes, places and kommuner: a few thousand points, each with one
answer for a given dataset. :func:`tilbudskart.pipeline.answer_search` (distances to every
service and a Dijkstra run for drive times) and :func:`tilbudskart.pipeline.fastest_route`
cost about 80 ms of CPU together; this module keeps the last :data:`MAX_PLACES` answers
of each dataset (least recently used first out), so a rush of searches for the same
places costs the server next to nothing. Kept in memory only, keyed by the point (no
text of the search) and dropped with the dataset (an upload's answers go with the
session's data).

The answers are shared between sessions: callers must not change the frames they get.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import geopandas as gpd

from tilbudskart import pipeline, seasons

#: int: most points whose answers are kept per dataset (each a few small frames, ~30 kB).
MAX_PLACES = 2048

_LOCK = threading.Lock()
_KEPT: dict[int, OrderedDict[tuple[Any, ...], Any]] = {}


def _kept(data: pipeline.AppData) -> OrderedDict[tuple[Any, ...], Any]:
    """Return the answers kept for a dataset (dropped when it is garbage collected)."""
    key = id(data)
    found = _KEPT.get(key)
    if found is None:
        found = _KEPT[key] = OrderedDict()
        weakref.finalize(data, _KEPT.pop, key, None)
    return found


def _once(data: pipeline.AppData, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    with _LOCK:
        kept = _kept(data)
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    value = compute()  # outside the lock: two sessions may compute the same place once each
    with _LOCK:
        kept = _kept(data)
        kept[key] = value
        while len(kept) > MAX_PLACES:
            kept.popitem(last=False)
    return value


def answer(data: pipeline.AppData, lat: float, lon: float) -> pipeline.SearchAnswer:
    """Return :func:`tilbudskart.pipeline.answer_search` for a point, computed once a season."""
    season = seasons.season_today()
    return _once(data, ("answer", float(lat), float(lon), season),
                 lambda: pipeline.answer_search(data, lat, lon, season=season))


def route(data: pipeline.AppData, lat: float, lon: float) -> gpd.GeoDataFrame | None:
    """Return :func:`tilbudskart.pipeline.fastest_route` for a point, computed once."""
    return _once(data, ("route", float(lat), float(lon)),
                 lambda: pipeline.fastest_route(data, lat, lon))


_DERIVED: dict[tuple[int, str], Any] = {}


def derived(owner: object, name: str, compute: Callable[[], Any]) -> Any:
    """Return what is made from ``owner`` for showing it (``name``), made once per owner.

    For a kept answer's table, cards or map input, or the phone lines' text: made at the
    first search of a place, then the same object for every later one. Dropped with the
    owner. The value must not be changed by its users.
    """
    key = (id(owner), name)
    with _LOCK:
        if key in _DERIVED:
            return _DERIVED[key]
    value = compute()
    with _LOCK:
        if key not in _DERIVED:
            _DERIVED[key] = value
            weakref.finalize(owner, _DERIVED.pop, key, None)
        return _DERIVED[key]


def size(data: pipeline.AppData) -> int:
    """How many answers and routes are kept for a dataset."""
    with _LOCK:
        return len(_KEPT.get(id(data), ()))

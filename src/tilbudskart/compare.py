"""Then and now: a list of today's groups against the 2007 registry (or any two lists).

:func:`match_groups` pairs the groups of two lists, per organisation: first by kommune and
near-same name, then by kommune alone (a group of the same organisation in the same kommune
is the same offer, whatever it is called now), then by near-same name in another kommune
(moved). What is left is gone (only then) or new (only now). :func:`coverage_change`
measures, per organisation and for all groups together, the kommuner and people beyond
25/50 km and 60/120 minutes by road and car ferry, then and now, with the same method as
the kommune table (:func:`tilbudskart.access.kommune_table`,
:func:`tilbudskart.network.travel_table`). Both are pure functions of their tables.

Only rows that count are compared: ``status == "geocoded"`` self-help groups (online-only
meetings are listed but are no physical coverage; duplicates and unresolved rows are left
out of the coverage figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from tilbudskart import access, geocode, measures, network, settings

#: Name similarity (rapidfuzz, 0–100) from which two groups count as the same.
NAME_THRESHOLD = 85.0

#: Columns of :func:`match_groups`, in order.
MATCH_COLUMNS: tuple[str, ...] = (
    "organisation", "change", "then_id", "then_name", "then_kommune", "now_id", "now_name",
    "now_kommune", "moved_km", "attendance",
)

#: Values of ``change``: the same group, moved to another kommune, gone, new.
CHANGES = ("same", "moved", "gone", "new")

#: Measures of :func:`coverage_change` (key → Norwegian label).
MEASURES: dict[str, str] = {
    "groups": "Grupper (fysiske)",
    **{f"kommuner_beyond_{km}km": f"Kommuner med over {km} km til nærmeste gruppe"
       for km in settings.BEYOND_KM},
    **{f"kommuner_beyond_{m}min": f"Kommuner med over {m} min til nærmeste gruppe"
       for m in settings.BEYOND_MINUTES},
    **{f"people_beyond_{km}km": f"Innbyggere over {km} km fra nærmeste gruppe"
       for km in settings.BEYOND_KM},
    **{f"people_beyond_{m}min": f"Innbyggere over {m} min fra nærmeste gruppe"
       for m in settings.BEYOND_MINUTES},
}

#: The ``organisation`` value of the rows about all self-help groups together.
ALL = "all"


def _similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    a, b = geocode.normalise(a), geocode.normalise(b)
    return float(max(fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")),
                     fuzz.token_sort_ratio(a, b), fuzz.partial_ratio(a, b) if min(
                         len(a), len(b)) >= 5 else 0.0))


def _groups(services: pd.DataFrame) -> pd.DataFrame:
    """Self-help rows that are groups of their own (no duplicates, no unresolved)."""
    keep = (services["kind"] == "self_help") & services["status"].isin(["geocoded", "online"])
    return services[keep].reset_index(drop=True)


def match_groups(then: pd.DataFrame, now: pd.DataFrame,
                 organisations: Iterable[str] | None = None,
                 threshold: float = NAME_THRESHOLD) -> pd.DataFrame:
    """Pair the groups of two lists: same, moved, gone and new.

    Parameters
    ----------
    then, now : pandas.DataFrame
        Geocoded services (``id``, ``name``, ``organisation``, ``kind``, ``status``,
        ``kommunenummer``, ``kommunenavn``, ``lat``, ``lon``, ``attendance``).
    organisations : iterable of str, optional
        Which organisations to compare (default: those in ``now``).
    threshold : float
        Name similarity (0–100) from which two names are the same.

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_COLUMNS`, one row per pair or unpaired group, per organisation in
        the organisations table's order; ``moved_km`` is the straight-line distance
        between the two points (NaN unless both are placed).

    """
    old, new = _groups(then), _groups(now)
    chosen = list(dict.fromkeys(organisations if organisations is not None
                                else new["organisation"]))
    rows: list[dict[str, object]] = []
    order = [o for o in settings.ORGANISATIONS if o in chosen]
    for organisation in order:
        a = _records(old[old["organisation"] == organisation])
        b = _records(new[new["organisation"] == organisation])
        pairs, free_a, free_b = _pair_up(a, b, threshold)
        for i, j, change in sorted(pairs):
            rows.append(_row(organisation, change, a[i], b[j]))
        rows.extend(_row(organisation, "gone", a[i], None) for i in sorted(free_a))
        rows.extend(_row(organisation, "new", None, b[j]) for j in sorted(free_b))
    return pd.DataFrame.from_records(rows, columns=list(MATCH_COLUMNS))


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _pair_up(a: list[dict[str, object]], b: list[dict[str, object]], threshold: float
             ) -> tuple[list[tuple[int, int, str]], set[int], set[int]]:
    """Pair two lists' groups: kommune and name, then kommune, then name (moved)."""
    free_a, free_b = set(range(len(a))), set(range(len(b)))
    pairs: list[tuple[int, int, str]] = []
    for condition in ("kommune+name", "kommune", "name"):
        scored = []
        for i in free_a:
            for j in free_b:
                same_kommune = bool(a[i]["kommunenummer"]) and (
                    a[i]["kommunenummer"] == b[j]["kommunenummer"])
                score = _similarity(str(a[i]["name"]), str(b[j]["name"]))
                if same_kommune and (condition == "kommune" or (
                        condition == "kommune+name" and score >= threshold)):
                    scored.append((-score, i, j, "same"))
                elif condition == "name" and not same_kommune and score >= threshold:
                    scored.append((-score, i, j, "moved"))
        for _, i, j, change in sorted(scored):
            if i in free_a and j in free_b:
                free_a.discard(i)
                free_b.discard(j)
                pairs.append((i, j, change))
    return pairs, free_a, free_b


def _row(organisation: str, change: str, a: dict[str, object] | None,
         b: dict[str, object] | None) -> dict[str, object]:
    moved = np.nan
    if a is not None and b is not None:
        lat = np.array([a["lat"], b["lat"]], dtype=float)
        lon = np.array([a["lon"], b["lon"]], dtype=float)
        if np.isfinite(lat).all() and np.isfinite(lon).all():
            moved = float(access.geodesic_km(lat[:1], lon[:1], lat[1:], lon[1:])[0])
    return {
        "organisation": organisation, "change": change,
        "then_id": a["id"] if a else "", "then_name": a["name"] if a else "",
        "then_kommune": a["kommunenavn"] if a else "",
        "now_id": b["id"] if b else "", "now_name": b["name"] if b else "",
        "now_kommune": b["kommunenavn"] if b else "",
        "moved_km": moved,
        "attendance": (b.get("attendance") or "physical") if b else "",
    }


def coverage(services: pd.DataFrame, kommuner: pd.DataFrame, grid: pd.DataFrame,
             road_network: network.RoadNetwork,
             organisation: str | None = None) -> dict[str, float]:
    """Return the coverage figures of one set of groups.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services; only ``status == "geocoded"`` self-help groups count.
    kommuner : pandas.DataFrame
        ``kommunenummer``, ``folkemengde``, ``admin_lat``, ``admin_lon`` (the kommune
        table).
    grid : pandas.DataFrame
        Population grid cells (``x``, ``y``, ``lat``, ``lon``, ``befolkning``,
        ``kommunenummer``).
    road_network : RoadNetwork
        Roads and car ferries.
    organisation : str, optional
        One organisation's groups (``None``: all self-help groups).

    Returns
    -------
    dict of str to float
        The keys of :data:`MEASURES`. People are grid residents scaled to each kommune's
        population (``folkemengde``), as in the kommune table (for ``None`` the sums of its
        ``population_beyond_*`` columns).

    """
    groups = services[(services["status"] == "geocoded") & (services["kind"] == "self_help")]
    groups = groups.dropna(subset=["lat", "lon"])
    if organisation is not None:
        groups = groups[groups["organisation"] == organisation]
    table = kommuner[["kommunenummer", "folkemengde", "admin_lat", "admin_lon"]].reset_index(
        drop=True)
    index = access.NearestIndex.from_services(groups)
    centre_km = index.distance_km(table["admin_lat"].to_numpy(), table["admin_lon"].to_numpy())
    figures: dict[str, float] = {"groups": float(len(groups))}
    far = measures.figures(index.distance_km(grid["lat"].to_numpy(), grid["lon"].to_numpy()),
                           grid, table, measures.BEYOND_KM, centre=centre_km)
    for t in measures.BEYOND_KM:
        figures[f"kommuner_beyond_{t.key}"] = float((centre_km > t.value).sum())
        figures[f"people_beyond_{t.key}"] = float(far[t.column].sum())
    routes = road_network.nearest(*network.to_metric(groups["lat"], groups["lon"]))
    cx, cy = network.to_metric(table["admin_lat"], table["admin_lon"])
    centre_min = network.travel_from(routes, road_network, cx, cy)["minutes"].to_numpy()
    minutes = network.travel_from(routes, road_network, grid["x"], grid["y"])["minutes"]
    far = measures.figures(minutes, grid, table, measures.BEYOND_MINUTES, centre=centre_min)
    for t in measures.BEYOND_MINUTES:
        figures[f"kommuner_beyond_{t.key}"] = float((np.nan_to_num(centre_min, nan=-1.0)
                                                     > t.value).sum())
        figures[f"people_beyond_{t.key}"] = float(far[t.column].sum())
    return figures


def coverage_change(then: pd.DataFrame, now: pd.DataFrame, kommuner: pd.DataFrame,
                    grid: pd.DataFrame, road_network: network.RoadNetwork,
                    organisations: Sequence[str] | None = None) -> pd.DataFrame:
    """Return the change in coverage, per organisation and for all groups together.

    Parameters
    ----------
    then, now : pandas.DataFrame
        Geocoded services of the two moments (``now`` typically the 2007 registry with an
        organisation's rows replaced by its list of today).
    kommuner, grid, road_network
        As for :func:`coverage`.
    organisations : sequence of str, optional
        Organisations to report (default: every self-help organisation in either list),
        plus :data:`ALL` for all groups together.

    Returns
    -------
    pandas.DataFrame
        ``organisation``, ``measure``, ``label`` (Norwegian), ``then``, ``now``,
        ``change`` (now − then), one row per organisation and measure.

    """
    if organisations is None:
        present = set(_groups(then)["organisation"]) | set(_groups(now)["organisation"])
        organisations = [o for o in settings.SELF_HELP_ORGANISATIONS if o in present]
    rows = []
    for organisation in [*organisations, None]:
        before = coverage(then, kommuner, grid, road_network, organisation)
        after = coverage(now, kommuner, grid, road_network, organisation)
        for measure, label in MEASURES.items():
            rows.append({"organisation": organisation or ALL, "measure": measure,
                         "label": label, "then": before[measure], "now": after[measure],
                         "change": after[measure] - before[measure]})
    return pd.DataFrame(rows)


def replaced(registry_services: pd.DataFrame, imported: pd.DataFrame,
             organisations: Iterable[str] | None = None) -> pd.DataFrame:
    """Return the registry with the rows of some organisations replaced by a new list.

    Parameters
    ----------
    registry_services : pandas.DataFrame
        Geocoded 2007 services.
    imported : pandas.DataFrame
        Geocoded rows of today's list.
    organisations : iterable of str, optional
        Whose rows are replaced (default: those in ``imported``).

    Returns
    -------
    pandas.DataFrame
        The registry without those organisations' rows, then the imported rows.

    """
    chosen = set(organisations) if organisations is not None else set(
        imported["organisation"])
    kept = registry_services[~registry_services["organisation"].isin(chosen)]
    return pd.concat([f for f in (kept, imported) if len(f)] or [kept], ignore_index=True)


def summary_table(matches: pd.DataFrame) -> pd.DataFrame:
    """Return the number of groups same, moved, gone and new, per organisation."""
    counts = matches.groupby(["organisation", "change"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(CHANGES), fill_value=0)
    order = [o for o in settings.ORGANISATIONS if o in counts.index]
    return counts.loc[order].reset_index()


def change_points(matches: pd.DataFrame, then: pd.DataFrame,
                  now: pd.DataFrame) -> pd.DataFrame:
    """Return one point per compared group, for a map of change.

    Parameters
    ----------
    matches : pandas.DataFrame
        From :func:`match_groups`.
    then, now : pandas.DataFrame
        The services it compared (``id``, ``lat``, ``lon``).

    Returns
    -------
    pandas.DataFrame
        ``organisation``, ``change``, ``name``, ``kommune``, ``lat``, ``lon`` (where the
        group is now; where it was, for a group that is gone) and ``from_lat``/``from_lon``
        (where a moved group was; NaN otherwise). Groups without a point (online-only,
        unresolved) are left out.

    """
    then_at = then.set_index("id")[["lat", "lon"]]
    now_at = now.set_index("id")[["lat", "lon"]]
    rows = []
    for match in matches.to_dict("records"):
        gone = match["change"] == "gone"
        at = then_at if gone else now_at
        ident = match["then_id"] if gone else match["now_id"]
        if ident not in at.index:
            continue
        lat, lon = (float(v) for v in at.loc[ident, ["lat", "lon"]])
        if not (np.isfinite(lat) and np.isfinite(lon)):
            continue
        from_lat = from_lon = np.nan
        if match["change"] == "moved" and match["then_id"] in then_at.index:
            from_lat, from_lon = (float(v) for v in then_at.loc[match["then_id"],
                                                                ["lat", "lon"]])
        rows.append({"organisation": match["organisation"], "change": match["change"],
                     "name": match["then_name"] if gone else match["now_name"],
                     "kommune": match["then_kommune"] if gone else match["now_kommune"],
                     "lat": lat, "lon": lon, "from_lat": from_lat, "from_lon": from_lon})
    return pd.DataFrame(rows, columns=["organisation", "change", "name", "kommune", "lat",
                                       "lon", "from_lat", "from_lon"])

"""The published registry out: a Meeting Guide JSON feed, CSV and GeoJSON.

The Meeting Guide feed (the JSON that 12 Step Meeting List publishes and the Meeting
Guide app, TSML UI and others read) lists the self-help groups in force, one meeting per
group, with the spec's required ``name`` and ``slug`` and, where known, address, place,
coordinates, ``attendance_option`` (``in_person``, ``online``, ``hybrid``),
``conference_url``/``conference_phone`` for online meetings and ``updated`` (the list's
date). No day and time are given (the registry keeps meeting times as text in ``notes``),
which the spec reads as "by appointment". Duplicates and unplaced rows are left out of
the feed; CSV (Excel-safe) and GeoJSON carry every row with its status.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from tilbudskart import csvsafe, registry

#: Formats :func:`export_bytes` writes.
FORMATS = ("meeting-guide", "csv", "geojson")

#: Columns of the CSV and GeoJSON exports (those the services have).
EXPORT_COLUMNS = ("id", "name", "organisation", "kind", "place", "address", "postcode",
                  "county", "kommunenummer", "kommunenavn", "lat", "lon", "precision",
                  "attendance", "url", "phone", "email", "offer", "age_groups", "source",
                  "year", "note", "status")

_ATTENDANCE = {"physical": "in_person", "online": "online", "hybrid": "hybrid"}


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def meeting_guide(services: pd.DataFrame, updated: dict[str, str] | None = None
                  ) -> list[dict[str, Any]]:
    """Return the self-help groups in force as Meeting Guide meetings.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services (:class:`tilbudskart.pipeline.Dataset`).
    updated : dict of str to str, optional
        Per organisation, when its list was updated (``YYYY-MM-DD HH:MM:SS``).

    Returns
    -------
    list of dict
        One meeting per group (no duplicates, no unplaced rows).

    """
    rows = registry.counted(services)
    rows = rows[(rows["kind"] == "self_help") & rows["status"].isin(["geocoded", "online"])]
    meetings = []
    for row in rows.to_dict("records"):
        attendance = _text(row.get("attendance")) or "physical"
        meeting: dict[str, Any] = {
            "name": _text(row["name"]),
            "slug": _text(row["id"]),
            "organisation": _text(row["organisation"]),
            "attendance_option": _ATTENDANCE.get(attendance, "in_person"),
            "city": _text(row.get("place")),
            "country": "NO",
        }
        for key, column in (("address", "address"), ("postal_code", "postcode"),
                            ("state", "county"), ("notes", "note"), ("email", "email")):
            if _text(row.get(column)):
                meeting[key] = _text(row.get(column))
        if attendance != "physical":
            if _text(row.get("url")):
                meeting["conference_url"] = _text(row["url"])
            if _text(row.get("phone")):
                meeting["conference_phone"] = _text(row["phone"])
        elif _text(row.get("url")):
            meeting["url"] = _text(row["url"])
        if row.get("status") == "geocoded" and pd.notna(row.get("lat")):
            meeting["latitude"] = round(float(row["lat"]), 6)
            meeting["longitude"] = round(float(row["lon"]), 6)
        if updated and row["organisation"] in updated:
            meeting["updated"] = updated[row["organisation"]]
        meetings.append(meeting)
    return meetings


def export_bytes(services: pd.DataFrame, form: str,
                 updated: dict[str, str] | None = None) -> bytes:
    """Return the services in force as a file: ``meeting-guide``, ``csv`` or ``geojson``."""
    if form == "meeting-guide":
        return json.dumps(meeting_guide(services, updated), ensure_ascii=False,
                          indent=1).encode()
    table = services[[c for c in EXPORT_COLUMNS if c in services.columns]]
    if form == "csv":
        return csvsafe.csv_bytes(pd.DataFrame(table))
    if form == "geojson":
        features = []
        for row in table.to_dict("records"):
            placed = row.get("status") == "geocoded" and pd.notna(row.get("lat"))
            features.append({
                "type": "Feature",
                "geometry": ({"type": "Point", "coordinates": [round(float(row["lon"]), 6),
                                                               round(float(row["lat"]), 6)]}
                             if placed else None),
                "properties": {k: _text(v) for k, v in row.items() if k not in ("lat", "lon")},
            })
        return json.dumps({"type": "FeatureCollection", "features": features},
                          ensure_ascii=False).encode()
    raise ValueError(f"format must be one of {FORMATS}, not {form!r}")


def updated_dates(list_dates: dict[str, Any]) -> dict[str, str]:
    """Return Meeting Guide ``updated`` values from :func:`published.registry_dates`."""
    return {o: f"{d.published_at:%Y-%m-%d %H:%M:%S}" for o, d in list_dates.items()
            if getattr(d, "published_at", None) is not None}


# -- the read-only route of serve.py -------------------------------------------------------

#: Where serve.py answers with the Meeting Guide feed of the lists in force.
FEED_PATH = "/feed/meeting-guide.json"

#: The feed's bytes per data generation (rebuilt when a publish is seen).
_FEED_CACHE: dict[tuple[int, int], bytes] = {}


def current_feed() -> bytes:
    """Return the Meeting Guide feed of this server's data in force (cached per version)."""
    from tilbudskart import pipeline, settings

    live = pipeline.live_app_data(settings.imports())
    data, generation = live.current()
    key = (id(live), generation)
    if key not in _FEED_CACHE:
        _FEED_CACHE.clear()
        _FEED_CACHE[key] = export_bytes(data.services, "meeting-guide",
                                        updated_dates(data.list_dates))
    return _FEED_CACHE[key]


async def feed_route(request: Any) -> Any:
    """Answer ``GET /feed/meeting-guide.json`` (read-only; any site may read it)."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    body = await run_in_threadpool(current_feed)
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                             "Access-Control-Allow-Origin": "*"})


def routes() -> list[Any]:
    """Return the routes serve.py mounts for the feed."""
    from starlette.routing import Route

    return [Route(FEED_PATH, feed_route, methods=["GET"])]

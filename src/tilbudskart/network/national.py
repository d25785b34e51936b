"""The national network: N1000 roads and car ferries, repaired, in a season."""

from __future__ import annotations

from collections.abc import Mapping

from tilbudskart import datasources, settings
from tilbudskart.network.graph import RoadNetwork


def national_network(season: str = "winter",
                     **speeds_given: float | Mapping[str, float] | None) -> RoadNetwork:
    """Return the N1000 road and car-ferry network, its gaps repaired.

    Parameters
    ----------
    season : {"winter", "summer"}
        ``winter`` (the default: it holds most of the year) leaves out the roads closed
        in winter and waits for the convoys (see :mod:`tilbudskart.seasons`); its
        ``summer`` attribute is the summer network (built once, shared).
    **speeds_given
        Keyword-only speeds passed on to :meth:`RoadNetwork.from_geodataframe`
        (``road_speeds``, ``motorway_speed``, ``ferry_speed``, ``ferry_wait``,
        ``access_speed``).

    Returns
    -------
    RoadNetwork
        Built from :func:`tilbudskart.datasources.read_road_network`, with the kommune
        polygons as land.

    """
    from tilbudskart import ferries, seasons

    built = RoadNetwork.from_geodataframe(datasources.read_road_network(),
                                          land=datasources.kommune_polygons_metric(),
                                          ferry_times=ferries.read_ferries(),
                                          length_factor=settings.ROAD_LENGTH_FACTOR,
                                          **speeds_given)  # type: ignore[arg-type]
    return seasons.for_season(built, season)

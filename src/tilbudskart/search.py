"""One search path: from the words a relative types to the groups, notes and route shown.

:func:`search` is what the app's search page shows: the place located (or the places the
words may mean, or «Mente du …?» suggestions when nothing was found), the nearest groups
and the nearest of each organisation, the notes (Svalbard, a street not used …) and the
fastest route with the row of ``data.services`` it really ends at. ``tilbudskart nearest``
takes the same steps (:func:`locate`, :func:`route_to`) on the data it reads itself.

The figures come from :mod:`tilbudskart.answers` (kept per place) where the answer is
today's and for any organisation, which is what the app asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import pandas as pd

from tilbudskart import access, answers, geocode, network, pipeline, suggest


@dataclass(frozen=True)
class Located:
    """Where the words of a search are.

    Attributes
    ----------
    resolution : geocode.Resolution
        The gazetteer's answer (the query as searched is ``resolution.query``).
    match : geocode.Match or None
        The place shown: the one match, or the choice made among several; None when the
        words name several places and none was chosen, or nothing was found.
    choices : list of geocode.Match
        The places the words may mean, when they name several.
    suggestions : list of str
        What the search may have meant («Mente du …?»), when nothing was found.

    """

    resolution: geocode.Resolution
    match: geocode.Match | None
    choices: list[geocode.Match] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)

    def chosen(self, position: int) -> Located:
        """Return this search with one of its choices (by position) as the place shown."""
        return replace(self, match=self.choices[position])


@dataclass(frozen=True)
class SearchResult:
    """What a search shows: where, what is nearest, the notes and the fastest route.

    Attributes
    ----------
    located : Located
        Where the words are (see :class:`Located`); the rest is empty without a match.
    answer : pipeline.SearchAnswer or None
        Nearest groups, the fastest one, the nearest per organisation, institutions and
        online meetings (:func:`tilbudskart.pipeline.answer_search`).
    notes : list of str
        What the page says about the place (:func:`tilbudskart.access.search_notes`).
    route : geopandas.GeoDataFrame or None
        The fastest route to a group, leg by leg (None: a territory, or no road).
    route_group : pandas.Series or None
        The row of ``data.services`` the route ends at.

    """

    located: Located
    answer: pipeline.SearchAnswer | None = None
    notes: list[str] = field(default_factory=list)
    route: gpd.GeoDataFrame | None = None
    route_group: pd.Series | None = None

    @property
    def match(self) -> geocode.Match | None:
        """The place shown (see :class:`Located`)."""
        return self.located.match


def locate(gazetteer: geocode.Gazetteer, query: str, choice: int | None = None) -> Located:
    """Locate the words of a search; ``choice`` picks one of several places (its position)."""
    resolution = gazetteer.search(query)
    match = resolution.match
    if match is None and resolution.candidates:
        if choice is not None:
            match = resolution.candidates[choice]
        return Located(resolution, match, list(resolution.candidates))
    if match is None:
        return Located(resolution, None, [], suggest.suggest(gazetteer, resolution.query))
    return Located(resolution, match)


def route_to(road: network.RoadNetwork, lat: float, lon: float, services: pd.DataFrame,
             organisation: str | None = None) -> tuple[gpd.GeoDataFrame, pd.Series] | None:
    """Return the fastest route from a point to a group, and the row of ``services`` it ends at.

    The group is one of ``organisation`` (else any self-help group) with a point; None
    where none can be reached.
    """
    chosen = services[(services["status"] == "geocoded")
                      & ((services["organisation"] == organisation) if organisation
                         else (services["kind"] == "self_help"))]
    legs = network.nearest_route(road, lat, lon, chosen)
    if legs is None:
        return None
    return legs, chosen.loc[legs.attrs["service"]]


def search(data: pipeline.AppData, query: str, organisation: str | None = None,
           season: str | None = None, *, choice: int | None = None) -> SearchResult:
    """Answer a relative's search on the app's data.

    Parameters
    ----------
    data : pipeline.AppData
        The data shown.
    query : str
        What was typed (a postcode, place, address or kommune).
    organisation : str, optional
        Route to this organisation's nearest group (default: any self-help group).
    season : str, optional
        ``"winter"`` or ``"summer"`` drive times (default: today's, kept per place).
    choice : int, optional
        Which of several places the words name (position in ``located.choices``).

    Returns
    -------
    SearchResult

    """
    return answer_at(data, locate(data.gazetteer, query, choice), organisation, season)


def answer_at(data: pipeline.AppData, located: Located, organisation: str | None = None,
              season: str | None = None) -> SearchResult:
    """Answer a located search (see :func:`search`).

    The search page locates first, to ask which of several places was meant.
    """
    match = located.match
    if match is None:
        return SearchResult(located)
    answer = (answers.answer(data, match.lat, match.lon) if season is None
              else pipeline.answer_search(data, match.lat, match.lon, season=season))
    notes = access.search_notes(located.resolution, match, answer.nearest)
    if match.territory:
        return SearchResult(located, answer, notes)
    if organisation is None:
        route = answers.route(data, match.lat, match.lon)
        group = None if route is None else data.services.loc[route.attrs["service"]]
        return SearchResult(located, answer, notes, route, group)
    found = route_to(data.network, match.lat, match.lon, data.services, organisation)
    return SearchResult(located, answer, notes, *(found or (None, None)))

"""Maps: offline Folium maps, layers, markers and legends.

Maps work offline: Leaflet and jQuery come from the PyPI packages ``xstatic-leaflet`` and
``xstatic-jquery`` as data URLs in the page, no CDN is asked, and the default base map is
the kommune polygons themselves (tiles only if the user asks). All text from data is
HTML-escaped before it reaches a popup, tooltip or GeoJSON property. The JavaScript and
HTML templates are files in ``views/templates/``, read once at import.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import Any

import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.template import Template

from tilbudskart import settings
from tilbudskart.views.basemap import (
    ZOOMABLE_VIEWPORT,
    Assets,
    _Literal,
    _template,
    asset_texts,
    base_map,
    offline_assets,
    published_assets,
    zoom_to_show,
)
from tilbudskart.views.measures import MEASURES, Measure
from tilbudskart.views.text import PRECISION_LABELS, escape, figure

#: tuple of str: ColorBrewer YlOrRd, one colour per map class (light = near, dark = far).
DISTANCE_COLOURS: tuple[str, ...] = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20",
                                     "#bd0026")
#: str: fill of a kommune without a figure.
NO_DATA_COLOUR = "#cccccc"

_OUTLINE_LAYER_JS = _template("outline_layer.js.j2")
_CHOROPLETH_LAYER_JS = _template("choropleth_layer.js.j2")
_SERVICE_LAYER_JS = _template("service_layer.js.j2")
_KOMMUNE_SHAPES_JS = _template("kommune_shapes.js.j2")
_TOOLTIP_HTML = _template("tooltip.html")
_LEGEND_HTML = _template("legend.html")
_LEGEND_ITEM_HTML = _template("legend_item.html")
_SITE_BADGE_HTML = _template("site_badge.html")


#: The public names; the base map's (:mod:`tilbudskart.views.basemap`) are kept here too.
__all__ = [
    "CHANGE_STYLES",
    "DISTANCE_COLOURS",
    "NO_DATA_COLOUR",
    "ZOOMABLE_VIEWPORT",
    "Assets",
    "ChoroplethLayer",
    "KommuneShapes",
    "OutlineLayer",
    "ServiceLayer",
    "_Literal",
    "asset_texts",
    "badge_shifts",
    "base_map",
    "change_markers",
    "coverage_geojson",
    "coverage_layer",
    "coverage_properties",
    "distance_classes",
    "layer_control",
    "legend_entries",
    "legend_html",
    "national_polygons",
    "offline_assets",
    "outline_geojson",
    "outline_layer",
    "published_assets",
    "searched_point",
    "service_geojson",
    "service_markers",
    "service_popup",
    "site_badge",
    "site_markers",
    "swapped",
    "zoom_to_show",
]

def distance_classes(values: pd.Series, bins: tuple[float, ...] = settings.DISTANCE_BINS,
                     ) -> pd.Series:
    """Classify distances or times into the map classes.

    Parameters
    ----------
    values : pandas.Series
        Km or minutes; NaN stays NaN.
    bins : tuple of float
        Upper bounds (``settings.DISTANCE_BINS`` or ``settings.MINUTE_BINS``); the last
        class is open.

    Returns
    -------
    pandas.Series
        Class index 0 … len(bins) (float, NaN where ``values`` is NaN).

    """
    valid = values.dropna()
    result = pd.Series(np.nan, index=values.index)
    if valid.empty:
        return result
    # Class i holds bins[i-1] < value <= bins[i]; above the last bound, the open class
    # (what mapclassify.UserDefined gave, checked on every bound, without its 0.7 s import).
    result.loc[valid.index] = np.digitize(valid.to_numpy(dtype=float), bins, right=True)
    return result


def legend_entries(measure: Measure = MEASURES["km"]) -> list[tuple[str, str]]:
    """Return (colour, label) pairs of the map legend, in km or minutes, Norwegian."""
    labels, lower = [], 0.0
    for upper in measure.bins:
        labels.append(f"{lower:g}–{upper:g} {measure.unit}")
        lower = upper
    labels.append(f"over {measure.bins[-1]:g} {measure.unit}")
    return list(zip(DISTANCE_COLOURS, labels, strict=True))


def legend_html(measure: Measure = MEASURES["km"]) -> str:
    """Return the map legend as an accessible HTML list."""
    items = "".join(_LEGEND_ITEM_HTML.format(colour=colour, label=escape(label))
                    for colour, label in legend_entries(measure))
    return _LEGEND_HTML.format(label=escape(measure.label.lower()), items=items)


def _coverage_table(kommuner: pd.DataFrame, column: str, measure: Measure) -> pd.DataFrame:
    """Per kommune: class colour, figure and HTML-escaped names and tooltip of ``column``."""
    if column not in kommuner.columns:
        raise ValueError(f"unknown distance column {column!r}")
    layer = kommuner[["kommunenummer", "kommunenavn", "fylkesnavn", column]].copy()
    classes = distance_classes(layer[column], measure.bins)
    layer["colour"] = [DISTANCE_COLOURS[int(c)] if not np.isnan(c) else NO_DATA_COLOUR
                       for c in classes]
    layer["avstand"] = [f"{figure(value)} {measure.unit}" if pd.notna(value)
                        else measure.missing for value in layer[column]]
    layer["kommune"] = layer["kommunenavn"].map(escape)
    layer["fylke"] = layer["fylkesnavn"].map(escape)
    layer["tooltip"] = [_TOOLTIP_HTML.format(kommune=k, fylke=f, label=measure.figure_label,
                                             value=escape(v)) + group
                        for k, f, v, group in zip(layer["kommune"], layer["fylke"],
                                                  layer["avstand"],
                                                  _nearest_group_lines(kommuner, column),
                                                  strict=True)]
    return layer[["kommunenummer", "kommune", "fylke", "avstand", "colour", "tooltip"]]


def _nearest_group_lines(kommuner: pd.DataFrame, column: str) -> list[str]:
    """Per kommune, the tooltip's line naming the group its figure is to (HTML-escaped).

    Only for the table's own nearest-group columns (``nearest_group_km``: the nearest in
    a line; ``drive_min``: the fastest by road): for an organisation, pass its own table
    (:func:`tilbudskart.pipeline.organisation_table`), whose nearest group is its own.
    """
    if column == settings.km_column() and "nearest_group" in kommuner.columns:
        organisations = kommuner.get("nearest_group_organisation",
                                     pd.Series("", index=kommuner.index))
        return [f"<br>Nærmeste gruppe: {escape(str(name))}"
                + (f" ({escape(settings.ORGANISATIONS.get(org, str(org)))})" if org else "")
                if isinstance(name, str) and name else ""
                for name, org in zip(kommuner["nearest_group"], organisations.fillna(""),
                                     strict=True)]
    if column == settings.minutes_column() and "nearest_group_by_road" in kommuner.columns:
        return [f"<br>Raskest å nå: {escape(name)}" if isinstance(name, str) and name else ""
                for name in kommuner["nearest_group_by_road"]]
    return [""] * len(kommuner)


def coverage_geojson(polygons: gpd.GeoDataFrame, kommuner: pd.DataFrame,
                     column: str, measure: Measure = MEASURES["km"]) -> str:
    """Return the kommune choropleth of one distance or travel-time column as GeoJSON text.

    Serialised once (the app caches it per column), drawn verbatim by
    :func:`coverage_layer` on every rerun.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Kommune polygons (``kommunenummer``, ``geometry``; EPSG:4326).
    kommuner : pandas.DataFrame
        The access table.
    column : str
        Distance column, e.g. ``nearest_group_km`` or ``km_lms``, or time column
        (``drive_min``, ``drive_min_lms``).
    measure : Measure
        Classes, unit and wording of ``column``.

    Returns
    -------
    str
        Features with ``kommunenummer``, ``kommune``, ``fylke``, ``avstand``, ``colour``
        and ``tooltip``; every text HTML-escaped.

    Raises
    ------
    ValueError
        If ``column`` is not in ``kommuner``.

    """
    table = _coverage_table(kommuner, column, measure)
    layer = polygons[["kommunenummer", "geometry"]].merge(table, on="kommunenummer")
    return str(layer.to_json(drop_id=True))


def coverage_properties(kommuner: pd.DataFrame, column: str,
                        measure: Measure = MEASURES["km"]) -> str:
    """Return the choropleth of one column without shapes: JSON by kommunenummer.

    For :func:`coverage_layer` with ``shapes_url``: the shapes come once from the server
    (:func:`tilbudskart.serving.publish`), only these ~40 kB with each rerun.

    Returns
    -------
    str
        ``{"4022": {"kommune": …, "fylke": …, "avstand": …, "colour": …, "tooltip": …}}``,
        every text HTML-escaped (as :func:`coverage_geojson`).

    """
    table = _coverage_table(kommuner, column, measure).set_index("kommunenummer")
    return json.dumps(table.to_dict("index"), ensure_ascii=False, separators=(",", ":"))


def coverage_layer(geojson: str, shapes_url: str | None = None,
                   ) -> ChoroplethLayer | KommuneShapes:
    """Return the kommune choropleth drawn verbatim from :func:`coverage_geojson`.

    Hovering a kommune outlines it and shows its tooltip; a click reaches the app as
    streamlit-folium's ``last_active_drawing`` (with the feature's ``kommunenummer``).

    Parameters
    ----------
    geojson : str
        :func:`coverage_geojson`, or with ``shapes_url`` :func:`coverage_properties`.
    shapes_url : str, optional
        Where the page fetches the kommune shapes (:func:`outline_geojson`) from.

    """
    if shapes_url is not None:
        return KommuneShapes(shapes_url, geojson)
    return ChoroplethLayer(geojson)


def swapped(layer: folium.MacroElement) -> folium.FeatureGroup:
    """Return ``layer`` in a feature group of its own, outside the layer switcher.

    For streamlit-folium's ``feature_group_to_add``, which takes feature groups only: the
    layer is swapped on a rerun without building the map again.
    """
    group = folium.FeatureGroup(control=False)
    layer.add_to(group)
    return group


def layer_control() -> folium.LayerControl:
    """Return the (collapsed) layer switcher of a map."""
    return folium.LayerControl(collapsed=True)


def outline_geojson(polygons: gpd.GeoDataFrame) -> str:
    """Return kommune outlines as GeoJSON text (serialise once, draw on many maps)."""
    return str(polygons[["kommunenummer", "geometry"]].to_json(drop_id=True))


class _Verbatim(branca.element.Element):
    """Script text added to a figure as it is.

    branca wraps every rendered script in a new ``Element``, which compiles the text as a
    Jinja template; for 700 kB of GeoJSON that compilation alone takes ~0.1 s per rerun.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: object) -> str:
        return self._text


class _VerbatimLayer(folium.MacroElement):
    """A layer from pre-serialised GeoJSON, its script added to the page as it is.

    Unlike :class:`folium.GeoJson` it neither parses nor re-serialises the GeoJSON on
    every rerun (see :class:`_Verbatim`).
    """

    _template = Template("")

    def __init__(self, geojson: str) -> None:
        super().__init__()
        self._name = type(self).__name__
        self.geojson = geojson

    def render(self, **kwargs: object) -> None:  # type: ignore[override]  # as MacroElement
        """Add the layer's script to the figure verbatim (see :class:`_Verbatim`)."""
        figure = self.get_root()
        assert isinstance(figure, branca.element.Figure), "render the map, not the layer"
        script = self._template.module.script(self, kwargs)
        figure.script.add_child(_Verbatim(str(script)), name=self.get_name())


class OutlineLayer(_VerbatimLayer):
    """Plain kommune outlines: the offline base map (not interactive).

    Parameters
    ----------
    geojson : str
        GeoJSON text from :func:`outline_geojson`.

    """

    _template = Template(_OUTLINE_LAYER_JS)

    def __init__(self, geojson: str) -> None:
        super().__init__(geojson)
        self.options = {"style": {"fillColor": "#f2efe9", "color": "#999999", "weight": 0.4,
                                  "fillOpacity": 1.0},
                        "interactive": False}


class ChoroplethLayer(_VerbatimLayer):
    """Kommuner coloured by their class, with a tooltip and a highlight on hover.

    Parameters
    ----------
    geojson : str
        GeoJSON text from :func:`coverage_geojson`.

    """

    _template = Template(_CHOROPLETH_LAYER_JS)


def outline_layer(outlines: str, shapes_url: str | None = None,
                  ) -> OutlineLayer | KommuneShapes:
    """Return plain kommune outlines: the offline base map when no tiles are shown.

    Parameters
    ----------
    outlines : str
        GeoJSON from :func:`outline_geojson` (drawn inline, sent with every rerun).
    shapes_url : str, optional
        Where the page can fetch the same GeoJSON instead (sent once, then cached).

    """
    if shapes_url is not None:
        return KommuneShapes(shapes_url)
    return OutlineLayer(outlines)


class KommuneShapes(_VerbatimLayer):
    """Kommune shapes fetched by the page from this server: outlines or a choropleth.

    The shapes (:func:`outline_geojson`, ~0.7 MB) are fetched once per page from a URL
    named by their checksum (:func:`tilbudskart.serving.publish`), so a rerun sends only
    the colours and tooltips (:func:`coverage_properties`, ~40 kB) or nothing at all.
    Drawn behind markers and routes. Clicks report the feature's
    ``kommunenummer`` to streamlit-folium like :class:`ChoroplethLayer`.

    Parameters
    ----------
    url : str
        Same-origin URL of the shapes.
    properties : str, optional
        :func:`coverage_properties`; without it, plain outlines (not interactive).

    """

    _template = Template(_KOMMUNE_SHAPES_JS)

    def __init__(self, url: str, properties: str | None = None) -> None:
        super().__init__("null" if properties is None else properties)
        self.url = url
        self.style = {"fillColor": "#f2efe9", "color": "#999999", "weight": 0.4,
                      "fillOpacity": 1.0}


def service_popup(row: pd.Series | Mapping[Hashable, Any]) -> str:
    """Return the escaped HTML of one service's popup (a row as a Series or a dict)."""
    organisation = settings.ORGANISATIONS.get(str(row["organisation"]), row["organisation"])
    lines = [f"<b>{escape(row['name'])}</b>", escape(organisation),
             f"{escape(row['kommunenavn'])} kommune"]
    for label, field in (("Telefon", "phone"), ("E-post", "email"), ("Adresse", "address")):
        if field in row and escape(row[field]):
            lines.append(f"{label}: {escape(row[field])}")
    if row["precision"] != "postcode":
        level = PRECISION_LABELS.get(str(row["precision"]), str(row["precision"]))
        lines.append(f"<i>Omtrentlig plassering (kjent på {escape(level)}snivå)</i>")
    lines.append(f"<small>Kilde: {escape(row['source'])} ({escape(row['year'])})</small>")
    return "<br>".join(lines)


def service_geojson(services: pd.DataFrame) -> str:
    """Return services as GeoJSON text for :func:`service_markers` (texts HTML-escaped).

    Each point carries its marker's colour (the organisation's), radius, whether it is
    located to a postcode (``exact``), its tooltip and its popup (:func:`service_popup`).
    Several groups can share a point (four Familieklubbene at one address in Oslo): they
    are spread a little so each stays clickable. Rows without a point are skipped.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services.

    Returns
    -------
    str
        A FeatureCollection.

    """
    located = services.dropna(subset=["lat", "lon"])
    offsets = located.groupby(["lat", "lon"]).cumcount().to_numpy()
    features = []
    for row, offset in zip(located.to_dict("records"), offsets.tolist(), strict=True):
        organisation = settings.ORGANISATION_TABLE.get(str(row["organisation"]))
        features.append({
            "type": "Feature",
            "properties": {
                "colour": organisation.colour if organisation else "#333333",
                "exact": row["precision"] == "postcode",
                "radius": 7 if row["kind"] == "self_help" else 5,
                "tooltip": escape(row["name"]),
                "popup": service_popup(row),
            },
            "geometry": {"type": "Point",
                         "coordinates": [round(float(row["lon"]) + 0.008 * offset, 6),
                                         round(float(row["lat"]) + 0.004 * offset, 6)]},
        })
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":"))


class ServiceLayer(_VerbatimLayer):
    """Service markers (circles) with tooltip and popup, from :func:`service_geojson`.

    Drawn verbatim like :class:`ChoroplethLayer`: a page with every group's marker is
    written in a millisecond instead of being templated by Folium on every rerun.
    """

    _template = Template(_SERVICE_LAYER_JS)

    def __init__(self, geojson: str, url: str | None = None) -> None:
        super().__init__("" if url is not None else geojson)
        self.url = url


def service_markers(services: pd.DataFrame | str, name: str,
                    url: str | None = None) -> folium.FeatureGroup:
    """Return a layer of service markers.

    Markers whose location is coarser than a postcode are drawn hollow and dashed, and their
    popup says the location is approximate. All markers of the layer are one GeoJSON layer
    (circle markers), so a map with 200 services renders in a millisecond, not as 600
    separately templated Folium elements.

    Parameters
    ----------
    services : pandas.DataFrame or str
        Geocoded services, or their :func:`service_geojson` (e.g. kept from an earlier run).
    name : str
        Layer name shown in the layer control.
    url : str, optional
        Where the page can fetch the same GeoJSON (:func:`tilbudskart.serving.publish`):
        then it is not sent with the page.

    Returns
    -------
    folium.FeatureGroup

    """
    group = folium.FeatureGroup(name=escape(name))
    if url is not None:
        ServiceLayer("", url).add_to(group)
        return group
    geojson = services if isinstance(services, str) else service_geojson(services)
    ServiceLayer(geojson).add_to(group)
    return group


def searched_point(lat: float, lon: float, label: str) -> folium.CircleMarker:
    """Return the marker of the searched place."""
    return folium.CircleMarker(
        location=[lat, lon], radius=9, color="#000000", weight=3, fill=True,
        fill_color="#ffffff", fill_opacity=1.0,
        tooltip=folium.Tooltip(f"Du søkte: {escape(label)}"),
    )


def site_badge(rank: int) -> str:
    """Return the HTML of a numbered round badge for a proposed site on the map."""
    return _SITE_BADGE_HTML.format(rank=int(rank))


#: dict of str to (colour, Norwegian label): how a group changed since the earlier list.
CHANGE_STYLES: dict[str, tuple[str, str]] = {
    "new": ("#1a9641", "ny"), "gone": ("#d7191c", "borte"), "moved": ("#2b83ba", "flyttet"),
}


def change_markers(points: pd.DataFrame) -> folium.FeatureGroup:
    """Return a map layer of change: new groups green, gone red, moved blue (with a line).

    Parameters
    ----------
    points : pandas.DataFrame
        :func:`tilbudskart.compare.change_points` (``change``, ``name``, ``kommune``,
        ``organisation``, ``lat``, ``lon``, ``from_lat``, ``from_lon``).

    Returns
    -------
    folium.FeatureGroup
        Tooltips escaped; groups that stayed the same are not drawn.

    """
    group = folium.FeatureGroup(name="Endringer")
    for row in points.to_dict("records"):
        if row["change"] not in CHANGE_STYLES:
            continue
        colour, label = CHANGE_STYLES[row["change"]]
        organisation = settings.ORGANISATIONS.get(str(row["organisation"]), "")
        tooltip = (f"{escape(row['name'])} ({escape(organisation)}, "
                   f"{escape(row['kommune'])}): {label}")
        if row["change"] == "moved" and pd.notna(row["from_lat"]):
            folium.PolyLine([[row["from_lat"], row["from_lon"]], [row["lat"], row["lon"]]],
                            color=colour, weight=2, dash_array="4 4").add_to(group)
        folium.CircleMarker([row["lat"], row["lon"]], radius=7, color=colour, weight=2,
                            fill=True, fill_color=colour, fill_opacity=0.8,
                            tooltip=folium.Tooltip(tooltip)).add_to(group)
    return group


def badge_shifts(lat: np.ndarray, lon: np.ndarray, near_km: float = 40.0) -> list[int]:
    """Return how many badge widths to move each site's badge right, so none overlap.

    On a national map a 24 px badge covers some 40 km; a site that close to earlier ones
    is drawn beside them (its position still marked by the badge row's first badge).

    Examples
    --------
    >>> badge_shifts(np.array([59.9, 59.91, 63.4]), np.array([10.7, 10.75, 10.4]))
    [0, 1, 0]

    """
    shifts: list[int] = []
    for i in range(len(lat)):
        dy = (lat[:i] - lat[i]) * 111.2
        dx = (lon[:i] - lon[i]) * 111.2 * np.cos(np.radians(lat[i]))
        close = np.hypot(dx, dy) < near_km
        shifts.append(int(max((shifts[j] + 1 for j in np.flatnonzero(close)), default=0)))
    return shifts


def site_markers(sites: pd.DataFrame, radius_km: float | None = None) -> folium.FeatureGroup:
    """Return numbered markers of planned sites (and their reach as circles, for km).

    Parameters
    ----------
    sites : pandas.DataFrame
        ``Plan.sites`` (``lat``, ``lon``, ``kommunenavn``, ``added``; optionally ``place``),
        in order. A site is drawn at its own ``lat``/``lon`` (a place candidate is not its
        kommune's centre); a table without them is drawn at ``admin_lat``/``admin_lon``.
    radius_km : float, optional
        Draw each site's reach as a circle; ``None`` for a reach in minutes (no circle).

    """
    group = folium.FeatureGroup(name="Foreslåtte grupper")
    where = ("lat", "lon") if {"lat", "lon"} <= set(sites.columns) else ("admin_lat",
                                                                           "admin_lon")
    lats, lons = sites[where[0]].astype(float), sites[where[1]].astype(float)
    shifts = badge_shifts(lats.to_numpy(), lons.to_numpy())
    names = sites["kommunenavn"].astype(str)
    if "place" in sites.columns:
        place = sites["place"].astype(str)
        names = names.where(place == names, place + " (" + names + ")")
    points = zip(lats, lons, names, sites["added"].astype(int), shifts, strict=True)
    for rank, (lat, lon, name, added, shift) in enumerate(points, start=1):
        if radius_km is not None:
            folium.Circle([lat, lon], radius=radius_km * 1000, color="#08519c", weight=1,
                          fill=True, fill_opacity=0.08).add_to(group)
        folium.Marker(
            [lat, lon],
            icon=folium.DivIcon(html=site_badge(rank), icon_size=(24, 24),
                                icon_anchor=(12 - 26 * shift, 12)),
            tooltip=folium.Tooltip(f"{rank}. {escape(name)}: legger til {figure(added)} "
                                   "innbyggere"),
        ).add_to(group)
    return group


def national_polygons(polygons: gpd.GeoDataFrame, tolerance_deg: float = 0.004,
                      ) -> gpd.GeoDataFrame:
    """Simplify kommune polygons for the national choropleth (fewer bytes to the browser).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Kommune polygons in EPSG:4326.
    tolerance_deg : float
        Simplification tolerance in degrees (0.004° ≈ 250–450 m).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, simplified geometry (topology preserved per polygon).

    """
    simplified = polygons.copy()
    simplified["geometry"] = simplified.geometry.simplify(tolerance_deg, preserve_topology=True)
    return simplified

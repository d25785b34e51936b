"""Views: maps and tables for the app, as pure functions of the pipeline's tables.

Maps are Folium maps that work offline: Leaflet and jQuery come from the PyPI packages
``xstatic-leaflet`` and ``xstatic-jquery`` as data URLs in the page, no CDN is asked, and
the default base map is the kommune polygons themselves (tiles only if the user asks).
All text from data is HTML-escaped before it reaches a popup, tooltip or GeoJSON property.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import branca.element
import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import xstatic.pkg.jquery
import xstatic.pkg.leaflet
from folium.template import Template

from tilbudskart import settings

#: Distance classes (km, upper bounds) of the coverage map; the last class is open.
DISTANCE_BINS: tuple[float, ...] = (10, 25, 50, 100, 200)
#: Travel-time classes (minutes, upper bounds) of the coverage map; the last class is open.
MINUTE_BINS: tuple[float, ...] = (15, 30, 60, 120, 240)
#: ColorBrewer YlOrRd, one colour per class (light = near, dark = far).
DISTANCE_COLOURS: tuple[str, ...] = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20",
                                     "#bd0026")
NO_DATA_COLOUR = "#cccccc"

#: Marker colour per organisation.
ORGANISATION_COLOURS: dict[str, str] = {
    "lms": "#1b9e77", "al_anon": "#7570b3", "familieklubbene": "#d95f02",
    "rus_nett": "#e7298a", "aca": "#66a61e", "institution": "#444444",
}

#: Norwegian labels of geocode precision.
PRECISION_LABELS: dict[str, str] = {
    "postcode": "postnummer", "place": "sted", "kommune": "kommune", "region": "region",
}

#: Short Norwegian descriptions of what each organisation offers (from the 2007 report).
ORGANISATION_OFFERS: dict[str, str] = {
    "lms": "Selvhjelpsgrupper og selvhjelpsledere for pårørende til personer med "
           "stoffmisbruk, familielivskurs og støttetelefon.",
    "al_anon": "Selvhjelpsgrupper for alle som er berørt av andres drikking; Alateen for "
               "unge 12–19 år, VBA for voksne barn av alkoholikere.",
    "familieklubbene": "Lavterskel familieklubber der hele familien, også barn, møtes "
                       "med en utdannet klubbassistent.",
    "rus_nett": "Ettervernsgrupper nær hjemstedet for pårørende som har gjennomført "
                "Rus-Netts familieprogram på Råde.",
    "aca": "Selvhjelpsgrupper for voksne barn av alkoholikere og fra dysfunksjonelle "
           "familier.",
    "institution": "Behandlingsinstitusjon med tilbud til pårørende (samtaler, "
                   "veiledning, grupper eller kurs).",
}


@dataclass(frozen=True)
class Measure:
    """How far help is: straight-line km or minutes by road and car ferry.

    Attributes
    ----------
    key : str
        ``"km"`` or ``"min"``.
    label : str
        Norwegian label for choosers and legends.
    unit : str
        Unit shown after figures.
    bins : tuple of float
        Upper bounds of the map classes (the last class is open).
    missing : str
        What a kommune without a figure shows (no group at all / no route).

    """

    key: str
    label: str
    unit: str
    bins: tuple[float, ...]
    missing: str

    def column(self, organisation: str = "alle") -> str:
        """Return the kommune-table column for an organisation (``"alle"``: any group)."""
        if self.key == "km":
            return "nearest_group_km" if organisation == "alle" else f"km_{organisation}"
        return "drive_min" if organisation == "alle" else f"drive_min_{organisation}"


#: The two measures, keyed as in the app's URL (``?maal=km``).
MEASURES: dict[str, Measure] = {
    "km": Measure("km", "Avstand i luftlinje", "km", DISTANCE_BINS, "ingen gruppe"),
    "min": Measure("min", "Kjøretid med bil og ferje", "min", MINUTE_BINS,
                   "ingen rute på vegnettet"),
}


def escape(value: object) -> str:
    """Return text from data made safe for HTML (``None``/NaN become an empty string)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def figure(value: float, digits: int = 0) -> str:
    """Return a number the Norwegian way (spaces between thousands); a dash for none."""
    return f"{value:,.{digits}f}".replace(",", " ") if pd.notna(value) else "–"


def _data_url(path: Path, mime: str) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{encoded}"


@cache
def offline_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return Folium's ``default_js`` and ``default_css`` as data URLs from PyPI packages.

    Returns
    -------
    tuple of (js, css)
        Leaflet and jQuery scripts, and the Leaflet stylesheet.

    """
    leaflet = Path(xstatic.pkg.leaflet.BASE_DIR)
    jquery = Path(xstatic.pkg.jquery.BASE_DIR)
    js = [("leaflet", _data_url(leaflet / "leaflet.js", "text/javascript")),
          ("jquery", _data_url(jquery / "jquery.min.js", "text/javascript"))]
    # leaflet.css refers to images/layers.png etc. relative to itself; a data URL has no
    # folder, so the images are inlined too.
    stylesheet = (leaflet / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((leaflet / "images").glob("*.png")):
        stylesheet = stylesheet.replace(f"images/{image.name}", _data_url(image, "image/png"))
    encoded = base64.b64encode(stylesheet.encode("utf-8")).decode("ascii")
    css = [("leaflet_css", f"data:text/css;base64,{encoded}")]
    return js, css


class _OfflineDefaultIcon(folium.MacroElement):
    """Point Leaflet's default marker icon at data URLs (it would fetch PNGs by path).

    Leaflet derives the icon folder from its stylesheet; with the stylesheet inlined as a
    data URL that path is meaningless and the browser asks the server for
    ``marker-icon.png``. Any ``folium.Marker`` briefly has the default icon, even one
    given a ``DivIcon``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.Icon.Default.imagePath = "";
        L.Icon.Default.mergeOptions({{ this.urls|tojson }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "OfflineDefaultIcon"
        images = Path(xstatic.pkg.leaflet.BASE_DIR) / "images"
        self.urls = {option: _data_url(images / name, "image/png") for option, name in (
            ("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
            ("shadowUrl", "marker-shadow.png"))}


def base_map(location: tuple[float, float] = (65.0, 14.0), zoom: int = 4,
             tiles: bool = False) -> folium.Map:
    """Return a Folium map that needs no CDN.

    Parameters
    ----------
    location : tuple of float
        Centre (lat, lon).
    zoom : int
        Initial zoom.
    tiles : bool
        Add OpenStreetMap tiles (a third-party request; off by default).

    Returns
    -------
    folium.Map

    """
    fmap = folium.Map(location=list(location), zoom_start=zoom, tiles=None, control_scale=True,
                      prefer_canvas=True, attribution_control=True)
    js, css = offline_assets()
    fmap.default_js = js
    fmap.default_css = css
    _OfflineDefaultIcon().add_to(fmap)
    if tiles:
        folium.TileLayer("OpenStreetMap", name="Bakgrunnskart (OpenStreetMap)").add_to(fmap)
    return fmap


def zoom_to_show(radius_km: float, lat: float, height_px: int = 420,
                 min_zoom: int = 4, max_zoom: int = 12) -> int:
    """Return the largest web-map zoom at which a circle of ``radius_km`` fits the map.

    Used to centre the search map on the searched point with the nearest group in view.

    Parameters
    ----------
    radius_km : float
        Distance that must be visible from the centre (e.g. to the nearest group).
    lat : float
        Latitude of the centre (the Web Mercator scale depends on it).
    height_px : int
        Map height in pixels (the shorter side).
    min_zoom, max_zoom : int
        Bounds of the result.

    Returns
    -------
    int

    """
    metres_per_pixel_z0 = 156_543.03 * np.cos(np.radians(lat))
    needed = 2.0 * max(radius_km, 1.0) * 1000.0 / (0.85 * height_px)  # metres per pixel
    zoom = int(np.floor(np.log2(metres_per_pixel_z0 / needed)))
    return int(np.clip(zoom, min_zoom, max_zoom))


#: Mainland Norway, for fitting national maps: [[south, west], [north, east]].
NORWAY_BOUNDS = [[57.9, 4.5], [71.2, 31.2]]


def distance_classes(values: pd.Series, bins: tuple[float, ...] = DISTANCE_BINS) -> pd.Series:
    """Classify distances or times into the map classes.

    Parameters
    ----------
    values : pandas.Series
        Km or minutes; NaN stays NaN.
    bins : tuple of float
        Upper bounds (:data:`DISTANCE_BINS` or :data:`MINUTE_BINS`); the last class is open.

    Returns
    -------
    pandas.Series
        Class index 0 … len(bins) (float, NaN where ``values`` is NaN).

    """
    valid = values.dropna()
    result = pd.Series(np.nan, index=values.index)
    if valid.empty:
        return result
    upper = max(float(valid.max()), bins[-1] + 1)
    classifier = mapclassify.UserDefined(valid.to_numpy(), bins=[*bins, upper])
    result.loc[valid.index] = classifier.yb
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
    items = "".join(
        f'<li><span style="display:inline-block;width:1.2em;height:0.9em;background:{colour};'
        f'border:1px solid #666;margin-right:0.4em"></span>{escape(label)}</li>'
        for colour, label in legend_entries(measure))
    return (f'<ul aria-label="Tegnforklaring: {escape(measure.label.lower())} til nærmeste '
            f'gruppe" style="list-style:none;padding-left:0;margin:0">{items}</ul>')


def coverage_layer(polygons: gpd.GeoDataFrame, kommuner: pd.DataFrame,
                   column: str, measure: Measure = MEASURES["km"]) -> folium.GeoJson:
    """Return the kommune choropleth of one distance or travel-time column.

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
    folium.GeoJson
        With a tooltip (kommune and figure); every property escaped.

    """
    if column not in kommuner.columns:
        raise ValueError(f"unknown distance column {column!r}")
    table = kommuner[["kommunenummer", "kommunenavn", "fylkesnavn", "folkemengde", column]]
    layer = polygons[["kommunenummer", "geometry"]].merge(table, on="kommunenummer")
    classes = distance_classes(layer[column], measure.bins)
    layer["colour"] = [DISTANCE_COLOURS[int(c)] if not np.isnan(c) else NO_DATA_COLOUR
                       for c in classes]
    layer["avstand"] = [f"{value:.0f} {measure.unit}" if pd.notna(value) else measure.missing
                        for value in layer[column]]
    layer["kommune"] = layer["kommunenavn"].map(escape)
    layer["fylke"] = layer["fylkesnavn"].map(escape)
    layer = layer[["kommunenummer", "kommune", "fylke", "avstand", "colour", "geometry"]]
    return folium.GeoJson(
        layer.to_json(drop_id=True),
        name="Avstand til nærmeste gruppe",
        style_function=lambda feature: {
            "fillColor": feature["properties"]["colour"], "color": "#555555",
            "weight": 0.4, "fillOpacity": 0.8,
        },
        highlight_function=lambda feature: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["kommune", "fylke", "avstand"],
            aliases=["Kommune", "Fylke", "Avstand" if measure.key == "km" else "Kjøretid"]),
    )


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


class OutlineLayer(folium.MacroElement):
    """Plain kommune outlines from pre-serialised GeoJSON: the offline base map.

    Unlike :class:`folium.GeoJson` it neither parses nor re-serialises the GeoJSON on
    every rerun, and the outlines are not interactive (clicks go to the markers).

    Parameters
    ----------
    geojson : str
        GeoJSON text from :func:`outline_geojson`.

    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.geojson }},
            {{ this.options|tojson }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, geojson: str) -> None:
        super().__init__()
        self._name = "OutlineLayer"
        self.geojson = geojson
        self.options = {"style": {"fillColor": "#f2efe9", "color": "#999999", "weight": 0.4,
                                  "fillOpacity": 1.0},
                        "interactive": False}

    def render(self, **kwargs: object) -> None:  # type: ignore[override]  # as MacroElement
        """Add the layer's script to the figure verbatim (see :class:`_Verbatim`)."""
        figure = self.get_root()
        assert isinstance(figure, branca.element.Figure), "render the map, not the layer"
        script = self._template.module.script(self, kwargs)
        figure.script.add_child(_Verbatim(str(script)), name=self.get_name())


def outline_layer(outlines: str) -> OutlineLayer:
    """Return plain kommune outlines: the offline base map when no tiles are shown.

    Parameters
    ----------
    outlines : str
        GeoJSON from :func:`outline_geojson`.

    """
    return OutlineLayer(outlines)


def service_popup(row: pd.Series) -> str:
    """Return the escaped HTML of one service's popup."""
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


def _marker_style(feature: dict) -> dict[str, object]:
    properties = feature["properties"]
    style: dict[str, object] = {"color": properties["colour"], "fillColor": properties["colour"],
                                "weight": 2, "radius": properties["radius"], "fill": True,
                                "fillOpacity": 0.85 if properties["exact"] else 0.25}
    if not properties["exact"]:
        style["dashArray"] = "4 3"
    return style


def service_markers(services: pd.DataFrame, name: str, show: bool = True) -> folium.FeatureGroup:
    """Return a layer of service markers.

    Markers whose location is coarser than a postcode are drawn hollow and dashed, and their
    popup says the location is approximate. All markers of the layer are one GeoJSON layer
    (circle markers), so a map with 200 services renders in milliseconds, not as 600
    separately templated Folium elements.

    Parameters
    ----------
    services : pandas.DataFrame
        Geocoded services (rows without a point are skipped).
    name : str
        Layer name shown in the layer control.
    show : bool
        Whether the layer is on initially.

    Returns
    -------
    folium.FeatureGroup

    """
    group = folium.FeatureGroup(name=escape(name), show=show)
    located = services.dropna(subset=["lat", "lon"])
    if located.empty:
        return group
    # Several groups can share a point (four Familieklubbene at one address in Oslo):
    # spread them a little so each stays clickable.
    offsets = located.groupby(["lat", "lon"]).cumcount().to_numpy()
    points = gpd.GeoDataFrame(
        {"colour": [ORGANISATION_COLOURS.get(str(o), "#333333")
                    for o in located["organisation"]],
         "exact": (located["precision"] == "postcode").to_numpy(),
         "radius": np.where(located["kind"] == "self_help", 7, 5),
         "tooltip": [escape(n) for n in located["name"]],
         "popup": [service_popup(row) for _, row in located.iterrows()]},
        geometry=gpd.points_from_xy(located["lon"].to_numpy(dtype=float) + 0.008 * offsets,
                                    located["lat"].to_numpy(dtype=float) + 0.004 * offsets),
        crs=settings.CRS_WGS84)
    folium.GeoJson(
        points.to_geo_dict(drop_id=True), name=escape(name), control=False,
        marker=folium.CircleMarker(), style_function=_marker_style,
        # Both are inserted as HTML by Leaflet; the texts were escaped above.
        tooltip=folium.GeoJsonTooltip(fields=["tooltip"], labels=False),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=320),
    ).add_to(group)
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
    return (f'<div style="width:24px;height:24px;border-radius:12px;background:#08519c;'
            f'color:#fff;font:bold 13px/24px sans-serif;text-align:center;'
            f'border:2px solid #fff">{int(rank)}</div>')


def site_markers(sites: pd.DataFrame, radius_km: float | None = None) -> folium.FeatureGroup:
    """Return numbered markers of planned sites (and their reach as circles, for km).

    Parameters
    ----------
    sites : pandas.DataFrame
        ``Plan.sites`` (``admin_lat``, ``admin_lon``, ``kommunenavn``, ``added``), in order.
    radius_km : float, optional
        Draw each site's reach as a circle; ``None`` for a reach in minutes (no circle).

    """
    group = folium.FeatureGroup(name="Foreslåtte grupper")
    points = zip(sites["admin_lat"].astype(float), sites["admin_lon"].astype(float),
                 sites["kommunenavn"], sites["added"].astype(int), strict=True)
    for rank, (lat, lon, name, added) in enumerate(points, start=1):
        if radius_km is not None:
            folium.Circle([lat, lon], radius=radius_km * 1000, color="#08519c", weight=1,
                          fill=True, fill_opacity=0.08).add_to(group)
        folium.Marker(
            [lat, lon],
            icon=folium.DivIcon(html=site_badge(rank), icon_size=(24, 24), icon_anchor=(12, 12)),
            tooltip=folium.Tooltip(f"{rank}. {escape(name)}: legger til {figure(added)} "
                                   "innbyggere"),
        ).add_to(group)
    return group


def plan_table(sites: pd.DataFrame) -> pd.DataFrame:
    """Return planned sites (``Plan.sites``) as a Norwegian table, in plan order."""
    return pd.DataFrame({
        "Nr.": range(1, len(sites) + 1),
        "Kommune": sites["kommunenavn"], "Fylke": sites["fylkesnavn"],
        "Valgt av deg": sites["fixed"],
        "Når alene": sites["reach"], "Legger til": sites["added"],
        "Til sammen": sites["cumulative"],
    })


def ranking_table(ranked: pd.DataFrame, far: str) -> pd.DataFrame:
    """Return the single-site ranking (:func:`tilbudskart.planning.rank_new_sites`) in Norwegian.

    Parameters
    ----------
    ranked : pandas.DataFrame
        With ``km_now`` (reach in km) or ``min_now`` (reach in minutes).
    far : str
        What "out of reach" is, e.g. ``"mer enn 50 km"``.

    """
    now = ("Km til nærmeste gruppe i dag" if "km_now" in ranked.columns
           else "Kjøretid til nærmeste gruppe i dag (min)")
    return pd.DataFrame({
        "Kommune": ranked["kommunenavn"], "Fylke": ranked["fylkesnavn"],
        "Innbyggere": ranked["folkemengde"],
        now: ranked["km_now" if "km_now" in ranked.columns else "min_now"].round(0),
        f"Innbyggere i kommunen {far} unna": ranked["uncovered_in_kommune"],
        "Ny gruppe her ville nå": ranked["reach"],
    })


def result_table(found: pd.DataFrame) -> pd.DataFrame:
    """Return nearest services as a Norwegian table for display (a text alternative).

    With a ``drive_min`` column (see :func:`tilbudskart.network.minutes_to`) the drive time
    follows the distance.
    """
    table = pd.DataFrame({"Avstand (km)": found["distance_km"].round(1)})
    if "drive_min" in found.columns:
        table["Kjøretid (ca. min)"] = found["drive_min"].round(0)
    table["Navn"] = found["name"]
    table["Organisasjon"] = found["organisation"].map(settings.ORGANISATIONS)
    table["Kommune"] = found["kommunenavn"]
    table["Kontakt"] = [" · ".join(x for x in (p, e) if isinstance(x, str) and x)
                        for p, e in zip(found["phone"], found["email"], strict=True)]
    table["Plassering"] = found["precision"].map(PRECISION_LABELS)
    return table


def planner_table(kommuner: pd.DataFrame, organisation: str = "alle",
                  measure: Measure = MEASURES["km"]) -> pd.DataFrame:
    """Return the coverage table with Norwegian column names, farthest first.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table.
    organisation : str
        ``"alle"`` (any self-help group) or one organisation key: which group the km and
        minute columns are to.
    measure : Measure
        Sort by straight-line km or by travel time (farthest first, ties by number).

    Returns
    -------
    pandas.DataFrame

    """
    km, minutes = MEASURES["km"].column(organisation), MEASURES["min"].column(organisation)
    table = pd.DataFrame({
        "Kommunenr.": kommuner["kommunenummer"],
        "Kommune": kommuner["kommunenavn"],
        "Fylke": kommuner["fylkesnavn"],
        "Innbyggere": kommuner["folkemengde"],
        "Km til nærmeste gruppe": kommuner[km].round(1),
        "Kjøretid (min)": kommuner[minutes].round(0),
        "Nærmeste gruppe": kommuner["nearest_group"],
        "Grupper i kommunen": kommuner["groups_in_kommune"],
        "Befolkningsvektet km": kommuner["population_weighted_km"].round(1),
        "Bor > 25 km unna": kommuner["population_beyond_25km"],
        "Bor > 50 km unna": kommuner["population_beyond_50km"],
        "Vei-km": kommuner["road_km"].round(0),
        "Befolkningsvektet kjøretid (min)": kommuner["population_weighted_drive_min"].round(0),
        "Bor > 60 min unna": kommuner["population_beyond_60min"],
        "Bor > 120 min unna": kommuner["population_beyond_120min"],
        "Uten rute på vegnettet": kommuner["population_not_routed"],
        "Km til institusjon": kommuner["km_institution"].round(1),
    })
    key = "Km til nærmeste gruppe" if measure.key == "km" else "Kjøretid (min)"
    return table.sort_values([key, "Kommunenr."], ascending=[False, True],
                             ignore_index=True)


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


def geopackage_bytes(polygons: gpd.GeoDataFrame, table: pd.DataFrame) -> bytes:
    """Return a GeoPackage (layer ``kommuner``) of polygons joined with a table, as bytes."""
    import tempfile

    layer = polygons[["kommunenummer", "geometry"]].merge(table, on="kommunenummer")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tilbudskart_kommuner.gpkg"
        layer.to_file(path, layer="kommuner", driver="GPKG", engine="pyogrio")
        return path.read_bytes()

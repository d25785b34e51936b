"""Map images: the kommune map of the sheet and the national coverage image (PNG/SVG)."""

from __future__ import annotations

import io
import math
from typing import Any

import geopandas as gpd
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tilbudskart import network, settings
from tilbudskart.report.data import ReportData
from tilbudskart.report.layout import (
    _HOME,
    _INK,
    _LAND,
    _MUTED,
    _ROUTE,
    _SEA,
    _SITE,
    A4,
    _style,
    _wrap,
)
from tilbudskart.views import language as lang
from tilbudskart.views.maps import DISTANCE_COLOURS, NO_DATA_COLOUR, distance_classes
from tilbudskart.views.measures import MEASURES, Measure
from tilbudskart.views.text import figure


def _nice_length(span_m: float) -> float:
    """Return a round scale-bar length (m) near a quarter of ``span_m``."""
    target = span_m / 4
    for km in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if km * 1000 >= target:
            return km * 1000.0
    return 1_000_000.0


def _scale_bar(ax: Any, x0: float, y0: float, x1: float, y1: float, size: float = 7) -> None:
    """Draw a metric scale bar in the lower left of axes in metres (EPSG:25833)."""
    length = _nice_length(x1 - x0)
    x = x0 + 0.04 * (x1 - x0)
    y = y0 + 0.05 * (y1 - y0)
    h = 0.012 * (y1 - y0)
    ax.fill([x, x + length / 2, x + length / 2, x], [y, y, y + h, y + h], color=_INK, zorder=20)
    ax.fill([x + length / 2, x + length, x + length, x + length / 2], [y, y, y + h, y + h],
            facecolor="white", edgecolor=_INK, lw=0.6, zorder=20)
    ax.text(x, y + 2.2 * h, "0", fontsize=size, ha="center", zorder=20)
    ax.text(x + length, y + 2.2 * h, f"{figure(length / 1000)} km", fontsize=size,
            ha="center", zorder=20)


def _route_legs(data: ReportData, row: pd.Series) -> gpd.GeoDataFrame | None:
    """Return the fastest route from the centre to a self-help group, leg by leg.

    Uses :func:`tilbudskart.network.route_legs` on the nearest-group routes computed once
    (:attr:`ReportData.routes`); None without a road network or a route.
    """
    if data.road_network is None or data.routes is None:
        return None
    groups = data.services[data.services["kind"] == "self_help"]
    x, y = network.to_metric([float(row["admin_lat"])], [float(row["admin_lon"])])
    legs = network.route_legs(data.road_network, data.routes, float(x[0]), float(y[0]),
                              (groups["x"].to_numpy(), groups["y"].to_numpy()))
    if legs is None or legs.empty:
        return None
    end = groups.iloc[int(legs.attrs["service"])]
    legs.attrs["end"] = (float(end["x"]), float(end["y"]), str(end["name"]))
    return legs


def _kommune_map(fig: Figure, rect: tuple[float, float, float, float], data: ReportData,
                 facts: dict[str, Any]) -> bool:
    """Draw the kommune, its neighbours, the nearest groups and the suggested site.

    Returns whether a route was drawn.
    """
    number = facts["number"]
    row = facts["row"]
    language = facts.get("language", "nb")
    home = data.polygons[data.polygons["kommunenummer"] == number]
    cx, cy = network.to_metric([row["admin_lat"]], [row["admin_lon"]])
    points = [(float(cx[0]), float(cy[0]))]
    organisations = facts["organisations"]
    groups = organisations[organisations["organisation"] != "institution"]
    # Groups far beyond the nearest one would shrink the kommune to a dot: they are named
    # in the legend ("utenfor kartet") instead.
    near_km = max(80.0, 2.5 * float(row["nearest_group_km"]))
    for g in groups.itertuples():
        if g.km <= near_km:
            points.append((g.x, g.y))
    site = facts["site"]
    if site is not None:
        points.extend([(site["x"] - data.radius_km * 1000, site["y"]),
                       (site["x"] + data.radius_km * 1000, site["y"])])
    legs = _route_legs(data, row)
    if legs is not None:
        points.extend(legs.to_crs(settings.CRS_METRIC).total_bounds.reshape(2, 2).tolist())
    x0, y0, x1, y1 = home.total_bounds
    xs = [x0, x1, *(p[0] for p in points)]
    ys = [y0, y1, *(p[1] for p in points)]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    # Pad, keep at least 60 km, and match the axes' aspect.
    aspect = (rect[2] * A4[0]) / (rect[3] * A4[1])
    w = max(x1 - x0, 60_000.0) * 1.15
    h = max(y1 - y0, 60_000.0) * 1.15
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    x0, x1, y0, y1 = mx - w / 2, mx + w / 2, my - h / 2, my + h / 2

    ax = fig.add_axes(rect)
    ax.set_facecolor(_SEA)
    shown = data.polygons.cx[x0:x1, y0:y1]
    shown.plot(ax=ax, facecolor=_LAND, edgecolor="#9a9a9a", linewidth=0.35)
    home.plot(ax=ax, facecolor=_HOME, edgecolor="#8a4b08", linewidth=1.3, zorder=3)
    touching = shown[shown.geometry.dwithin(home.geometry.iloc[0], 200.0)]
    for n in touching.itertuples():
        if n.kommunenummer == number:
            continue
        p = n.geometry.representative_point()
        if x0 < p.x < x1 and y0 < p.y < y1:
            ax.text(p.x, p.y, n.navn, fontsize=6, color="#6b6b6b", ha="center",
                    va="center", zorder=4)
    hp = home.geometry.iloc[0].representative_point()
    ax.text(hp.x, hp.y, str(row["kommunenavn"]), fontsize=9, weight="bold", color="#5a3000",
            ha="center", va="center", zorder=6)

    route_drawn = False
    if legs is not None:
        metric = legs.to_crs(settings.CRS_METRIC)
        for kind, style in (("road", "-"), ("ferry", "--"), ("access", ":")):
            part = metric[metric["kind"] == kind]
            if not part.empty:
                part.plot(ax=ax, color=_ROUTE if kind != "access" else _MUTED,
                          linewidth=2.0 if kind != "access" else 1.0, linestyle=style, zorder=7)
        route_drawn = True
        ex, ey, name = legs.attrs["end"]
        ax.scatter([ex], [ey], s=42, color=_ROUTE, zorder=10, edgecolor="white", linewidth=0.8)
        # A group labelled already needs no second label where the route ends.
        if not any(abs(ex - g.x) < 1000 and abs(ey - g.y) < 1000 for g in groups.itertuples()):
            right = ex > x0 + 0.7 * (x1 - x0)
            ax.annotate(lang.text("map.fastest_label", language, name=name), (ex, ey),
                        xytext=(-6 if right else 6, -9),
                        textcoords="offset points", fontsize=7, color=_ROUTE, weight="bold",
                        ha="right" if right else "left", zorder=11, annotation_clip=True,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.8})
    if site is not None:
        circle = gpd.GeoSeries.from_xy([site["x"]], [site["y"]]).buffer(data.radius_km * 1000)
        circle.plot(ax=ax, facecolor="none", edgecolor=_SITE, linewidth=1.0, linestyle="--",
                    zorder=5)
        ax.scatter([site["x"]], [site["y"]], marker="D", s=46, color=_SITE, zorder=9,
                   edgecolor="white", linewidth=0.7)

    others = data.services[(data.services["kind"] == "self_help")
                           & data.services["x"].between(x0, x1)
                           & data.services["y"].between(y0, y1)]
    ax.scatter(others["x"], others["y"], s=8, color="#8a8a8a", zorder=8, linewidths=0)
    handles: list[Any] = []
    labels: dict[tuple[float, float], list[str]] = {}
    for g in groups.itertuples():
        colour = settings.ORGANISATION_TABLE[g.organisation].colour
        inside = x0 <= g.x <= x1 and y0 <= g.y <= y1
        short = g.organisation_name.split(" (")[0]
        outside = lang.text("map.outside", language, km=figure(g.km))
        legend = f"{short}: {g.group}" + ("" if inside else outside)
        handles.append(Line2D([], [], marker="o", linestyle="", color=colour,
                              markeredgecolor="white", markersize=7, label=legend))
        if inside:
            ax.scatter([g.x], [g.y], s=55, color=colour, zorder=10, edgecolor="white",
                       linewidth=0.8)
            labels.setdefault((round(g.x, -2), round(g.y, -2)), []).append(str(g.group))
    for (x, y), names in labels.items():
        right = x > x0 + 0.7 * (x1 - x0)
        ax.annotate(" / ".join(dict.fromkeys(names)), (x, y), xytext=(-6 if right else 6, 5),
                    textcoords="offset points", fontsize=7, weight="bold", color=_INK,
                    ha="right" if right else "left", annotation_clip=True,
                    zorder=11, bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                     "ec": "none", "alpha": 0.8})
    ax.scatter([cx[0]], [cy[0]], marker="*", s=120, color=_INK, zorder=12,
               edgecolor="white", linewidth=0.6)
    handles.insert(0, Line2D([], [], marker="*", linestyle="", color=_INK, markersize=10,
                             label=lang.text("map.centre", language,
                                             centre=row["admin_centre"])))
    if site is not None:
        handles.append(Line2D([], [], marker="D", linestyle="--", color=_SITE, markersize=6,
                              label=lang.text("map.proposal", language,
                                         kommune=site["kommunenavn"],
                                         radius=figure(data.radius_km))))
    if route_drawn:
        handles.append(Line2D([], [], color=_ROUTE, lw=2,
                              label=lang.text("map.route", language)))
    handles.append(Line2D([], [], marker="o", linestyle="", color="#8a8a8a", markersize=4,
                          label=lang.text("map.others", language)))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.01), ncol=2,
              fontsize=7, frameon=False, handletextpad=0.3, columnspacing=1.0,
              borderaxespad=0.0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_color("#777777")
        spine.set_linewidth(0.6)
    _scale_bar(ax, x0, y0, x1, y1)
    ax.text(x1 - 0.01 * (x1 - x0), y0 + 0.015 * (y1 - y0), "Kart: © Kartverket, EPSG:25833",
            fontsize=6, color=_MUTED, ha="right", va="bottom", zorder=20)
    return route_drawn



# -- the national coverage map as an image ----------------------------------------------------

#: tuple of int: pixel size of :func:`coverage_image` (a 16:9 slide).
IMAGE_PX = (1920, 1080)
#: int: resolution of :func:`coverage_image` (inches × dpi = pixels).
IMAGE_DPI = 200


def coverage_image(polygons: gpd.GeoDataFrame, kommuner: pd.DataFrame, measure: str = "km",
                   organisation: str | None = None, fmt: str = "png") -> bytes:
    """Return the national coverage choropleth as PNG or SVG bytes (1920 × 1080 px).

    The same classes and colours as the app's map (:mod:`tilbudskart.views.maps`), with a
    legend, a scale bar, the data years and the sources: ready for a slide.

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Kommune polygons (``kommunenummer``, ``geometry``; any CRS).
    kommuner : pandas.DataFrame
        The kommune table (column or index ``kommunenummer``).
    measure : {"km", "min"}
        Straight-line distance or drive time by road and car ferry.
    organisation : str, optional
        A self-help organisation id; ``None`` for the nearest group of any.
    fmt : {"png", "svg"}
        Image format.

    Returns
    -------
    bytes
        The image; the same input gives the same bytes.

    Raises
    ------
    ValueError
        On an unknown measure, organisation or format.

    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {list(MEASURES)}, not {measure!r}")
    if organisation is not None and organisation not in settings.SELF_HELP_ORGANISATIONS:
        raise ValueError(f"not a self-help organisation: {organisation!r}; known: "
                         f"{', '.join(settings.SELF_HELP_ORGANISATIONS)}")
    if fmt not in {"png", "svg"}:
        raise ValueError(f"format must be 'png' or 'svg', not {fmt!r}")
    chosen: Measure = MEASURES[measure]
    column = chosen.column(organisation)
    table = kommuner.reset_index() if "kommunenummer" not in kommuner.columns else kommuner
    layer = polygons[["kommunenummer", "geometry"]].merge(
        table[["kommunenummer", column]], on="kommunenummer").to_crs(settings.CRS_METRIC)
    classes = distance_classes(layer[column], chosen.bins)
    layer["colour"] = [DISTANCE_COLOURS[int(c)] if not math.isnan(c) else NO_DATA_COLOUR
                       for c in classes]
    whose = ("nærmeste selvhjelpsgruppe" if organisation is None
             else "nærmeste gruppe i " + settings.ORGANISATIONS[organisation].split(" (")[0])
    with _style():
        fig = Figure(figsize=(IMAGE_PX[0] / IMAGE_DPI, IMAGE_PX[1] / IMAGE_DPI))
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.01, 0.02, 0.52, 0.96))
        layer.plot(ax=ax, color=layer["colour"], edgecolor="#777777", linewidth=0.15)
        x0, y0, x1, y1 = layer.total_bounds
        ax.set_xlim(x0 - 20_000, x1 + 20_000)
        ax.set_ylim(y0 - 20_000, y1 + 20_000)
        ax.set_aspect("equal")
        ax.set_axis_off()
        ax.set_xlabel("")
        ax.set_ylabel("")
        bx0, bx1 = ax.get_xlim()
        by0, by1 = ax.get_ylim()
        _scale_bar(ax, bx0 + 0.45 * (bx1 - bx0), by0, bx1, by1, size=8)
        width_in = 0.43 * IMAGE_PX[0] / IMAGE_DPI
        height_in = IMAGE_PX[1] / IMAGE_DPI
        y = 0.94

        def write(text: str, size: float, gap: float = 0.02, **kwargs: Any) -> None:
            nonlocal y
            for line in _wrap(text, width_in * (0.85 if kwargs.get("weight") else 0.97), size):
                fig.text(0.55, y, line, fontsize=size, va="top", **kwargs)
                y -= size * 1.35 / 72 / height_in
            y -= gap

        write(f"{chosen.label} til {whose}", 14, weight="bold", color=_INK)
        write(f"fra kommunesenteret, per kommune ({settings.KOMMUNE_COUNT} kommuner, grenser "
              f"{settings.DATA_YEARS['boundaries']})", 10, gap=0.04, color=_MUTED)
        entries = [Patch(facecolor=colour, edgecolor="#777777", label=label)
                   for colour, label in _legend_entries(chosen)]
        entries.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#777777",
                             label=chosen.missing.capitalize()))
        fig.legend(handles=entries, loc="upper left", bbox_to_anchor=(0.545, y),
                   fontsize=10, frameon=False, title=f"{chosen.figure_label} ({chosen.unit})",
                   alignment="left",
                   title_fontproperties={"weight": "bold", "size": 10})
        y -= 0.39
        years = settings.DATA_YEARS
        notes = (f"Registeret over tilbud er fra {years['registry']} (ISF-rapporten): kartet "
                 f"viser tilbudene slik rapporten fant dem, ikke dagens.")
        if measure == "min":
            notes += (" Kjøretid er et anslag med bil og bilferje på Kartverkets vegnett N1000 "
                      f"(antatte hastigheter, {settings.FERRY_WAIT_MIN:g} min venting per "
                      "ferje).")
        write(notes, 8.5, gap=0.03, color=_INK)
        write("Kilder: tilbud ISF 2007; grenser og vegnett © Kartverket (CC BY 4.0); folketall "
              "© SSB (CC BY 4.0); stedsnavn GeoNames; postnummer Erik Bolstad.", 7.5,
              color=_MUTED)
        buffer = io.BytesIO()
        if fmt == "png":
            fig.savefig(buffer, format="png", dpi=IMAGE_DPI, facecolor="white",
                        metadata={"Software": None})
        else:
            fig.savefig(buffer, format="svg", dpi=IMAGE_DPI, facecolor="white",
                        metadata={"Date": None, "Creator": "tilbudskart"})
    return buffer.getvalue()


def _legend_entries(measure: Measure) -> list[tuple[str, str]]:
    """Return the legend of the coverage map (colour, Norwegian label) for a measure."""
    from tilbudskart.views.maps import legend_entries

    return [(colour, label.replace(".", ",")) for colour, label in legend_entries(measure)]

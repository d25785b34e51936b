"""Kommunerapport: a printable A4 sheet per kommune, a fylke summary, and maps as images.

Planners work from documents: a case for a new group is made on paper and in a slide. This
module draws, offline and with one library (matplotlib: its PDF, SVG and PNG backends draw
both the map and the page), what the app shows about one kommune:

- :func:`kommune_report` — one kommune on two A4 pages (PDF bytes), in Norwegian bokmål;
- :func:`fylke_report` — every kommune of one fylke in a table (PDF bytes);
- :func:`coverage_image` — the national coverage choropleth as PNG or SVG bytes, sized for
  a slide (1920 × 1080 px).

Every figure on a report is read from the kommune table the pipeline builds (the same
table ``build`` writes to ``kommuner.csv``) and formatted by
:mod:`tilbudskart.views.text`; :func:`kommune_facts` returns them as plain values, which is
what the tests compare. Output is byte-stable: no creation date, a fixed SVG hash salt,
fonts subset the same way every time (DejaVu Sans as Type 3, which ships with matplotlib and carries
æ, ø, å and the Sami letters á, č, đ, ŋ, š, ŧ, ž).

Build a :class:`ReportData` once (:meth:`ReportData.from_app_data`, about a second: it ranks
the new-group sites), then render as many reports as needed; each takes well under a second.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tilbudskart import access, datasources, measures, network, planning, settings
from tilbudskart.views import language as lang
from tilbudskart.views.maps import DISTANCE_COLOURS, NO_DATA_COLOUR, distance_classes
from tilbudskart.views.measures import MEASURES, Measure
from tilbudskart.views.text import figure, report_filename

if TYPE_CHECKING:
    from tilbudskart.pipeline import AppData

#: tuple of float: A4 portrait, inches.
A4 = (8.27, 11.69)

#: dict: matplotlib settings for every drawing here. Fonts are embedded as Type 3 subsets
#: with a Unicode map, so text can be searched, copied and read back (TrueType/Type 42
#: subsetting by fontTools doubled the time of a report); one fixed SVG hash salt, so SVG
#: ids are the same every time.
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "pdf.fonttype": 3,
    "svg.fonttype": "path",
    "svg.hashsalt": "tilbudskart",
    "pdf.compression": 6,
    "axes.unicode_minus": True,
}

#: dict: metadata of every PDF (no creation date: the same input gives the same bytes).
PDF_METADATA: dict[str, str | None] = {
    "Creator": "tilbudskart", "Producer": "tilbudskart (matplotlib)", "CreationDate": None,
}

#: dict of str to str: where a group meets, as precisely as the registry says (bokmål;
#: :func:`precision_text` for nynorsk).
PRECISION_TEXT: dict[str, str] = {
    key: lang.text(f"report.precision_{key}")
    for key in ("postcode", "place", "kommune", "region")}


def precision_text(precision: str, language: str = "nb") -> str:
    """Return where a group meets, as precisely as known, in a language."""
    key = f"report.precision_{precision}"
    return lang.text(key, language) if key in lang.catalogue(language) else precision

_INK = "#222222"
_MUTED = "#555555"
_SEA = "#dcebf5"
_LAND = "#f7f5f0"
_HOME = "#fde3b8"
_ROUTE = "#8b1e3f"
_SITE = "#0b6e4f"


# -- data ---------------------------------------------------------------------------------


@dataclass
class ReportData:
    """What every report needs, prepared once.

    Attributes
    ----------
    kommuner : pandas.DataFrame
        The kommune table (as ``build`` writes ``kommuner.csv``), indexed by kommunenummer.
    services : pandas.DataFrame
        Geocoded services with a point (``lat``, ``lon``, ``x``, ``y`` in EPSG:25833).
    polygons : geopandas.GeoDataFrame
        Kommune polygons in EPSG:25833 (``kommunenummer``, ``navn``), medium detail.
    lines : pandas.DataFrame
        The national phone lines (``data/national_lines.csv``).
    ranked : pandas.DataFrame
        :func:`tilbudskart.planning.rank_new_sites` at :attr:`radius_km`, indexed by
        kommunenummer, with ``rank`` (1 = reaches most).
    reach_by_kommune : numpy.ndarray
        People (as the tables count them) of kommune *i* now beyond :attr:`radius_km` whom a
        new group at the centre of kommune *j* would reach; rows and columns in ``kommuner``
        order.
    uncovered_by_kommune : numpy.ndarray
        People (as the tables count them) of each kommune now beyond :attr:`radius_km`.
    radius_km : float
        The "reach" of a suggested new group (km), as on the planning page: by default the
        widest distance threshold of the tables (:data:`tilbudskart.measures.FARTHEST_KM`).
    road_network : RoadNetwork or None
        The road network (for the fastest group and its route).
    routes : Routes or None
        Every network node's fastest self-help group (``services`` of kind ``self_help``,
        in order), for the route drawn on each map.

    """

    kommuner: pd.DataFrame
    services: pd.DataFrame
    polygons: gpd.GeoDataFrame
    lines: pd.DataFrame
    ranked: pd.DataFrame
    reach_by_kommune: np.ndarray
    uncovered_by_kommune: np.ndarray
    radius_km: float = field(default_factory=lambda: measures.FARTHEST_KM.value)
    road_network: network.RoadNetwork | None = None
    routes: network.Routes | None = None
    _positions: dict[str, int] = field(default_factory=dict, repr=False)
    #: Per organisation, how old its list in force is (:func:`published.registry_dates`).
    list_dates: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index the kommuner by number (row position in the reach matrix)."""
        self._positions = {str(n): i for i, n in enumerate(self.kommuner.index)}

    def position(self, number: str) -> int:
        """Return the row of a kommune; ``ValueError`` if the number is unknown."""
        if number not in self._positions:
            raise ValueError(f"unknown kommunenummer {number!r}")
        return self._positions[number]

    @classmethod
    def from_app_data(cls, data: AppData, radius_km: float | None = None,
                      polygons: gpd.GeoDataFrame | None = None) -> ReportData:
        """Prepare report data from the app's data.

        Parameters
        ----------
        data : AppData
            What :func:`tilbudskart.pipeline.load_app_data` returned.
        radius_km : float, optional
            Reach of a suggested new group (default :data:`measures.FARTHEST_KM`).
        polygons : geopandas.GeoDataFrame, optional
            Kommune polygons (any CRS); default the medium-detail polygons.

        Returns
        -------
        ReportData

        """
        prepared = cls.from_tables(data.kommuner, data.services, data.grid, data.lines,
                                   polygons=polygons, road_network=data.network,
                                   radius_km=radius_km)
        prepared.list_dates = dict(getattr(data, "list_dates", {}) or {})
        return prepared

    @classmethod
    def from_tables(cls, kommuner: pd.DataFrame, services: pd.DataFrame, grid: pd.DataFrame,
                    lines: pd.DataFrame, polygons: gpd.GeoDataFrame | None = None,
                    road_network: network.RoadNetwork | None = None,
                    radius_km: float | None = None) -> ReportData:
        """Prepare report data from the pipeline's tables.

        Parameters
        ----------
        kommuner : pandas.DataFrame
            The kommune table (column ``kommunenummer``).
        services : pandas.DataFrame
            Geocoded services.
        grid : pandas.DataFrame
            The 1 km population grid with ``lat``/``lon``.
        lines : pandas.DataFrame
            The national phone lines.
        polygons : geopandas.GeoDataFrame, optional
            Kommune polygons; default the medium-detail polygons.
        road_network : RoadNetwork, optional
            For the fastest group by road.
        radius_km : float, optional
            Reach of a suggested new group (default :data:`measures.FARTHEST_KM`).

        Returns
        -------
        ReportData

        """
        radius_km = measures.FARTHEST_KM.value if radius_km is None else radius_km
        table = kommuner.sort_values("kommunenummer").reset_index(drop=True)
        located = services[(services["status"] == "geocoded")].dropna(subset=["lat", "lon"])
        x, y = network.to_metric(located["lat"], located["lon"])
        located = pd.DataFrame(located.drop(columns="geometry", errors="ignore")).assign(x=x, y=y)
        if polygons is None:
            polygons = datasources.read_kommuner("M")
        shapes = polygons.to_crs(settings.CRS_METRIC)[["kommunenummer", "navn", "geometry"]]
        # 100 m is below a printed point at the scale of any kommune map (≥ 60 km wide).
        shapes = shapes.assign(geometry=shapes.geometry.simplify(100.0))
        ranked = planning.rank_new_sites(table, grid, services, radius_km=radius_km)
        ranked = ranked.assign(rank=np.arange(1, len(ranked) + 1)).set_index("kommunenummer")
        # People as the tables count them (measures.POPULATION_SOURCE), as planning does.
        people_grid = grid.assign(befolkning=measures.scaled_population(grid, table))
        uncovered = planning.uncovered_cells(people_grid, services, radius_km)
        numbers = table["kommunenummer"].astype(str).tolist()
        row_of = {n: i for i, n in enumerate(numbers)}
        reach_people = np.zeros((len(numbers), len(numbers)))
        if not uncovered.empty:
            # As planning measures reach: on the ellipsoid (planning.km_pairs).
            pairs = planning.km_pairs(
                uncovered["lat"].to_numpy(float), uncovered["lon"].to_numpy(float),
                table["admin_lat"].to_numpy(float), table["admin_lon"].to_numpy(float),
                radius_km)
            cell_row = uncovered["kommunenummer"].map(row_of).to_numpy()
            people = uncovered["befolkning"].to_numpy(dtype=float)
            known = ~pd.isna(cell_row[pairs.row])
            np.add.at(reach_people, (cell_row[pairs.row][known].astype(np.int64),
                                     pairs.col[known]), people[pairs.row][known])
        reach = np.round(reach_people).astype(np.int64)
        inside = uncovered.groupby("kommunenummer")["befolkning"].sum()
        uncovered_by_kommune = np.array([round(float(inside.get(n, 0))) for n in numbers],
                                        dtype=np.int64)
        routes = None
        if road_network is not None:
            groups = located[located["kind"] == "self_help"]
            routes = road_network.nearest(groups["x"].to_numpy(), groups["y"].to_numpy())
        return cls(kommuner=table.set_index("kommunenummer"), services=located,
                   polygons=shapes, lines=lines, ranked=ranked, reach_by_kommune=reach,
                   uncovered_by_kommune=uncovered_by_kommune, radius_km=radius_km,
                   road_network=road_network, routes=routes)


# -- facts: every figure a report shows ------------------------------------------------------


def _columns(language: str = "nb") -> dict[str, str]:
    """Return the "people beyond" columns with their Norwegian labels, in order."""
    labels = {settings.beyond_km_column(km): lang.text("report.beyond_km", language, km=km)
              for km in settings.BEYOND_KM}
    labels.update({settings.beyond_minutes_column(m): lang.text("report.beyond_min", language,
                                                           minutes=m)
                   for m in settings.BEYOND_MINUTES})
    return labels


def beyond_ranks(kommuner: pd.DataFrame) -> pd.DataFrame:
    """Return, per "people beyond" column, each kommune's rank and the national median.

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table, indexed by kommunenummer.

    Returns
    -------
    pandas.DataFrame
        Index kommunenummer; per column ``<column>_rank`` (1 = most people that far away;
        ties share the best rank) and ``<column>_tied`` (bool). The medians are in
        ``attrs["median"]`` (column → median over all kommuner).

    """
    result = pd.DataFrame(index=kommuner.index)
    medians: dict[str, float] = {}
    for column in _columns():
        values = kommuner[column]
        result[f"{column}_rank"] = values.rank(method="min", ascending=False).astype("int64")
        result[f"{column}_tied"] = values.duplicated(keep=False)
        medians[column] = float(values.median())
    result.attrs["median"] = medians
    return result


def _nearest_by_organisation(data: ReportData, row: pd.Series) -> pd.DataFrame:
    """Return one row per organisation: nearest in a line and fastest by road from the centre."""
    ranked = access.by_distance(float(row["admin_lat"]), float(row["admin_lon"]),
                                data.services)
    if data.road_network is not None:
        ranked["drive"] = network.minutes_to(data.road_network, float(row["admin_lat"]),
                                             float(row["admin_lon"]), ranked)
    else:
        ranked["drive"] = np.nan
    rows = []
    for organisation in [*settings.SELF_HELP_ORGANISATIONS, "institution"]:
        own = ranked[ranked["organisation"] == organisation] if organisation != "institution" \
            else ranked[ranked["kind"] == "institution"]
        if own.empty:
            continue
        nearest = own.iloc[0]
        fastest = own.sort_values(["drive", "distance_km"], kind="stable").iloc[0]
        rows.append({
            "organisation": organisation,
            "organisation_name": settings.ORGANISATIONS.get(organisation, organisation),
            "km": float(row[settings.km_column(organisation)]),
            "drive_min": float(row[settings.minutes_column(organisation)]),
            "group": str(nearest["name"]), "group_id": str(nearest["id"]),
            "group_kommune": str(nearest["kommunenavn"]),
            "group_place": str(nearest["place"] or ""),
            "group_address": str(nearest["address"] or ""),
            "precision": str(nearest["precision"]),
            "lat": float(nearest["lat"]), "lon": float(nearest["lon"]),
            "x": float(nearest["x"]), "y": float(nearest["y"]),
            "fastest": str(fastest["name"]), "fastest_id": str(fastest["id"]),
            "fastest_kommune": str(fastest["kommunenavn"]),
            "fastest_x": float(fastest["x"]), "fastest_y": float(fastest["y"]),
        })
    return pd.DataFrame(rows)


def best_site(data: ReportData, number: str, share: float = 0.5) -> dict[str, Any] | None:
    """Return the best site for one new group that would serve this kommune.

    A candidate is a kommune centre (as on the planning page). It *serves* the kommune when
    it would reach at least ``share`` of the kommune's residents now beyond
    :attr:`radius_km` (or, if none does, when it reaches as many of them as any
    candidate does). Among those, the one that would reach the most people in all wins
    (:func:`tilbudskart.planning.rank_new_sites`): the strongest case to make for the
    kommune is a group that also reaches the most people around it.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    share : float
        Share of the kommune's unserved residents a site must reach.

    Returns
    -------
    dict or None
        ``kommunenummer``, ``kommunenavn``, ``fylkesnavn``, ``admin_centre``, ``x``, ``y``,
        ``reach`` (people in all), ``reach_here`` (of this kommune), ``uncovered_here``,
        ``rank`` (among the single sites) — or None when nobody in the kommune lives beyond
        :attr:`radius_km` of a group.

    """
    i = data.position(number)
    here = data.reach_by_kommune[i]
    uncovered = int(data.uncovered_by_kommune[i])
    if uncovered == 0 or here.max() == 0:
        return None
    eligible = here >= share * uncovered
    if not eligible.any():
        eligible = here == here.max()
    numbers = data.kommuner.index.to_numpy()
    reach = data.ranked.loc[numbers, "reach"].to_numpy()
    order = np.lexsort((numbers, -here, -reach))  # most reach, then most here, then number
    chosen = int(next(j for j in order if eligible[j]))
    site = str(numbers[chosen])
    row = cast(pd.Series, data.kommuner.loc[site])
    x, y = network.to_metric([float(row["admin_lat"])], [float(row["admin_lon"])])
    return {
        "kommunenummer": site, "kommunenavn": str(row["kommunenavn"]),
        "fylkesnavn": str(row["fylkesnavn"]), "admin_centre": str(row["admin_centre"]),
        "x": float(x[0]), "y": float(y[0]), "reach": int(reach[chosen]),
        "reach_here": int(here[chosen]), "uncovered_here": uncovered,
        "rank": int(cast(Any, data.ranked.at[site, "rank"])),
    }


def kommune_facts(data: ReportData, number: str,
                  ranks: pd.DataFrame | None = None,
                  language: str | None = None) -> dict[str, Any]:
    """Return every figure one kommune's report shows, as plain values.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    ranks : pandas.DataFrame, optional
        :func:`beyond_ranks` of ``data.kommuner`` (computed if omitted).
    language : str, optional
        ``nb`` or ``nn`` (default: the kommune's own målform,
        :func:`tilbudskart.views.language.kommune_language`).

    Returns
    -------
    dict
        ``language``, ``row`` (the kommune-table row), ``organisations`` (one row per organisation:
        ``km``, ``drive_min`` from the table; the nearest group in a line and the fastest
        by road), ``beyond`` (per threshold: ``label``, ``people``, ``share``, ``rank``,
        ``tied``, ``median``), ``site`` (:func:`best_site`).

    Raises
    ------
    ValueError
        If the kommune is unknown.

    """
    data.position(number)
    if ranks is None:
        ranks = beyond_ranks(data.kommuner)
    row = cast(pd.Series, data.kommuner.loc[number])
    language = language or lang.kommune_language(number)
    beyond = []
    for column, label in _columns(language).items():
        people = int(row[column])
        beyond.append({
            "column": column, "label": label, "people": people,
            "share": people / float(row["folkemengde"]) if row["folkemengde"] else 0.0,
            "rank": int(cast(Any, ranks.at[number, f"{column}_rank"])),
            "tied": bool(ranks.at[number, f"{column}_tied"]),
            "median": float(ranks.attrs["median"][column]),
        })
    return {"number": number, "row": row, "language": language,
            "organisations": _nearest_by_organisation(data, row),
            "beyond": beyond, "site": best_site(data, number)}


# -- drawing helpers ---------------------------------------------------------------------------


@contextmanager
def _style() -> Iterator[None]:
    """Draw with the report's fonts and fixed hash salt, leaving global settings alone."""
    with mpl.rc_context(cast(Any, RC)):
        yield


def _wrap(text: str, width_in: float, size: float) -> list[str]:
    """Wrap text to a width in inches (DejaVu Sans averages ~0.55 em per character)."""
    chars = max(8, int(width_in * 72 / (0.55 * size)))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""])
    return lines


class _Page:
    """A cursor down an A4 page of a PDF: headings, paragraphs and simple tables."""

    left = 0.7  # inches
    right = A4[0] - 0.7
    top = A4[1] - 0.6
    bottom = 0.75

    def __init__(self, pdf: PdfPages, footer: str, language: str = "nb") -> None:
        self.pdf = pdf
        self.footer = footer
        self.language = language
        self.figures: list[Figure] = []
        self.fig = self._new()

    def _new(self) -> Figure:
        fig = Figure(figsize=A4)
        self.figures.append(fig)
        self.y = self.top
        return fig

    def need(self, inches: float) -> None:
        """Start a new page if less than ``inches`` remain."""
        if self.y - inches < self.bottom:
            self.fig = self._new()

    def text(self, x: float, y: float, text: str, size: float = 9.0, **kwargs: Any) -> None:
        """Put text at inches from the bottom left."""
        kwargs.setdefault("color", _INK)
        self.fig.text(x / A4[0], y / A4[1], text, fontsize=size, va="top", **kwargs)

    def heading(self, text: str, size: float = 11.0) -> None:
        """Write a section heading."""
        self.need(0.6)
        self.y -= 0.08
        self.text(self.left, self.y, text, size=size, weight="bold")
        self.y -= size / 72 * 1.55

    def paragraph(self, text: str, size: float = 9.0, indent: float = 0.0,
                  colour: str = _INK, gap: float = 0.06, **kwargs: Any) -> None:
        """Write wrapped text."""
        step = size / 72 * 1.35
        for line in _wrap(text, self.right - self.left - indent, size):
            self.need(step)
            self.text(self.left + indent, self.y, line, size=size, color=colour, **kwargs)
            self.y -= step
        self.y -= gap

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float], size: float = 8.0,
              align: Sequence[str] | None = None) -> None:
        """Write a table; columns of ``widths`` inches, cells wrapped, header repeated."""
        align = align or ["left"] * len(widths)
        step = size / 72 * 1.3
        starts = np.concatenate([[self.left], self.left + np.cumsum(widths)[:-1]])

        def line(y: float, colour: str = "#999999", weight: float = 0.5) -> None:
            self.fig.add_artist(Line2D([self.left / A4[0], (self.left + sum(widths)) / A4[0]],
                                       [y / A4[1], y / A4[1]], color=colour, lw=weight))

        def draw(cells: Sequence[str], bold: bool) -> None:
            wrapped = [_wrap(c, w - 0.08, size) for c, w in zip(cells, widths, strict=True)]
            height = max(len(w) for w in wrapped) * step + 0.06
            if self.y - height < self.bottom:
                self.fig = self._new()
                if not bold:
                    draw(header, True)
            for x, w, lines, how in zip(starts, widths, wrapped, align, strict=True):
                anchor = x + w - 0.06 if how == "right" else x
                for k, text in enumerate(lines):
                    self.text(anchor, self.y - 0.03 - k * step, text, size=size,
                              ha=how, weight="bold" if bold else "normal")
            self.y -= height
            line(self.y, "#444444" if bold else "#cccccc", 0.8 if bold else 0.4)

        draw(header, True)
        for cells in rows:
            draw(cells, False)
        self.y -= 0.1

    def close(self) -> None:
        """Add page numbers and footers; write every page."""
        total = len(self.figures)
        for number, fig in enumerate(self.figures, start=1):
            fig.text(self.left / A4[0], 0.45 / A4[1], self.footer, fontsize=7, color=_MUTED)
            fig.text(self.right / A4[0], 0.45 / A4[1],
                     lang.text("report.page", self.language, number=number, total=total),
                     fontsize=7, color=_MUTED, ha="right")
            self.pdf.savefig(fig)


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


def rank_text(rank: int, tied: bool, people: int, language: str = "nb") -> str:
    """Return a kommune's place among all ("12", "30 (delt)"; "–" when nobody is that far)."""
    if people == 0:
        return "–"
    return f"{rank}{lang.text('report.tied', language) if tied else ''}"


def _share(value: float) -> str:
    """Return a share as Norwegian per cent ("97 %")."""
    return f"{figure(100 * value)} %"


def _drive(value: Any, language: str = "nb") -> str:
    """Return a drive time for a table cell: "ca. 70 min" or "ingen rute"."""
    if value is None or not np.isfinite(float(value)):
        return lang.text("report.no_route_cell", language)
    hours = (lang.text("report.drive_hours", language, hours=figure(value / 60)) if value >= 180
             else "")
    return lang.text("report.drive", language, minutes=figure(value)) + hours


def _km(value: Any) -> str:
    """Return a distance in a line for a table cell ("64 km")."""
    return "–" if value is None or not np.isfinite(float(value)) else f"{figure(value)} km"


def _where(g: pd.Series | Any, language: str = "nb") -> str:
    """Return where a group meets: place, address, kommune (Norwegian)."""
    place = str(g.group_place).strip()
    parts = [place] if place and place not in {g.group_kommune, g.group} else []
    if str(g.group_address).strip():
        parts.append(str(g.group_address).strip())
    parts.append(lang.text("report.kommune_suffix", language, kommune=g.group_kommune))
    return ", ".join(parts)


def organisation_rows(facts: dict[str, Any]) -> list[list[str]]:
    """Return the per-organisation table of a report as text cells (Norwegian).

    Columns: organisation; nearest group in a line and where it meets; distance in a line;
    drive time (and the group it is to, when another is faster by road); placement.
    """
    language = facts.get("language", "nb")
    rows = []
    for g in facts["organisations"].itertuples():
        drive = _drive(g.drive_min, language)
        if g.fastest_id != g.group_id and np.isfinite(g.drive_min):
            drive += lang.text("report.drive_to", language, group=g.fastest,
                          kommune=g.fastest_kommune)
        rows.append([g.organisation_name.split(" (")[0], f"{g.group} – {_where(g, language)}",
                     _km(g.km), drive, precision_text(g.precision, language)])
    return rows


def _years(language: str = "nb") -> str:
    years = settings.DATA_YEARS
    return lang.text("report.years", language, registry=years["registry"],
                population=years["population"], grid=years["grid"],
                postcodes=years["postcodes"])


#: dict of str to int: the data years the catalogue's texts name.
YEARS = {"population": settings.DATA_YEARS["population"], "grid": settings.DATA_YEARS["grid"]}

#: list of str: the sources of every report (bokmål; the catalogue has nynorsk).
SOURCES = lang.texts("report.sources", "nb", **YEARS)


def _lines_text(lines: pd.DataFrame, language: str = "nb") -> list[list[str]]:
    national = lines[lines["scope"] == "national"]
    rows = []
    for line in national.itertuples():
        hours = str(line.opening_hours).strip()
        year = str(line.year).strip()
        note = " · ".join(x for x in (hours, lang.text("report.given", language, year=year)
                                      if year else "") if x)
        rows.append([str(line.name), str(line.phone), note])
    return rows


def _render_kommune(data: ReportData, facts: dict[str, Any], pdf: PdfPages) -> None:
    row = facts["row"]
    number = facts["number"]
    language = facts.get("language", "nb")

    def t(key: str, **values: Any) -> str:
        return lang.text(f"report.{key}", language, **values)

    official = lang.official_name(str(row.get("kommunenavn_offisielt", row["kommunenavn"])))
    name = str(row["kommunenavn"])
    page = _Page(pdf, t("header", number=number, name=official,
                        year=settings.DATA_YEARS["registry"]), language)
    page.text(page.left, page.y, t("tagline"), size=9, color=_MUTED)
    page.y -= 0.2
    page.text(page.left, page.y, official, size=22, weight="bold")
    page.y -= 0.42
    page.paragraph(t("facts", names="", number=number,
                     fylke=lang.official_name(row["fylkesnavn"]),
                     people=figure(row["folkemengde"]),
                     year=settings.DATA_YEARS["population"]), size=10)
    page.paragraph(_years(language), size=8.5, colour=_MUTED, gap=0.1)
    nearest = t("nearest", group=row["nearest_group"], kommune=row["nearest_group_kommune"],
                km=_km(row["nearest_group_km"]), centre=row["admin_centre"])
    if np.isfinite(row["drive_min"]):
        summer = row.get("drive_min_summer", np.nan)
        nearest += t("fastest", group=row["nearest_group_by_road"],
                     drive=_drive(row["drive_min"], language), km=_km(row["road_km"]),
                     summer=t("summer", drive=_drive(summer, language))
                     if np.isfinite(summer) and round(summer) < round(row["drive_min"]) else "")
    else:
        nearest += t("no_route")
    groups = int(row["groups_in_kommune"])
    year = settings.DATA_YEARS["registry"]
    nearest += (t("groups_none", year=year) if groups == 0 else
                t("groups_one", year=year) if groups == 1 else
                t("groups_many", count=figure(groups), year=year))
    page.paragraph(nearest, size=9.5, gap=0.12)

    map_height = 4.4
    page.need(map_height + 0.9)
    rect = (page.left / A4[0], (page.y - map_height) / A4[1],
            (page.right - page.left) / A4[0], map_height / A4[1])
    _kommune_map(page.fig, rect, data, facts)
    page.y -= map_height + 0.88

    page.heading(t("per_organisation"), size=11)
    page.table([t("col_organisation"), t("col_nearest"), t("col_line"), t("col_drive"),
                t("col_placement")],
               organisation_rows(facts), [1.5, 2.4, 0.65, 1.4, 0.92],
               align=["left", "left", "right", "left", "left"], size=7.5)

    page.fig = page._new()
    page.heading(t("beyond_heading"))
    page.paragraph(t("beyond_intro", count=settings.KOMMUNE_COUNT), size=8.5, colour=_MUTED)
    rows = []
    for b in facts["beyond"]:
        place = rank_text(b["rank"], b["tied"], b["people"], language)
        rows.append([t("beyond_row", label=b["label"]), figure(b["people"]),
                     _share(b["share"]), place, figure(b["median"])])
    page.table(["", t("col_people"), t("col_share"),
                t("col_rank", count=settings.KOMMUNE_COUNT), t("col_median")],
               rows, [2.6, 0.95, 0.7, 1.05, 1.55],
               align=["left", "right", "right", "right", "right"], size=8.5)
    not_routed = int(row["population_not_routed"])
    if not_routed:
        page.paragraph(t("not_routed", people=figure(not_routed)), size=8.5)

    page.heading(t("site_heading"))
    site = facts["site"]
    radius = figure(data.radius_km)
    if site is None:
        page.paragraph(t("site_none", name=name, radius=radius), size=9)
    else:
        where = (t("site_here") if site["kommunenummer"] == number
                 else t("site_there", kommune=site["kommunenavn"], fylke=site["fylkesnavn"]))
        page.paragraph(
            t("site", where=where, centre=site["admin_centre"], reach=figure(site["reach"]),
              radius=radius, here=figure(site["reach_here"]), name=name,
              uncovered=figure(site["uncovered_here"]), rank=site["rank"],
              count=settings.KOMMUNE_COUNT), size=9.5)
        page.paragraph(t("site_method", name=name, radius=radius,
                         grid=settings.DATA_YEARS["grid"],
                         population=settings.DATA_YEARS["population"]),
                       size=8, colour=_MUTED)

    page.heading(t("lines_heading"))
    page.table([t("col_line_name"), t("col_phone"), t("col_open")],
               _lines_text(data.lines, language), [2.75, 1.75, 2.37], size=7.5)
    page.paragraph(t("lines_note"), size=8, colour=_MUTED)

    page.heading(t("method_heading"))
    speeds = settings.ROAD_SPEED_KMH
    page.paragraph(t("method", e=speeds["E"], r=speeds["R"], f=speeds["F"], k=speeds["K"],
                     wait=settings.FERRY_WAIT_MIN, **YEARS), size=7.5)
    page.heading(t("sources_heading"))
    for source in [*lang.texts("report.sources", language, **YEARS), *_list_dates_lines(data)]:
        page.paragraph(f"• {source}", size=7.5, gap=0.0)
    page.close()


def _list_dates_lines(data: ReportData) -> list[str]:
    """Return how old each self-help organisation's list is (none: the report's rows only)."""
    dates = data.list_dates
    if not dates or all(getattr(d, "published_at", None) is None for d in dates.values()):
        return []
    return ["Listene over grupper: " + "; ".join(
        dates[o].text_nb() for o in settings.SELF_HELP_ORGANISATIONS if o in dates) + "."]


def _pdf_bytes(draw: Any) -> bytes:
    buffer = io.BytesIO()
    with _style(), PdfPages(buffer, metadata=PDF_METADATA) as pdf:
        draw(pdf)
    return buffer.getvalue()


def kommune_report(data: ReportData, number: str, ranks: pd.DataFrame | None = None,
                   language: str | None = None) -> bytes:
    """Return one kommune's report as PDF bytes (two A4 pages, in the kommune's målform).

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    number : str
        Kommunenummer.
    ranks : pandas.DataFrame, optional
        :func:`beyond_ranks` of ``data.kommuner`` (computed if omitted; pass it when
        rendering many reports).
    language : str, optional
        ``nb`` (bokmål) or ``nn`` (nynorsk); default: the kommune's own målform.

    Returns
    -------
    bytes
        The PDF; the same input gives the same bytes.

    Raises
    ------
    ValueError
        If the kommune is unknown.

    """
    facts = kommune_facts(data, number, ranks, language)
    return _pdf_bytes(lambda pdf: _render_kommune(data, facts, pdf))


def fylke_names(kommuner: pd.DataFrame) -> list[str]:
    """Return the fylke names of the kommune table, sorted."""
    return sorted(kommuner["fylkesnavn"].astype(str).unique())


def find_fylke(kommuner: pd.DataFrame, name: str) -> list[str]:
    """Return the fylker matching a name typed by a person (exact first, then prefix).

    "Finnmark" finds "Finnmark - Finnmárku - Finmarkku"; case and punctuation are ignored.
    """
    from tilbudskart.geocode import normalise

    key = normalise(name)
    names = fylke_names(kommuner)
    exact = [n for n in names if normalise(n) == key
             or key in {normalise(p) for p in n.split(" - ")}]
    return exact or [n for n in names if normalise(n).startswith(key)]


def fylke_report(data: ReportData, fylke: str) -> bytes:
    """Return a fylke summary as PDF bytes: every kommune's key figures in one table.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    fylke : str
        A fylke name exactly as in the kommune table (see :func:`find_fylke`).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        If no kommune lies in ``fylke``.

    """
    table = data.kommuner[data.kommuner["fylkesnavn"] == fylke]
    if table.empty:
        raise ValueError(f"no kommune in fylke {fylke!r}")
    table = table.sort_values(["drive_min", "nearest_group_km"], ascending=False,
                              na_position="first")

    def draw(pdf: PdfPages) -> None:
        page = _Page(pdf, f"tilbudskart · Fylkesoversikt {fylke} · registeret er fra "
                          f"{settings.DATA_YEARS['registry']}")
        page.text(page.left, page.y, f"{fylke}: avstand til hjelp for pårørende", size=16,
                  weight="bold")
        page.y -= 0.4
        people = int(table["folkemengde"].sum())
        far = {c: int(table[c].sum()) for c in _columns()}
        far_km, far_min = measures.FARTHEST_KM, measures.FARTHEST_MINUTES
        km50, min120 = far_km.column, far_min.column
        page.paragraph(
            f"{len(table)} kommuner, {figure(people)} innbyggere (1. januar "
            f"{settings.DATA_YEARS['population']}). "
            f"{figure(far.get(km50, 0))} bor mer enn {far_km.value:g} km i luftlinje og "
            f"{figure(far.get(min120, 0))} mer enn {far_min.value:g} min med bil og ferje "
            "fra nærmeste selvhjelpsgruppe.", size=10)
        page.paragraph(_years(), size=8.5, colour=_MUTED, gap=0.1)
        rows = [[f"{n} {r.kommunenavn}", figure(r.folkemengde), _km(r.nearest_group_km),
                 _drive(r.drive_min), figure(getattr(r, km50)), figure(getattr(r, min120)),
                 str(r.nearest_group)]
                for n, r in zip(table.index, table.itertuples(), strict=True)]
        page.table(["Kommune", "Innbyggere", "Luftlinje", "Kjøretid",
                    f"> {far_km.value:g} km", f"> {far_min.value:g} min", "Nærmeste gruppe"],
                   rows, [1.75, 0.8, 0.7, 0.95, 0.7, 0.75, 1.2],
                   align=["left", "right", "right", "right", "right", "right", "left"],
                   size=7.5)
        page.paragraph("Sortert etter kjøretid, lengst først. Avstand og kjøretid er fra "
                       "kommunesenteret til nærmeste selvhjelpsgruppe (alle organisasjoner).",
                       size=8, colour=_MUTED)
        page.heading("Kilder og lisenser", size=10)
        for source in [*SOURCES, *_list_dates_lines(data)]:
            page.paragraph(f"• {source}", size=7.5, gap=0.02)
        page.close()

    return _pdf_bytes(draw)


def report_index(kommuner: pd.DataFrame) -> pd.DataFrame:
    """Return the index of ``report --all``: one row per kommune and its file name."""
    table = kommuner.reset_index() if "kommunenummer" not in kommuner.columns else kommuner
    return pd.DataFrame({
        "kommunenummer": table["kommunenummer"].astype(str),
        "kommunenavn": table["kommunenavn"], "fylkesnavn": table["fylkesnavn"],
        "folkemengde": table["folkemengde"],
        "fil": [report_filename(str(n), str(k)) for n, k in
                zip(table["kommunenummer"], table["kommunenavn"], strict=True)],
    }).sort_values("kommunenummer", ignore_index=True)


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


# -- finding a kommune, and many reports at once --------------------------------------------


@dataclass
class KommuneLookup:
    """The outcome of looking up a kommune typed by a person.

    Attributes
    ----------
    number : str or None
        The kommunenummer found (None if none or several).
    candidates : list of str
        Labels to choose from when the name is ambiguous ("Herøy (1515, Møre og Romsdal)").
    reason : str
        Why nothing was found (empty when found or ambiguous).

    """

    number: str | None
    candidates: list[str] = field(default_factory=list)
    reason: str = ""


def find_kommune(kommuner: pd.DataFrame, query: str,
                 gazetteer: Any | None = None) -> KommuneLookup:
    """Find one kommune by number or name (then, with a gazetteer, by place or postcode).

    Parameters
    ----------
    kommuner : pandas.DataFrame
        The kommune table (column or index ``kommunenummer``; ``kommunenavn``,
        ``fylkesnavn``, optionally ``kommunenavn_offisielt``).
    query : str
        "4022", "Seljord", "Kárášjohka", "Guovdageaidnu - Kautokeino" …
    gazetteer : Gazetteer, optional
        For a place or postcode ("Bø i Telemark", "3840"): its kommune.

    Returns
    -------
    KommuneLookup

    """
    from tilbudskart.geocode import clean_text, normalise

    table = kommuner.reset_index() if "kommunenummer" not in kommuner.columns else kommuner
    text = clean_text(query)
    if not text:
        return KommuneLookup(None, reason="empty kommune")
    numbers = table["kommunenummer"].astype(str)
    if text.isdigit() and text.zfill(4) in set(numbers):
        return KommuneLookup(text.zfill(4))
    key = normalise(text)
    names = [table["kommunenavn"].astype(str)]
    if "kommunenavn_offisielt" in table.columns:
        official = table["kommunenavn_offisielt"].astype(str)
        names.append(official)
        names.extend(official.str.split(" - ").str[i].fillna("") for i in range(3))
    hit = np.zeros(len(table), dtype=bool)
    for column in names:
        hit |= column.map(normalise).to_numpy() == key
    if hit.sum() == 1:
        return KommuneLookup(str(numbers[hit].iloc[0]))
    if hit.sum() > 1:
        chosen = table[hit]
        return KommuneLookup(None, [f"{k} ({n}, {f})" for n, k, f in zip(
            chosen["kommunenummer"], chosen["kommunenavn"], chosen["fylkesnavn"], strict=True)])
    if gazetteer is not None:
        resolution = gazetteer.search(text)
        if resolution.ok and not resolution.match.territory:
            return KommuneLookup(resolution.match.kommunenummer)
        if resolution.candidates:
            return KommuneLookup(None, [c.label for c in resolution.candidates])
        return KommuneLookup(None, reason=resolution.reason or "not found")
    return KommuneLookup(None, reason=f"no kommune named {text[:60]!r}")


_WORKER: dict[str, Any] = {}


def _init_worker(data: ReportData, ranks: pd.DataFrame) -> None:
    _WORKER["data"], _WORKER["ranks"] = data, ranks


def _render_to(job: tuple[str, str]) -> str:
    number, path = job
    _write_atomic(path, kommune_report(_WORKER["data"], number, _WORKER["ranks"]))
    return path


def _write_atomic(path: str | Any, content: bytes) -> None:
    """Write bytes to a temporary file beside ``path``, then rename it into place."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=".tmp", delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)


def write_reports(data: ReportData, folder: Any, numbers: Sequence[str] | None = None,
                  workers: int = 2) -> list[Any]:
    """Write one report per kommune into ``folder`` (in parallel), and ``index.csv``.

    Parameters
    ----------
    data : ReportData
        Prepared report data.
    folder : pathlib.Path
        Output folder (created if missing).
    numbers : sequence of str, optional
        Kommunenumre (default all).
    workers : int
        Processes (1: in this process). Workers are forked, so the data is not copied.

    Returns
    -------
    list of pathlib.Path
        The reports written, then ``index.csv`` (kommunenummer, name, fylke, population,
        file name; UTF-8 with BOM, Excel-safe).

    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from tilbudskart.views.exports import csv_bytes

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    index = report_index(data.kommuner)
    if numbers is not None:
        index = index[index["kommunenummer"].isin(list(numbers))]
    ranks = beyond_ranks(data.kommuner)
    jobs = [(n, str(out / f)) for n, f in zip(index["kommunenummer"], index["fil"],
                                              strict=True)]
    methods = multiprocessing.get_all_start_methods()
    if workers <= 1 or "fork" not in methods:
        _init_worker(data, ranks)
        written = [_render_to(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers,
                                 mp_context=multiprocessing.get_context("fork"),
                                 initializer=_init_worker, initargs=(data, ranks)) as pool:
            written = list(pool.map(_render_to, jobs, chunksize=4))
    _write_atomic(out / "index.csv", csv_bytes(index))
    return [Path(p) for p in written] + [out / "index.csv"]

"""Settings: every path, year, organisation, threshold, speed and bin, in one place.

Every other module reads its assumptions from here, and every setting is documented with
its type, meaning and default (the way OSMnx documents ``osmnx.settings``). Output column
names are *derived* from the thresholds, so changing :data:`BEYOND_KM` changes the
columns everywhere at once.

Where things live
-----------------
- Data years and file names of the shared geodata: :data:`DATA_YEARS`, :data:`DATA_FILES`
  (moving to the 2025 boundaries is a change here plus a row in ``geo/manifest.csv``).
- Organisations: one table, ``data/organisations.csv`` (id, name, kind, colour, offer,
  national contact), read into :data:`ORGANISATION_TABLE`; adding an organisation is one row.
- Distance and time thresholds: :data:`BEYOND_KM`, :data:`BEYOND_MINUTES`; map classes:
  :data:`DISTANCE_BINS`, :data:`MINUTE_BINS`.
- Assumed speeds of the road network: :data:`ROAD_SPEED_KMH` … :data:`ACCESS_SPEED_KMH`.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# -- where things are ------------------------------------------------------------------

#: str: environment variable naming the folder that holds the shared geodata files.
DATA_DIR_ENV = "TILBUDSKART_DATA_DIR"

#: pathlib.Path: data folder used when :data:`DATA_DIR_ENV` is not set.
#: Default ``~/.cache/tilbudskart/data``.
USER_CACHE_DIR = Path.home() / ".cache" / "tilbudskart" / "data"

#: pathlib.Path: where built datasets are cached between runs (see
#: :func:`tilbudskart.pipeline.cached_dataset`). Default ``~/.cache/tilbudskart/builds``;
#: the environment variable ``TILBUDSKART_CACHE_DIR`` overrides it.
BUILD_CACHE_ENV = "TILBUDSKART_CACHE_DIR"
BUILD_CACHE_DIR = Path.home() / ".cache" / "tilbudskart" / "builds"

#: str: environment variable naming extra service lists the app and server load (paths
#: separated like ``PATH``); read by :func:`imports`.
IMPORTS_ENV = "TILBUDSKART_IMPORTS"

#: str: environment variable saying how much the app's planning warm-up builds: ``all``
#: (default: every organisation, threshold and objective, about half a minute of one core
#: after a data change, then from the disk cache), ``default`` (all groups only) or
#: ``off``; read by :func:`planning_warm`.
PLANNING_WARM_ENV = "TILBUDSKART_PLANNING_WARM"

#: str: environment variable naming the registry store's state folder (SQLite database);
#: default the user's data folder (platformdirs); read by :func:`state_dir_setting`.
STATE_DIR_ENV = "TILBUDSKART_STATE_DIR"

#: str: environment variable with the registry store's database URL (PostgreSQL where
#: several hosts serve); unset: SQLite in the state folder; read by
#: :func:`database_url_setting`.
DATABASE_URL_ENV = "TILBUDSKART_DATABASE_URL"

#: str: environment variable holding a steward key for ``tilbudskart publish``/``rollback``
#: (never a command-line argument); read by :func:`steward_key_setting`.
STEWARD_KEY_ENV = "TILBUDSKART_STEWARD_KEY"

#: Every environment variable the project reads is read here, by these functions (at
#: call time, not at import): tests and servers set them before asking.


def data_dir_setting() -> str | None:
    """Return ``$TILBUDSKART_DATA_DIR`` (None if unset)."""
    return os.environ.get(DATA_DIR_ENV)


def build_cache_setting() -> str | None:
    """Return ``$TILBUDSKART_CACHE_DIR`` (None if unset, "" for caching off)."""
    return os.environ.get(BUILD_CACHE_ENV)


def imports() -> tuple[Path, ...]:
    """Return the extra service lists named by ``$TILBUDSKART_IMPORTS`` (may be none)."""
    return tuple(Path(p) for p in os.environ.get(IMPORTS_ENV, "").split(os.pathsep) if p)


def state_dir_setting() -> str | None:
    """Return ``$TILBUDSKART_STATE_DIR`` (None if unset or empty)."""
    return os.environ.get(STATE_DIR_ENV) or None


def database_url_setting() -> str:
    """Return ``$TILBUDSKART_DATABASE_URL`` stripped ("" if unset)."""
    return os.environ.get(DATABASE_URL_ENV, "").strip()


def steward_key_setting() -> str:
    """Return ``$TILBUDSKART_STEWARD_KEY`` stripped ("" if unset)."""
    return os.environ.get(STEWARD_KEY_ENV, "").strip()


def environment() -> dict[str, str]:
    """Return a copy of this process's environment (for the worker processes it starts)."""
    return dict(os.environ)


def planning_warm() -> str:
    """Return ``$TILBUDSKART_PLANNING_WARM`` (default ``"all"``)."""
    return os.environ.get(PLANNING_WARM_ENV, "all")


#: pathlib.Path: the package's own data: the registry and its lookup tables (``data/`` at
#: the top of the repository, linked into the package as ``tilbudskart/data`` so that
#: ``pip install .`` ships it and the package runs from any folder).
PACKAGE_DATA = Path(str(resources.files("tilbudskart") / "data"))

#: pathlib.Path: the geodata manifest (``geo/manifest.csv``, shipped the same way): file
#: name, sha256, source and licence of every input.
MANIFEST_PATH = Path(str(resources.files("tilbudskart") / "geo" / "manifest.csv"))

#: pathlib.Path: the service registry transcribed from the 2007 report, and its lookups.
REGISTRY_DIR = PACKAGE_DATA
#: tuple of str: the registry files, in load order.
REGISTRY_FILES = ("self_help_groups.csv", "institutions.csv")
#: pathlib.Path: reasoned decisions for names no gazetteer resolves.
ALIASES_PATH = REGISTRY_DIR / "aliases.csv"
#: pathlib.Path: 2007 counties, Al-Anon districts and landsdeler → 2024 kommuner.
COUNTIES_2007_PATH = REGISTRY_DIR / "counties_2007.csv"
#: pathlib.Path: national phone lines with their sources.
NATIONAL_LINES_PATH = REGISTRY_DIR / "national_lines.csv"
#: pathlib.Path: the organisations table (see :data:`ORGANISATION_TABLE`).
ORGANISATIONS_PATH = REGISTRY_DIR / "organisations.csv"
#: pathlib.Path: documented corrections of the shared administrative centres (Ullensvang
#: is measured from Odda, not Kinsarvik), each with its source.
ADMIN_CENTRE_OVERRIDES_PATH = REGISTRY_DIR / "admin_centre_overrides.csv"

# -- data years -------------------------------------------------------------------------

#: dict of str to int: the year of each input, as stated to users.
#: ``registry`` 2007 (the ISF report), ``boundaries`` 2024 (the 357 kommuner),
#: ``population`` 2024 (1 January), ``grid`` 2019 (SSB's latest grid with exact counts),
#: ``postcodes`` 2026, ``crosswalk`` 2024 (1994–2024 kommune numbers).
DATA_YEARS: dict[str, int] = {
    "registry": 2007, "boundaries": 2024, "population": 2024, "grid": 2019,
    "postcodes": 2026, "crosswalk": 2024,
}

#: int: number of kommuner in the boundaries of ``DATA_YEARS["boundaries"]`` (357 in 2024);
#: a test checks it against the boundary file.
KOMMUNE_COUNT = 357

#: dict of str to str: file name (in the data folder) of each shared input, from the years.
DATA_FILES: dict[str, str] = {
    "kommuner_M": f"kommuner_{DATA_YEARS['boundaries']}_M.geojson",
    "kommuner_S": f"kommuner_{DATA_YEARS['boundaries']}_S.geojson",
    "fylker": f"fylker_{DATA_YEARS['boundaries']}_S.geojson",
    "population": f"befolkning_kommuner_{DATA_YEARS['population']}.csv",
    "admin_centres": f"kommunesentre_{DATA_YEARS['boundaries']}.csv",
    "postcodes": f"postnummer_{DATA_YEARS['postcodes']}.csv",
    "gazetteer": "stedsnavn.csv",
    "crosswalk": f"kommunenummer_1994_{DATA_YEARS['crosswalk']}.csv",
    "grid_1km": f"befolkning_rutenett_1km_{DATA_YEARS['grid']}.csv",
    "grid_250m": f"befolkning_rutenett_250m_{DATA_YEARS['grid']}.csv",
    "roads": "vegnett_n1000.geojson",
}

# -- coordinate systems and extent ------------------------------------------------------

#: str: geographic CRS of every input and output. Default ``"EPSG:4326"``.
CRS_WGS84 = "EPSG:4326"
#: str: metric CRS for the network and grid (UTM 33, ETRS89). Default ``"EPSG:25833"``.
CRS_METRIC = "EPSG:25833"

#: float: mean Earth radius (IUGG), km: turns unit-sphere chords into distances.
EARTH_RADIUS_KM = 6371.0088

#: tuple of float: mainland Norway and its islands, ``(lon_min, lat_min, lon_max, lat_max)``.
#: Used to check imported coordinates and to fit national maps.
NORWAY_BBOX = (4.0, 57.8, 31.5, 71.3)
#: list: :data:`NORWAY_BBOX` as Leaflet bounds ``[[south, west], [north, east]]``.
NORWAY_BOUNDS = [[NORWAY_BBOX[1], NORWAY_BBOX[0]], [NORWAY_BBOX[3], NORWAY_BBOX[2]]]

# -- organisations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    """One organisation (a row of ``data/organisations.csv``).

    Attributes
    ----------
    id : str
        Key used in the registry's ``organisation`` column and in URLs.
    name : str
        Norwegian display name.
    kind : str
        ``"self_help"`` (a self-help organisation) or ``"institution"``.
    colour : str
        Marker colour on maps (hex).
    offer : str
        What it offers, in Norwegian (from the 2007 report).
    contact_phone, contact_web : str
        The organisation's national contact, shown where a group has none ("" if unknown).
    contact_source : str
        Where the contact comes from.

    """

    id: str
    name: str
    kind: str
    colour: str
    offer: str
    contact_phone: str
    contact_web: str
    contact_source: str

    @property
    def contact(self) -> str:
        """Return the national contact as one line (phone · web), "" if none."""
        return " · ".join(part for part in (self.contact_phone, self.contact_web) if part)


def read_organisations(path: Path = ORGANISATIONS_PATH) -> dict[str, Organisation]:
    """Read the organisations table, in display order.

    Parameters
    ----------
    path : pathlib.Path
        Default :data:`ORGANISATIONS_PATH`.

    Returns
    -------
    dict of str to Organisation

    Raises
    ------
    ValueError
        If a row has an unknown kind or a repeated id.

    """
    table: dict[str, Organisation] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            organisation = Organisation(**{key: (value or "").strip()
                                           for key, value in row.items()})
            if organisation.kind not in KINDS:
                raise ValueError(f"{path}, row {line}, field 'kind': {organisation.kind!r} "
                                 f"is not one of {KINDS}")
            if organisation.id in table:
                raise ValueError(f"{path}, row {line}, field 'id': {organisation.id!r} twice")
            table[organisation.id] = organisation
    return table


#: tuple of str: kinds of service.
KINDS = ("self_help", "institution")

#: dict of str to Organisation: every organisation, in display order.
ORGANISATION_TABLE: dict[str, Organisation] = read_organisations()

#: dict of str to str: organisation id → Norwegian display name (derived).
ORGANISATIONS: dict[str, str] = {key: o.name for key, o in ORGANISATION_TABLE.items()}

#: tuple of str: the self-help organisations (derived: kind ``self_help``).
SELF_HELP_ORGANISATIONS: tuple[str, ...] = tuple(
    key for key, o in ORGANISATION_TABLE.items() if o.kind == "self_help")

#: tuple of str: geocode precision levels, finest first.
PRECISIONS: tuple[str, ...] = ("postcode", "place", "kommune", "region")

#: float: a point may lie this far (metres) outside the polygon of the kommune it claims
#: (coastline simplification puts quays and islets just outside). Default 5000.
POLYGON_TOLERANCE_M = 5000.0

# -- thresholds and map classes -----------------------------------------------------------

#: tuple of int: distance thresholds (km) of the "population beyond" columns. Default (25, 50).
BEYOND_KM: tuple[int, ...] = (25, 50)

#: tuple of int: travel-time thresholds (minutes) of the "population beyond" columns.
#: Default (60, 120).
BEYOND_MINUTES: tuple[int, ...] = (60, 120)

#: tuple of int: travel-time thresholds (minutes) planning offers besides the shortest of
#: :data:`BEYOND_MINUTES`: SSB's centrality thresholds. Default (45, 60, 75).
PLANNING_MINUTES: tuple[int, ...] = (45, 60, 75)

#: tuple of float: distance classes (km, upper bounds) of the coverage map; the last class
#: is open. Default (10, 25, 50, 100, 200).
DISTANCE_BINS: tuple[float, ...] = (10, 25, 50, 100, 200)

#: tuple of float: travel-time classes (minutes, upper bounds) of the coverage map; the
#: last class is open. Default (15, 30, 60, 120, 240).
MINUTE_BINS: tuple[float, ...] = (15, 30, 60, 120, 240)

# -- assumed speeds of the road network -------------------------------------------------------

#: dict of str to float: assumed driving speed (km/h) per N1000 road category (E, R, F, K,
#: P = private). N1000 has no speed limits; these are typical outside towns.
ROAD_SPEED_KMH: dict[str, float] = {"E": 70.0, "R": 65.0, "F": 55.0, "K": 45.0, "P": 30.0}
#: float: speed (km/h) on motorways and motor roads (``motorvegtype``). Default 100.
MOTORWAY_SPEED_KMH = 90.0
#: float: car-ferry crossing speed (km/h), the fallback for a crossing not in
#: ``data/ferries.csv`` (N1000 has no timetables). Default 25.
FERRY_SPEED_KMH = 25.0
#: dict of str to float: N1000's generalised lines are shorter than the roads (bends
#: smoothed away: E6 Skjervøy–Nordkjosbotn is 196 km in N1000, about 215 km of road); the
#: national network multiplies each road link's length by its category's factor.
#: Calibrated against the known trips (tests/data/known_trips.csv; see
#: docs/drive_time_calibration.md): one factor of 1.10 for every class fitted as well as
#: separate ones. Default 1.10 each.
ROAD_LENGTH_FACTOR: dict[str, float] = {"E": 1.10, "R": 1.10, "F": 1.10, "K": 1.10,
                                        "P": 1.10}
#: float: fixed wait (minutes) per car-ferry crossing: half is charged when a car drives
#: from the road onto the quay, half when it drives off, so a crossing made of several
#: N1000 links (a ferry calling at islands on the way) costs one wait. About half the gap
#: between departures on a typical fjord crossing plus boarding. It was 20 while every
#: crossing ran at :data:`FERRY_SPEED_KMH` (too fast: it stood in for part of the
#: crossing); with published crossing times (``data/ferries.csv``) 15 fits the known
#: trips best (docs/drive_time_calibration.md). Default 15.
FERRY_WAIT_MIN = 15.0
#: float: every car-ferry end (quay) is joined to the nearest point of the nearest road
#: within this distance (metres), the road split there, whether or not the quay's part of
#: the network is otherwise connected: the generalised map often stops a road short of
#: its quay (the Utsira ferry ends 800 m from Haugesund's streets). Default 2000.
FERRY_QUAY_M = 2000.0
#: float: the same for a ferry end shared by several ferry links, which may also be a
#: point at sea where routes part; a shorter reach keeps those off the land. Default 1000.
FERRY_JUNCTION_QUAY_M = 1000.0
#: float: a road link end this close (metres) to another road link's interior is a
#: T-junction the generalisation missed: that link is split there and the two joined
#: (never onto a tunnel or bridge, which pass over or under roads). Default 15.
T_JUNCTION_M = 15.0
#: float: a point (kommune centre, grid cell, searched place, group) joins the nearest
#: *public* road (E, R, F, K) when one is this close (metres), otherwise the nearest road
#: of any kind: private roads may start or end a trip, but a public road beside a point is
#: where a local would drive from. Private roads are also the slowest class (see
#: :data:`ROAD_SPEED_KMH`), so they carry through-traffic only where they save a lot.
#: Default 500.
PUBLIC_SNAP_M = 500.0
#: float: speed (km/h) of the straight legs from a point to the network, from the network
#: to a group, and over repaired gaps. Default 30.
ACCESS_SPEED_KMH = 30.0
#: float: link ends of different network parts closer than this (metres) are joined:
#: N1000's generalisation leaves small gaps where a road was cut in two. Default 150.
NETWORK_GAP_M = 150.0
#: float: a network part with no link to the main part is joined to it by a straight
#: connector up to this long (metres) when the connector runs over land (kommune
#: polygons): a gap in the generalised map, not a strait. Default 2000.
NETWORK_LAND_GAP_M = 2000.0
#: float: share of such a connector's length that must lie on land. Default 0.9.
NETWORK_LAND_SHARE = 0.9
#: float: a point farther than this (km) from any road is not routed. Default 30.
MAX_SNAP_KM = 30.0
#: float: a point whose straight leg to the nearest road crosses more than this (metres)
#: of water after it first reaches land (the kommune polygons are clipped to the
#: coastline) is on an island with no road connection: no car trip, not routed. Not
#: smaller: N1000 carries only the main roads, so a shorter leg over a bay is often a
#: fjord arm with a small road round it, and a 1 km grid cell's people may live on
#: either shore. 300 m would strand 18 067 people of the 2019 grid, 1 000 m strands
#: 3 542 (Røvær, Vassøy, Skrova, Jomfruland, Helligvær …). Default 1000.
SEA_LEG_TOLERANCE_M = 1000.0

#: pathlib.Path: published crossing times of car ferries (see :mod:`tilbudskart.ferries`).
FERRIES_PATH = PACKAGE_DATA / "ferries.csv"
#: float: an N1000 ferry link takes a table row's crossing time when both its ends lie
#: this close (metres) to the row's two quays. Default 1500.
FERRY_MATCH_M = 1500.0

# -- seasons ------------------------------------------------------------------------------

#: pathlib.Path: mountain roads closed in winter or run in convoy (see
#: :mod:`tilbudskart.seasons`).
WINTER_CLOSURES_PATH = PACKAGE_DATA / "winter_closures.csv"
#: tuple of int: months (1–12) in which the mountain passes are usually open: June to
#: October. Every other month is winter, the default season of every figure.
SUMMER_MONTHS: tuple[int, ...] = (6, 7, 8, 9, 10)
#: float: expected extra minutes (spread over the stretch by length) to cross a winter
#: convoy stretch in Finnmark: most winter days are open, a stormy one waits an hour or
#: more for the convoy. Default 15.
CONVOY_WAIT_MIN = 15.0

# -- output columns (derived from the thresholds) ---------------------------------------------


def km_column(organisation: str | None = None) -> str:
    """Return the kommune-table column of straight-line km to the nearest group.

    Parameters
    ----------
    organisation : str, optional
        An organisation id; ``None`` for the nearest group of any self-help organisation.

    """
    return "nearest_group_km" if organisation is None else f"km_{organisation}"


def minutes_column(organisation: str | None = None) -> str:
    """Return the kommune-table column of drive minutes to the nearest group.

    Parameters
    ----------
    organisation : str, optional
        An organisation id; ``None`` for the nearest group of any self-help organisation.

    """
    return "drive_min" if organisation is None else f"drive_min_{organisation}"


def beyond_km_column(km: int) -> str:
    """Return the column of residents farther than ``km`` in a line from any group."""
    return f"population_beyond_{km}km"


def beyond_minutes_column(minutes: int) -> str:
    """Return the column of residents farther than ``minutes`` by road from any group."""
    return f"population_beyond_{minutes}min"


def column_contracts(km: tuple[int, ...], minutes: tuple[int, ...],
                     ) -> dict[str, tuple[str, ...]]:
    """Return :data:`TRAVEL_COLUMNS` and :data:`KOMMUNE_COLUMNS` for these thresholds."""
    travel = (
        "kommunenummer",
        minutes_column(),
        # The same in summer, when the mountain passes are open (drive_min is winter's).
        "drive_min_summer",
        "road_km",
        "nearest_group_by_road",
        *(minutes_column(org) for org in SELF_HELP_ORGANISATIONS),
        minutes_column("institution"),
        "population_weighted_drive_min",
        *(beyond_minutes_column(m) for m in minutes),
        "population_not_routed",
    )
    kommune = (
        "kommunenummer",
        "kommunenavn",
        "fylkesnavn",
        "folkemengde",
        "admin_centre",
        "admin_lat",
        "admin_lon",
        km_column(),
        "nearest_group",
        "nearest_group_organisation",
        "nearest_group_kommune",
        *(km_column(org) for org in SELF_HELP_ORGANISATIONS),
        km_column("institution"),
        "nearest_institution",
        "groups_in_kommune",
        "institutions_in_kommune",
        "population_weighted_km",
        *(beyond_km_column(k) for k in km),
    )
    return {"TRAVEL_COLUMNS": travel, "KOMMUNE_COLUMNS": kommune}


#: tuple of str: columns of the per-kommune travel table (road + ferry), in order.
TRAVEL_COLUMNS: tuple[str, ...] = column_contracts(BEYOND_KM, BEYOND_MINUTES)["TRAVEL_COLUMNS"]

#: tuple of str: columns of the per-kommune access table, in order (a contract).
KOMMUNE_COLUMNS: tuple[str, ...] = column_contracts(BEYOND_KM, BEYOND_MINUTES)["KOMMUNE_COLUMNS"]

#: tuple of str: columns of the geocoded services table, in order (a contract).
SERVICE_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "organisation",
    "group_type",
    "kind",
    "place",
    "address",
    "postcode",
    "county",
    "phone",
    "email",
    "offer",
    "age_groups",
    "kommunenummer",
    "kommunenavn",
    "lat",
    "lon",
    "precision",
    "matched_as",
    "source",
    "year",
    "note",
    "attendance",
    "url",
    "duplicate_of",
    "status",
    "reason",
)

#: tuple of str: values of the services' ``status``: ``geocoded`` (a physical service on
#: the map, counted in every figure), ``unresolved`` (no place found; in
#: ``unresolved.csv`` with a reason), ``online`` (an online-only meeting: shown in searches
#: under "Møter på nett", never counted as physical coverage) and ``duplicate`` (a row that
#: repeats another, kept with its note and left out of every count).
STATUSES: tuple[str, ...] = ("geocoded", "unresolved", "online", "duplicate")

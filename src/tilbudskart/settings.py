"""Settings and constants, in one place.

Everything another module might want to tune lives here: where data is read from,
coordinate reference systems, the organisations and precision levels the registry knows,
and the distance thresholds of the access table.
"""

from __future__ import annotations

from pathlib import Path

#: Environment variable naming the folder that holds the shared geodata files.
DATA_DIR_ENV = "TILBUDSKART_DATA_DIR"

#: Fallback data folder when the environment variable is not set.
USER_CACHE_DIR = Path.home() / ".cache" / "tilbudskart" / "data"

#: The repository root (``src/tilbudskart/settings.py`` → three levels up).
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Geodata manifest: file name, sha256, upstream source and licence of every input.
MANIFEST_PATH = REPO_ROOT / "geo" / "manifest.csv"

#: The service registry transcribed from the 2007 report, and its lookup tables.
REGISTRY_DIR = REPO_ROOT / "data"
REGISTRY_FILES = ("self_help_groups.csv", "institutions.csv")
ALIASES_PATH = REGISTRY_DIR / "aliases.csv"
COUNTIES_2007_PATH = REGISTRY_DIR / "counties_2007.csv"
NATIONAL_LINES_PATH = REGISTRY_DIR / "national_lines.csv"

#: Geographic and metric coordinate reference systems.
CRS_WGS84 = "EPSG:4326"
CRS_METRIC = "EPSG:25833"

#: Mean Earth radius (IUGG), km: converts unit-sphere chord lengths to distances.
EARTH_RADIUS_KM = 6371.0088

#: A bounding box around mainland Norway and its islands (lon_min, lat_min, lon_max, lat_max).
NORWAY_BBOX = (4.0, 57.8, 31.5, 71.3)

#: Organisations the registry knows, in display order, with their Norwegian display names.
ORGANISATIONS: dict[str, str] = {
    "lms": "LMS (Landsforbundet Mot Stoffmisbruk)",
    "al_anon": "Al-Anon / Alateen / VBA",
    "familieklubbene": "Familieklubbene i Norge",
    "rus_nett": "Rus-Nett (ettervernsgrupper)",
    "aca": "ACA (voksne barn av alkoholikere)",
    "institution": "Behandlingsinstitusjon",
}

#: The self-help organisations (all organisations except treatment institutions).
SELF_HELP_ORGANISATIONS: tuple[str, ...] = ("lms", "al_anon", "familieklubbene", "rus_nett", "aca")

#: Kinds of service.
KINDS = ("self_help", "institution")

#: Geocode precision levels, finest first.
PRECISIONS: tuple[str, ...] = ("postcode", "place", "kommune", "region")

#: A point may lie this far outside the polygon of the kommune it claims (coastline
#: simplification puts quays and islets just outside; the shared data used 5 km).
POLYGON_TOLERANCE_M = 5000.0

#: Distance thresholds (km) for the "population beyond" columns of the access table.
BEYOND_KM: tuple[int, ...] = (25, 50)

#: Road network (N1000): assumed driving speed (km/h) per road category. N1000 has no speed
#: limits; these are typical for Norwegian roads of each class outside towns.
ROAD_SPEED_KMH: dict[str, float] = {"E": 80.0, "R": 70.0, "F": 60.0, "K": 50.0, "P": 40.0}
#: Speed on motorways and motor roads (``motorvegtype`` motorveg / motortrafikkveg).
MOTORWAY_SPEED_KMH = 100.0
#: Car ferries: crossing speed and a fixed wait per crossing (N1000 has no timetables).
FERRY_SPEED_KMH = 25.0
FERRY_WAIT_MIN = 20.0
#: The straight-line legs from a point to the network and from the network to a group.
ACCESS_SPEED_KMH = 30.0
#: Link ends of different parts of the network closer than this (metres) are joined by a
#: straight connector: N1000's generalisation leaves small gaps, e.g. at ferry quays.
NETWORK_GAP_M = 150.0
#: A part of the network with no link to the main part is joined to it by a straight
#: connector up to this long (metres) when the connector runs over land (kommune polygons):
#: a gap in the generalised map, not a strait. Islands stay apart.
NETWORK_LAND_GAP_M = 2000.0
#: Share of a connector's length that must lie on land.
NETWORK_LAND_SHARE = 0.9
#: A point farther than this from any road (km) is not routed; its time is unknown.
MAX_SNAP_KM = 30.0

#: Travel-time thresholds (minutes) for the "population beyond" columns of the travel table.
BEYOND_MINUTES: tuple[int, ...] = (60, 120)

#: Columns of the per-kommune travel table (road + ferry), in order.
TRAVEL_COLUMNS: tuple[str, ...] = (
    "kommunenummer",
    "drive_min",
    "road_km",
    "nearest_group_by_road",
    *(f"drive_min_{org}" for org in SELF_HELP_ORGANISATIONS),
    "drive_min_institution",
    "population_weighted_drive_min",
    *(f"population_beyond_{minutes}min" for minutes in BEYOND_MINUTES),
    "population_not_routed",
)

#: Columns of the per-kommune access table, in order (a contract other parts rely on).
KOMMUNE_COLUMNS: tuple[str, ...] = (
    "kommunenummer",
    "kommunenavn",
    "fylkesnavn",
    "folkemengde",
    "admin_centre",
    "admin_lat",
    "admin_lon",
    "nearest_group_km",
    "nearest_group",
    "nearest_group_organisation",
    "nearest_group_kommune",
    *(f"km_{org}" for org in SELF_HELP_ORGANISATIONS),
    "km_institution",
    "nearest_institution",
    "groups_in_kommune",
    "institutions_in_kommune",
    "population_weighted_km",
    *(f"population_beyond_{km}km" for km in BEYOND_KM),
)

#: Columns of the geocoded services table, in order (a contract other parts rely on).
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
    "status",
    "reason",
)

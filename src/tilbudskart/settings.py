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

"""Shared fixtures: the real shared data (TILBUDSKART_DATA_DIR) and one national build."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tilbudskart import geocode, network, pipeline, registry, settings

REPO_ROOT = Path(__file__).resolve().parents[1]

TEST_DATA = Path(__file__).parent / "data"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(settings.DATA_DIR_ENV):
        shared = REPO_ROOT.parent / "shared" / "data"
        if shared.is_dir():
            os.environ[settings.DATA_DIR_ENV] = str(shared)
    # Built datasets are cached in a folder of this run only (the app and the browser
    # test's server share it), never in the user's cache.
    if settings.BUILD_CACHE_ENV not in os.environ:
        import tempfile

        os.environ[settings.BUILD_CACHE_ENV] = tempfile.mkdtemp(prefix="tilbudskart-cache-")
    # The registry store (published lists) of this run only: empty, so the 2007 rows are
    # in force unless a test publishes; never the user's own store.
    import tempfile

    os.environ["TILBUDSKART_STATE_DIR"] = tempfile.mkdtemp(prefix="tilbudskart-state-")
    os.environ.pop("TILBUDSKART_DATABASE_URL", None)
    # The app's planning warm-up builds "all groups" only (every organisation's would cost
    # the suite half a minute of a core; the answers are the same either way).
    os.environ.setdefault("TILBUDSKART_PLANNING_WARM", "default")


@pytest.fixture(scope="session")
def gazetteer() -> geocode.Gazetteer:
    return geocode.Gazetteer.from_data()


@pytest.fixture(scope="session")
def registry_table() -> pd.DataFrame:
    return registry.load_registry()


@pytest.fixture(scope="session")
def road_network() -> network.RoadNetwork:
    return network.national_network()


@pytest.fixture(scope="session")
def dataset(road_network: network.RoadNetwork) -> pipeline.Dataset:
    return pipeline.build_dataset(road_network=road_network)


@pytest.fixture(scope="session")
def services(dataset: pipeline.Dataset) -> pd.DataFrame:
    return dataset.services


@pytest.fixture(scope="session")
def kommuner(dataset: pipeline.Dataset) -> pd.DataFrame:
    return dataset.kommuner.set_index("kommunenummer")


@pytest.fixture
def registry_csv(tmp_path: Path):
    """Write registry rows (dicts) to a CSV file with all registry columns; return its path."""

    def write(rows: list[dict[str, str]], name: str = "list.csv") -> Path:
        base = {c: "" for c in registry.REGISTRY_COLUMNS}
        base.update(organisation="lms", kind="self_help", source="test", year="2007")
        frame = pd.DataFrame([{**base, "id": f"t-{i}", "name": f"T{i}", **row}
                              for i, row in enumerate(rows)])
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return write


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_streamlit(script: str, port: int, env: dict[str, str], *flags: str,
                    timeout: float = 120) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``streamlit run script`` on loopback and wait until it answers its health check.

    Fails the test (with the server's last output) if it does not answer in ``timeout``.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / script),
         "--server.port", str(port), *flags],
        cwd=REPO_ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("streamlit did not start: " + process.communicate()[0].decode()[-2000:])


# -- the registry store: SQLite always, PostgreSQL where .ci/run started one ------------

#: Environment variable naming a PostgreSQL server for the store's tests (.ci/run sets it).
TEST_DATABASE_URL_ENV = "TILBUDSKART_TEST_DATABASE_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty store's URL: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'registry.sqlite3'}"
        return
    server = os.environ.get(TEST_DATABASE_URL_ENV)
    if not server:
        pytest.skip(f"PostgreSQL not started ({TEST_DATABASE_URL_ENV} is not set; .ci/run "
                    f"starts a throw-away cluster)")
    import uuid

    import sqlalchemy as sa

    admin_url = sa.make_url(_psycopg(server))
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        pytest.skip(f"PostgreSQL at {admin_url.render_as_string()} cannot be reached: "
                    f"{str(error.orig).strip().splitlines()[0]}")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@pytest.fixture(autouse=True)
def _fresh_key_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no wrong steward keys counted."""
    from tilbudskart.store import keys

    monkeypatch.setattr(keys, "ATTEMPTS", keys.Attempts())

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

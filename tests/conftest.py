"""Shared fixtures: the real shared data (TILBUDSKART_DATA_DIR) and one national build."""

from __future__ import annotations

import os
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

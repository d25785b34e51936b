from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tilbudskart import datasources, settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_manifest_names_every_file_with_checksum_and_source():
    manifest = datasources.manifest()
    assert {"kommuner_2024_M.geojson", "postnummer_2026.csv", "stedsnavn.csv",
            "kommunenummer_1994_2024.csv", "befolkning_rutenett_1km_2019.csv"} <= set(manifest)
    for entry in manifest.values():
        assert len(entry.sha256) == 64
        assert entry.source and entry.licence and entry.attribution


def test_no_shared_data_file_is_committed_to_the_repo():
    for name in datasources.manifest():
        assert not list(REPO_ROOT.glob(f"**/{name}")), name


def test_kommuner_are_357_with_four_character_numbers():
    kommuner = datasources.read_kommuner("S")
    assert len(kommuner) == 357
    assert kommuner["kommunenummer"].str.fullmatch(r"\d{4}").all()
    assert "0301" in set(kommuner["kommunenummer"])
    assert kommuner.crs.to_epsg() == 4326


def test_population_table_types_and_total():
    population = datasources.read_population()
    assert len(population) == 357
    assert population["folkemengde"].dtype == "int64"
    assert population["folkemengde"].sum() == 5_550_203  # SSB's national total, 1 Jan 2024
    assert population.set_index("kommunenummer").at["0301", "folkemengde"] == 717_710


def test_postcodes_keep_leading_zeros():
    postcodes = datasources.read_postcodes()
    assert postcodes["postnummer"].str.fullmatch(r"\d{4}").all()
    assert "0010" in set(postcodes["postnummer"])


def test_grid_250m_centres_match_the_1km_grid_in_extent():
    fine = datasources.read_population_grid("250m")
    coarse = datasources.read_population_grid("1km")
    assert abs(fine["befolkning"].sum() - coarse["befolkning"].sum()) < 1000
    def centre(grid, axis):
        return (grid[axis] * grid["befolkning"]).sum() / grid["befolkning"].sum()

    for axis in ("x", "y"):  # population centres agree within a few hundred metres
        assert abs(centre(fine, axis) - centre(coarse, axis)) < 500
    assert (fine["x"] % 250 == 125).all()


def _copy_data(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in names:
        shutil.copy(datasources.data_path(name), folder / name)
    return folder


def test_missing_file_is_a_clear_error(tmp_path, monkeypatch):
    folder = _copy_data(tmp_path, [])
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(folder))
    with pytest.raises(datasources.DataError, match=r"kommunesentre_2024\.csv is missing"):
        datasources.read_admin_centres()


def test_altered_file_is_a_clear_error(tmp_path, monkeypatch):
    folder = _copy_data(tmp_path, ["kommunesentre_2024.csv"])
    with (folder / "kommunesentre_2024.csv").open("a", encoding="utf-8") as handle:
        handle.write("9999,Nowhere,Nowhere,60,10,x,1,y,\n")
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(folder))
    with pytest.raises(datasources.DataError, match="has been altered") as error:
        datasources.read_admin_centres()
    assert "kommunesentre_2024.csv" in str(error.value)
    assert "Restore the original file" in str(error.value)


def test_missing_data_folder_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(datasources.DataError, match=settings.DATA_DIR_ENV):
        datasources.data_dir()


def test_attributions_cover_every_licensor():
    text = " ".join(datasources.attributions())
    for name in ("Kartverket", "Statistisk sentralbyrå", "Erik Bolstad", "GeoNames",
                 "www.erikbolstad.no/postnummer/"):
        assert name in text


def test_a_plain_install_runs_from_any_folder(tmp_path):
    # Not editable: the registry, lookups and manifest must travel inside the package.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target),
                    str(REPO_ROOT)], check=True, capture_output=True, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = Path(os.environ[settings.DATA_DIR_ENV]).resolve()
    env = {**os.environ, "PYTHONPATH": str(target), settings.DATA_DIR_ENV: str(data)}
    result = subprocess.run([sys.executable, "-m", "tilbudskart.cli", "nearest", "3840",
                             "-n", "1"], capture_output=True, text=True, cwd=elsewhere,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "Seljord" in result.stdout and "km" in result.stdout
    installed = subprocess.run([sys.executable, "-c", "import tilbudskart; print("
                                "tilbudskart.__file__)"], capture_output=True, text=True,
                               cwd=elsewhere, env=env, check=True).stdout
    assert installed.startswith(str(target))


def test_ullensvang_is_measured_from_odda():
    centres = datasources.read_admin_centres().set_index("kommunenummer")
    ullensvang = centres.loc["4618"]
    assert ullensvang["administrasjonssenter"] == "Odda"
    assert ullensvang["lat"] == pytest.approx(60.069, abs=0.01)
    assert ullensvang["kilde"].startswith("override: ")
    assert centres.loc["4601", "administrasjonssenter"] == "Bergen"  # the rest untouched


def test_a_stale_override_is_a_clear_error(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("kommunenummer,kommunenavn,administrasjonssenter,lat,lon,replaces,source\n"
                    "4618,Ullensvang,Odda,60.07,6.55,Lofthus,a decision\n", encoding="utf-8")
    frame = pd.DataFrame({"kommunenummer": ["4618"], "administrasjonssenter": ["Kinsarvik"],
                          "lat": [60.4], "lon": [6.7], "kilde": ["geonames"],
                          "presisjon": ["stedspunkt"]})
    with pytest.raises(datasources.DataError, match=r"row 1, field 'replaces'.*Kinsarvik"):
        datasources.apply_admin_centre_overrides(frame, path)
    path.write_text("kommunenummer,kommunenavn,administrasjonssenter,lat,lon,replaces,source\n"
                    "4618,Ullensvang,Odda,60.07,6.55,Kinsarvik,\n", encoding="utf-8")
    with pytest.raises(datasources.DataError, match="row 1, field 'source'"):
        datasources.apply_admin_centre_overrides(frame, path)

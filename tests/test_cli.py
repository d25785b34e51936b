from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from tilbudskart import cli, pipeline, settings


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    assert cli.main(["build", "--out", str(out)]) == 0
    return out


def test_build_writes_all_outputs(built, capsys):
    for name in pipeline.OUTPUT_FILES:
        assert (built / name).is_file(), name
    services = pd.read_csv(built / "services.csv", dtype={"kommunenummer": str})
    kommuner = pd.read_csv(built / "kommuner.csv", dtype={"kommunenummer": str})
    assert set(settings.SERVICE_COLUMNS) <= set(services.columns)
    assert len(kommuner) == 357 and kommuner["kommunenummer"].str.len().eq(4).all()
    unresolved = pd.read_csv(built / "unresolved.csv")
    assert len(unresolved) == (services["status"] == "unresolved").sum() > 0
    layers = {name for name, _ in pyogrio.list_layers(built / "tilbudskart.gpkg")}
    assert layers == {"services", "kommuner"}
    assert not list(built.glob(".tilbudskart-*")), "staging folder left behind"


def test_two_builds_are_byte_identical(built, tmp_path):
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    for name in ("services.csv", "kommuner.csv", "unresolved.csv"):
        assert (built / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_failed_build_leaves_previous_outputs_untouched(built, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES}

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(pd.DataFrame, "to_file", broken, raising=False)
    monkeypatch.setattr(pipeline.gpd.GeoDataFrame, "to_file", broken)
    with pytest.raises(OSError, match="simulated"):
        cli.main(["build", "--out", str(out)])
    assert {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES} == before
    assert not list(out.glob(".tilbudskart-*"))


def test_bad_import_fails_cleanly_naming_file_row_field(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,organisation,place\nOk,lms,Oslo\nFeil,nope,Oslo\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 3" in err and "'organisation'" in err
    assert not out.exists() or not any(out.iterdir())


def test_import_adds_a_group_that_changes_the_nearest(tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text("name,organisation,place,county\nSeljord pårørendegruppe,lms,Seljord,"
                    "Telemark\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(mine)]) == 0
    kommuner = pd.read_csv(out / "kommuner.csv", dtype={"kommunenummer": str})
    seljord = kommuner.set_index("kommunenummer").loc["4022"]
    assert seljord["groups_in_kommune"] == 1 and seljord["nearest_group_km"] < 1


def test_nearest_json(capsys):
    assert cli.main(["nearest", "Alta", "--json", "-n", "2"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["results"][0]["kommunenavn"] == "Tromsø"
    assert payload["results"][0]["distance_km"] > 100
    assert len(payload["results"]) == 2


def test_nearest_filters_by_organisation(capsys):
    assert cli.main(["nearest", "3840", "--org", "lms", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "Grenland" in out and "lms" in out


def test_nearest_ambiguous_and_unknown(capsys):
    assert cli.main(["nearest", "Os"]) == 2
    assert "Bjørnafjorden" in capsys.readouterr().err
    assert cli.main(["nearest", "Qwxyzby"]) == 2
    assert "Not found" in capsys.readouterr().err


def test_gaps_lists_the_farthest_kommuner(capsys):
    assert cli.main(["gaps", "--top", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6
    kms = [float(re.search(r"(\d+\.\d)  ", line).group(1)) for line in lines[1:]]
    assert kms == sorted(kms, reverse=True) and kms[0] > 300


def test_gaps_by_travel_time(capsys, kommuner):
    assert cli.main(["gaps", "--top", "3", "--by", "min"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    minutes = [float(re.search(r"(\d+\.\d)  ", line).group(1)) for line in out[1:4]]
    assert minutes[0] == pytest.approx(kommuner["drive_min"].max(), abs=0.05)
    assert minutes == sorted(minutes, reverse=True)
    # Kommuner without a route would be named on a last line; today every centre has one.
    assert len(out) == 4 and not any(line.startswith("No route") for line in out)

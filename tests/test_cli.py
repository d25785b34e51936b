from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

import tilbudskart
from tilbudskart import cli, cli_commands, outputs, pipeline, settings


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
    assert [p.name for p in (built / outputs.BUILDS).iterdir() if p.is_dir()] == [
        outputs.current_build(built).name]
    assert all((built / name).is_symlink() for name in pipeline.OUTPUT_FILES)


def test_two_builds_are_byte_identical(built, tmp_path):
    assert cli.main(["build", "--out", str(tmp_path)]) == 0
    for name in ("services.csv", "kommuner.csv", "unresolved.csv"):
        assert (built / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_failed_build_leaves_previous_outputs_untouched(built, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES}
    calls = []

    def broken(frame, path, *args, **kwargs):
        # The GeoPackage is half written when the disk fills up.
        calls.append(Path(path))
        Path(path).write_bytes(b"SQLite format 3\x00truncated")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(pipeline.gpd.GeoDataFrame, "to_file", broken)
    capsys.readouterr()
    assert cli.main(["build", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == "error: OSError: disk full (simulated)\n"  # one line, no traceback
    assert len(calls) == 1 and calls[0].name == "tilbudskart.gpkg"
    assert calls[0].parent.parent == out / outputs.BUILDS  # written into a build folder
    assert not calls[0].parent.exists()  # which the failure removed
    assert {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES} == before
    builds = [p for p in (out / outputs.BUILDS).iterdir() if p.is_dir()]
    assert builds == [outputs.current_build(out)]


def test_build_removes_what_a_killed_build_left(built, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out)]) == 0
    stale = out / outputs.BUILDS / "20200101T000000Z-1-dead"
    legacy = out / ".tilbudskart-k1ll3d"
    for folder in (stale, legacy):
        folder.mkdir()
        (folder / "tilbudskart.gpkg").write_bytes(b"SQLite format 3\x00trunc")
    assert cli.main(["build", "--out", str(out)]) == 0
    assert not stale.exists() and not legacy.exists()
    for name in ("services.csv", "kommuner.csv", "unresolved.csv"):
        assert (out / name).read_bytes() == (built / name).read_bytes(), name


def test_bad_import_fails_cleanly_naming_file_row_field(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,organisation,place\nOk,lms,Oslo\nFeil,nope,Oslo\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(bad), "--strict"]) == 1
    err = capsys.readouterr().err
    assert "bad.csv" in err and "row 3" in err and "'organisation'" in err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_bad_import_row_is_reported_and_the_rest_used(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,organisation,place\nOk,lms,Oslo\nFeil,nope,Oslo\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(bad)]) == 0
    printed = capsys.readouterr().out
    assert "bad.csv, row 3, field 'organisation' 'nope': unknown organisation" in printed
    report = pd.read_csv(out / "import_report.csv", encoding="utf-8-sig")
    assert report[["file", "row", "field", "severity"]].values.tolist() == [
        ["bad.csv", 3, "organisation", "error"]]
    assert report.loc[0, "problem_nb"].startswith("ukjent organisasjon")
    services = pd.read_csv(out / "services.csv", dtype=str, keep_default_na=False)
    assert list(services.loc[services["source"].str.startswith("import:"), "name"]) == ["Ok"]


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
    err = capsys.readouterr().err
    assert "Not found" in err and "Mente du" not in err


def test_nearest_suggests_what_a_typo_meant(capsys):
    assert cli.main(["nearest", "Kautokiino"]) == 2
    err = capsys.readouterr().err
    assert "Not found" in err
    assert "Did you mean (Mente du): Kautokeino" in err


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


# -- Svalbard, Jan Mayen, institutions, street addresses -----------------------------------


@pytest.mark.parametrize(("query", "territory"), [("9170", "Svalbard"), ("8099", "Jan Mayen")])
def test_nearest_on_svalbard_and_jan_mayen(capsys, query, territory):
    assert cli.main(["nearest", query, "-n", "2"]) == 0
    out = capsys.readouterr().out
    assert f"Det finnes ingen grupper på {territory} i registeret" in out
    assert "nærmeste på fastlandet er" in out
    assert "08588" in out  # the national phone lines follow
    kms = [float(k) for k in re.findall(r"^\s+(\d+\.\d) km", out, flags=re.M)]
    assert len(kms) == 2 and all(900 < km < 1100 for km in kms)  # Tromsø/Lofoten, not 0


def test_nearest_json_says_territory_and_notes(capsys):
    assert cli.main(["nearest", "Longyearbyen", "--json", "-n", "1"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["territory"] == "Svalbard"
    assert payload["results"][0]["kommunenavn"] == "Tromsø"
    assert any("fastlandet" in note for note in payload["notes"])
    assert {"name": "Rusinfo (tidligere RUStelefonen)", "phone": "08588"} in payload[
        "national_lines"]


def test_nearest_institutions(capsys):
    assert cli.main(["nearest", "3840", "--org", "institution", "-n", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 3
    assert {r["organisation"] for r in results} == {"institution"}
    assert [r["distance_km"] for r in results] == sorted(r["distance_km"] for r in results)


def test_nearest_says_the_street_was_not_used(capsys):
    assert cli.main(["nearest", "Storgata 1, Tysnes", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "Fant Tysnes; gateadresser kan ikke slås opp" in out and "«Storgata 1»" in out


# -- argument checks, errors, terminal safety ------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["nearest", "3840", "-n", "-5"], "argument -n: must be from 1 to 50, not -5"),
    (["nearest", "3840", "-n", "0"], "argument -n: must be from 1 to 50, not 0"),
    (["nearest", "3840", "-n", "51"], "argument -n: must be from 1 to 50, not 51"),
    (["nearest", "3840", "-n", "fem"], "argument -n: 'fem' is not a whole number"),
    (["gaps", "--top", "-350"], "argument --top: must be from 1 to 357, not -350"),
    (["gaps", "--top", "358"], "argument --top: must be from 1 to 357, not 358"),
    (["build", "--out", "/dev/null"], "output folder /dev/null is not a folder"),
    (["build", "--out", "/proc/tilbudskart"], "cannot write to /proc"),
    (["build", "--out", "out", "--import", "/no/such.csv"], "/no/such.csv is not a file"),
])
def test_bad_arguments_exit_2_with_a_message_before_any_work(argv, message, capsys,
                                                             monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("computed before the arguments were checked")

    monkeypatch.setattr(cli, "build_dataset", forbidden)  # nearest --import
    monkeypatch.setattr(cli_commands, "build_dataset", forbidden)  # build
    monkeypatch.setattr(cli.geocode.Gazetteer, "from_data", forbidden)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_build_onto_a_file_or_below_one(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    assert cli.main(["build", "--out", str(afile)]) == 2
    assert cli.main(["build", "--out", str(afile / "sub")]) == 2
    err = capsys.readouterr().err
    assert "is not a folder" in err and "is a file" in err
    assert afile.read_text() == "keep me"


def test_unexpected_error_is_one_line_and_traceback_only_with_vv(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli.geocode.Gazetteer, "from_data", boom)
    assert cli.main(["nearest", "3840"]) == 1
    assert capsys.readouterr().err == "error: RuntimeError: boom second line\n"
    assert cli.main(["-vv", "nearest", "3840"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.endswith("error: RuntimeError: boom second line\n")


@pytest.mark.parametrize(("argv", "level"), [
    ([], logging.WARNING), (["-v"], logging.INFO), (["-vv"], logging.DEBUG),
    (["-q"], logging.ERROR), (["-v", "sub-v"], logging.INFO), (["sub-vv"], logging.DEBUG),
    (["sub-q"], logging.ERROR),
])
def test_verbosity_flags_set_the_log_level(argv, level, monkeypatch):
    seen = []

    def nearest(args):
        logging.getLogger("tilbudskart.geocode").info("searching")
        seen.append(logging.getLogger("tilbudskart.geocode").getEffectiveLevel())
        return 0

    monkeypatch.setattr(cli, "_cmd_nearest", nearest)
    before = [a for a in argv if not a.startswith("sub")]
    after = [a[3:] for a in argv if a.startswith("sub")]
    package = logging.getLogger("tilbudskart")
    initial = package.level
    assert cli.main([*before, "nearest", "Qwxyzby", *after]) == 0
    assert seen == [level]
    assert package.level == initial  # restored


def test_long_query_is_not_echoed_in_full(capsys):
    assert cli.main(["nearest", "å" * 100_000]) == 2
    captured = capsys.readouterr()
    assert len(captured.out) + len(captured.err) < 500
    assert cli.main(["nearest", "x," * 50_000, "--json"]) == 2
    captured = capsys.readouterr()
    assert len(captured.out) + len(captured.err) < 500


def test_terminal_escapes_never_reach_the_terminal(monkeypatch, capsys):
    evil = "\x1b[31mRØD\x1b[0m \x1b]0;tittel\x07\x9b2J\u202eesrever\r"
    real = cli.geocode.geocode_services

    def with_evil_name(*args, **kwargs):
        services = real(*args, **kwargs)
        services.loc[services["kommunenavn"] == "Tromsø", "name"] = evil
        return services

    monkeypatch.setattr(cli.geocode, "geocode_services", with_evil_name)
    assert cli.main(["nearest", "Alta\x1b[2J\u200b", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert "RØD" in out and "esrever" in out
    for char in ("\x1b", "\x9b", "\x07", "\r", "\u202e"):
        assert char not in out
    assert cli.main(["nearest", "Alta", "-n", "3", "--json"]) == 0
    text = capsys.readouterr().out
    assert not any(c in text for c in ("\x1b", "\x9b", "\x07", "\r", "\u202e"))
    names = [r["name"] for r in json.loads(text)["results"]]
    assert evil in names  # JSON keeps the data exact, escaped


def test_terminal_safe_keeps_text_and_newlines():
    assert cli.terminal_safe("Bø i Telemark\n\tÅs") == "Bø i Telemark\n\tÅs"
    assert cli.terminal_safe("a\x1b[1;31mb\x1b[0mc\x00d\ud800e") == "abcde"


def test_closed_pipe_ends_quietly(tmp_path):
    # `tilbudskart nearest 3840 | head -0`: the reader has gone before anything is written.
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "PYTHONPATH": str(Path(tilbudskart.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-m", "tilbudskart.cli", "nearest", "3840"],
                            stdout=write, stderr=subprocess.PIPE, env=env, timeout=120)
    os.close(write)
    assert result.returncode == 141 and result.stderr == b""


@pytest.mark.parametrize("argv", [
    ["nearest", "3840", "--org", "\x1b[31m" + "x" * 100_000],
    ["nearest", "3840", "y" * 100_000],
    ["gaps", "--by", "z" * 100_000],
])
def test_argument_errors_are_short_and_terminal_safe(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err) < 2000 and "\x1b" not in err and "error: " in err


# -- imported lists (issue 12) --------------------------------------------------------------


def test_two_lists_without_ids_and_an_organisation_chosen(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.xlsx"
    a.write_bytes("Navn;Sted;Fylke\nPårørende Seljord;Seljord;Telemark\n".encode("cp1252"))
    pd.DataFrame({"navn": ["Dovre-gruppa"], "sted": ["Dovre"]}).to_excel(b, index=False)
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(a), "--import", str(b),
                     "--organisation", "lms"]) == 0
    printed = capsys.readouterr().out
    assert "a.csv: CSV, encoding Windows-1252, separator ';' (detected)" in printed
    assert "b.xlsx: Excel workbook (.xlsx)" in printed
    services = pd.read_csv(out / "services.csv", dtype=str, keep_default_na=False)
    imported = services[services["source"].str.startswith("import:")]
    assert list(imported["name"]) == ["Pårørende Seljord", "Dovre-gruppa"]
    assert imported["id"].is_unique and imported["organisation"].eq("lms").all()
    assert set(imported["kommunenavn"]) == {"Seljord", "Dovre"}


@pytest.mark.parametrize("content", [b"", b"navn,organisasjon,sted\n", b"\x00\x01garbage"])
def test_an_unreadable_list_leaves_earlier_outputs_untouched(built, tmp_path, capsys, content):
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out)]) == 0
    before = {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES}
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    capsys.readouterr()
    assert cli.main(["build", "--out", str(out), "--import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: bad.csv: ") and err.count("\n") == 1
    assert {name: (out / name).read_bytes() for name in pipeline.OUTPUT_FILES} == before


def test_a_folder_as_list_is_refused(tmp_path, capsys):
    assert cli.main(["build", "--out", str(tmp_path / "out"), "--import", str(tmp_path)]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_formulas_from_a_list_are_neutralised_in_every_csv(tmp_path, capsys):
    mine = tmp_path / "mine.csv"
    mine.write_text('name,organisation,place\n"=HYPERLINK(""http://x"",""y"")",lms,Alta\n'
                    "+cmd,al_anon,Alta\n@SUM(1),lms,Xyzzy\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["build", "--out", str(out), "--import", str(mine)]) == 0
    for name in ("services.csv", "kommuner.csv", "unresolved.csv", "import_report.csv"):
        table = pd.read_csv(out / name, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig")
        cells = table.to_numpy().ravel()
        assert not any(c.startswith(("=", "+", "@")) for c in cells), name
    services = pd.read_csv(out / "services.csv", dtype=str, keep_default_na=False)
    assert "'=HYPERLINK(\"http://x\",\"y\")" in set(services["name"])
    kommuner = pd.read_csv(out / "kommuner.csv", dtype=str, keep_default_na=False)
    assert kommuner["nearest_group"].str.startswith("'").any()
    assert pd.to_numeric(kommuner["nearest_group_km"]).ge(0).all()  # numbers stay numbers


def test_compare_prints_then_and_now(tmp_path, capsys):
    mine = tmp_path / "lms.csv"
    mine.write_text("navn,organisasjon,sted\nDrøbak,LMS,Drøbak\nNy,LMS,Seljord\n",
                    encoding="utf-8")
    out = tmp_path / "cmp"
    assert cli.main(["compare", "2007", str(mine), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "  lms                  1      0    42     1" in printed
    assert "new    lms              Ny (Seljord)" in printed
    groups = pd.read_csv(out / "compare_groups.csv", dtype=str, keep_default_na=False)
    assert groups["change"].value_counts().to_dict() == {"gone": 42, "same": 1, "new": 1}
    coverage = pd.read_csv(out / "compare_coverage.csv")
    assert set(coverage["organisation"]) == {"lms", "all"}
    assert cli.main(["compare", str(mine), "2007"]) == 2


def test_every_output_names_its_build(built):
    ident = (built / "BUILD").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"[0-9a-f]{16}", ident)
    assert (built / outputs.CURRENT / "BUILD").read_text(encoding="utf-8").strip() == ident
    for name in ("services.csv", "kommuner.csv", "unresolved.csv", "import_report.csv",
                 "travel_anomalies.csv"):
        frame = pd.read_csv(built / name, dtype=str, encoding="utf-8-sig")
        assert frame.columns[-1] == "build_id" and set(frame["build_id"]) <= {ident}, name
    for layer in ("services", "kommuner"):
        frame = pyogrio.read_dataframe(built / "tilbudskart.gpkg", layer=layer,
                                       read_geometry=False)
        assert set(frame["build_id"]) == {ident}, layer


def test_table_writes_xlsx_csv_and_gpkg(tmp_path, capsys):
    import io

    import openpyxl

    out = tmp_path / "seljord.xlsx"
    assert cli.main(["table", "--format", "xlsx", "--org", "al_anon", "--measure", "min",
                     "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    sheet = book["Kommuner"]
    assert sheet["A1"].value == "Kommunenr." and isinstance(sheet["D2"].value, int)
    # The second sheet says how old each organisation's list is (issue 21).
    about = {str(row[1]) for row in book["Om tabellen"].iter_rows(values_only=True)
             if row[0] == "Listene"}
    assert any(line.startswith("LMS") and "2007" in line for line in about), about
    # A folder: the file name carries organisation and measure.
    assert cli.main(["table", "--format", "csv", "--fylke", "Telemark",
                     "--out", str(tmp_path)]) == 0
    written = tmp_path / "tilbudskart_kommuner_alle-grupper_km.csv"
    frame = pd.read_csv(io.BytesIO(written.read_bytes()), sep=";", decimal=",",
                        encoding="utf-8-sig", dtype={"Kommunenr.": str})
    assert set(frame["Fylke"]) == {"Telemark"} and "Seljord" in set(frame["Kommune"])
    assert cli.main(["table", "--format", "gpkg", "--org", "lms",
                     "--out", str(tmp_path)]) == 0
    gpkg = tmp_path / "tilbudskart_kommuner_lms_km.gpkg"
    assert "Nærmeste gruppe" in pyogrio.read_dataframe(gpkg, layer="kommuner").columns
    assert cli.main(["table", "--format", "csv", "--fylke", "Atlantis",
                     "--out", str(tmp_path)]) == 2
    assert "unknown fylke 'Atlantis'" in capsys.readouterr().err
    assert cli.main(["table", "--format", "xls", "--out", str(tmp_path)]) == 2

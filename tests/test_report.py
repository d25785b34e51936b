"""Kommune reports and map images: every figure on the page equals the kommune table."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from tilbudskart import access, cli, datasources, network, pipeline, planning, report, settings
from tilbudskart.views import language
from tilbudskart.views.text import figure

ARTIFACTS = Path(__file__).parent / "artifacts"
PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture(scope="module")
def grid() -> pd.DataFrame:
    return access.grid_points(datasources.read_population_grid("1km"))


@pytest.fixture(scope="module")
def data(dataset: pipeline.Dataset, grid: pd.DataFrame,
         road_network: network.RoadNetwork) -> report.ReportData:
    return report.ReportData.from_tables(dataset.kommuner, dataset.services, grid,
                                         pipeline.read_national_lines(),
                                         road_network=road_network)


@pytest.fixture(scope="module")
def pdfs(data: report.ReportData) -> dict[str, bytes]:
    """Seljord's, Karasjok's and Kautokeino's reports; saved with page images to look at."""
    rendered = {n: report.kommune_report(data, n) for n in ("4022", "5610", "5612")}
    ARTIFACTS.mkdir(exist_ok=True)
    for number, content in rendered.items():
        path = ARTIFACTS / f"report_{number}.pdf"
        path.write_bytes(content)
        if shutil.which("pdftoppm"):
            subprocess.run(["pdftoppm", "-r", "80", "-png", str(path),
                            str(ARTIFACTS / f"report_{number}")], check=True)
    return rendered


def text_of(content: bytes) -> str:
    """The PDF's text, laid out as on the page, whitespace (and no-break spaces) collapsed."""
    if PDFTOTEXT:
        text = subprocess.run([PDFTOTEXT, "-layout", "-", "-"], input=content,
                              capture_output=True, check=True).stdout.decode("utf-8")
    else:  # pragma: no cover - poppler-utils is in the Debian image
        from pypdf import PdfReader

        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split()).replace(" %", "%")


def same(text: str) -> str:
    """A figure as the report prints it, spaces made plain (as :func:`text_of`)."""
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split()).replace(" %", "%")


@pytest.mark.parametrize("number", ["4022", "5610"])
def test_report_figures_equal_the_kommune_table(pdfs: dict[str, bytes],
                                                kommuner: pd.DataFrame, number: str) -> None:
    text = text_of(pdfs[number])
    row = kommuner.loc[number]
    written = language.kommune_language(number)  # Seljord nynorsk, Karasjok bokmål
    assert written == {"4022": "nn", "5610": "nb"}[number]
    people = {"nb": "innbyggere", "nn": "innbyggjarar"}[written]
    assert f"Kommunenummer {number}" in text
    assert same(f"{language.official_name(row['fylkesnavn'])} · "
                f"{figure(row['folkemengde'])} {people}") in text
    assert {"nb": "Registeret over tilbud er fra 2007",
            "nn": "Registeret over tilbod er frå 2007"}[written] in text
    # Per organisation: distance in a line, then drive time, as in the table.
    for organisation in [*settings.SELF_HELP_ORGANISATIONS, "institution"]:
        km = report._km(row[settings.km_column(organisation)])
        drive = report._drive(row[settings.minutes_column(organisation)], written)
        assert same(f"{km} {drive}") in text, organisation
    # People beyond each threshold: count, share, rank among 357, national median.
    for column, label in report._columns(written).items():
        values = kommuner[column]
        rank = int(values.rank(method="min", ascending=False)[number])
        place = report.rank_text(rank, bool(values.duplicated(keep=False)[number]),
                                 int(row[column]), written)
        share = report._share(row[column] / row["folkemengde"])
        expected = (f"{ {'nb': 'Bor', 'nn': 'Bur'}[written]} {label} {figure(row[column])} "
                    f"{share} {place} {figure(values.median())}")
        assert same(expected) in text, expected
    assert same(f"{row['nearest_group']} i {row['nearest_group_kommune']}, "
                f"{report._km(row['nearest_group_km'])} "
                f"{ {'nb': 'fra', 'nn': 'frå'}[written]} {row['admin_centre']}") in text
    for phone in ("08588", "815 00 205", "800 40 567", "113"):
        assert phone in text
    for source in ("Kartverket", "Statistisk sentralbyrå", "Erik Bolstad", "GeoNames",
                   "ISF", "CC BY 4.0"):
        assert source in text


def test_facts_are_the_table_and_the_named_groups_are_at_that_distance(
        data: report.ReportData, kommuner: pd.DataFrame) -> None:
    facts = report.kommune_facts(data, "4022")
    organisations = facts["organisations"].set_index("organisation")
    row = kommuner.loc["4022"]
    for organisation, g in organisations.iterrows():
        assert g["km"] == row[settings.km_column(organisation)]
        assert g["drive_min"] == row[settings.minutes_column(organisation)]
        named = access.geodesic_km(np.array(row["admin_lat"]), np.array(row["admin_lon"]),
                                   np.array(g["lat"]), np.array(g["lon"]))
        assert float(named) == pytest.approx(g["km"], abs=1e-6)
    # Seljord's nearest LMS group in a line is Grenland (Skien), as in the report's ch. 10.
    assert organisations.loc["lms", "group"] == "Grenland"


def test_best_site_reaches_what_planning_says(data: report.ReportData,
                                              dataset: pipeline.Dataset,
                                              grid: pd.DataFrame) -> None:
    ranked = planning.rank_new_sites(dataset.kommuner, grid, dataset.services, radius_km=50)
    reach = ranked.set_index("kommunenummer")["reach"]
    # The reach matrix adds up to planning's reach for every candidate.
    assert (data.reach_by_kommune.sum(axis=0) == reach.loc[data.kommuner.index]).all()
    for number in ("4022", "5610"):
        site = report.best_site(data, number)
        assert site is not None
        assert site["reach"] == reach[site["kommunenummer"]]
        # It serves the kommune: at least half of its people now beyond 50 km.
        assert site["reach_here"] >= 0.5 * site["uncovered_here"] > 0
    # Oslo has everyone within 50 km of a group: no site is suggested.
    assert report.best_site(data, "0301") is None


def test_sami_letters_survive(pdfs: dict[str, bytes]) -> None:
    karasjok, kautokeino = text_of(pdfs["5610"]), text_of(pdfs["5612"])
    # Parallel names as officially written, with an en dash.
    assert "Kárášjohka – Karasjok" in karasjok
    assert "Finnmark – Finnmárku – Finmarkku" in karasjok
    assert "Guovdageaidnu – Kautokeino" in kautokeino
    assert "æ" in karasjok and "ø" in karasjok and "å" in karasjok


def test_reports_are_byte_stable_and_two_pages(data: report.ReportData,
                                               pdfs: dict[str, bytes]) -> None:
    from pypdf import PdfReader

    assert report.kommune_report(data, "4022") == pdfs["4022"]
    for content in pdfs.values():
        assert content.startswith(b"%PDF")
        assert b"CreationDate" not in content
        pages = PdfReader(io.BytesIO(content)).pages
        assert len(pages) == 2
        assert [round(float(v)) for v in pages[0].mediabox[2:]] == [595, 842]  # A4 points


def test_coverage_image_png_and_svg(data: report.ReportData,
                                    kommuner: pd.DataFrame) -> None:
    polygons = datasources.read_kommuner("S")
    png = report.coverage_image(polygons, kommuner, "min", "lms", "png")
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (1080, 1920)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "norge_min_lms.png").write_bytes(png)
    svg = report.coverage_image(polygons, kommuner, "km", None, "svg")
    assert svg.startswith(b"<?xml")
    assert re.search(rb'viewBox="0 0 691\.2 388\.8"', svg)
    assert report.coverage_image(polygons, kommuner, "km", None, "svg") == svg
    with pytest.raises(ValueError, match="organisation"):
        report.coverage_image(polygons, kommuner, "km", "nope", "png")


def test_find_kommune(kommuner: pd.DataFrame, gazetteer) -> None:
    assert report.find_kommune(kommuner, "4022").number == "4022"
    assert report.find_kommune(kommuner, "seljord").number == "4022"
    assert report.find_kommune(kommuner, "Kárášjohka").number == "5610"
    assert report.find_kommune(kommuner, "Guovdageaidnu").number == "5612"
    herøy = report.find_kommune(kommuner, "Herøy")
    assert herøy.number is None and len(herøy.candidates) == 2
    assert report.find_kommune(kommuner, "3840", gazetteer).number == "4022"  # postcode
    assert report.find_kommune(kommuner, "Xyzzy").number is None


def test_cli_report_and_map(data: report.ReportData, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("tilbudskart.cli_commands._report_data", lambda: data)
    out = tmp_path / "seljord.pdf"
    assert cli.main(["report", "Seljord", "--out", str(out)]) == 0
    assert out.read_bytes() == report.kommune_report(data, "4022")
    bokmal = tmp_path / "seljord_nb.pdf"
    assert cli.main(["report", "Seljord", "--målform", "bokmål", "--out", str(bokmal)]) == 0
    assert "Hvor mange bor langt fra" in text_of(bokmal.read_bytes())
    assert cli.main(["report", "Seljord", "--målform", "samisk", "--out", str(bokmal)]) == 2
    assert cli.main(["report", "Herøy", "--out", str(tmp_path / "h.pdf")]) == 2
    err = capsys.readouterr().err
    assert "Herøy (1515, Møre og Romsdal)" in err and "1818" in err
    assert not (tmp_path / "h.pdf").exists()
    assert cli.main(["report", "--fylke", "Finnmark", "--out", str(tmp_path / "f.pdf")]) == 0
    finnmark = text_of((tmp_path / "f.pdf").read_bytes())
    for name in data.kommuner.loc[data.kommuner["fylkesnavn"].str.startswith("Finnmark"),
                                  "kommunenavn"]:
        assert name in finnmark
    assert cli.main(["report", "--out", str(out)]) == 2
    assert cli.main(["map", "--out", str(tmp_path / "norge.gif")]) == 2


def test_write_reports_in_parallel(data: report.ReportData, tmp_path: Path) -> None:
    written = report.write_reports(data, tmp_path, numbers=["4022", "5610", "3301"],
                                   workers=2)
    assert [p.name for p in written] == ["3301_Drammen.pdf", "4022_Seljord.pdf",
                                         "5610_Karasjok.pdf", "index.csv"]
    assert (tmp_path / "4022_Seljord.pdf").read_bytes() == report.kommune_report(data, "4022")
    index = pd.read_csv(tmp_path / "index.csv", dtype=str, encoding="utf-8-sig")
    assert index["fil"].tolist() == [p.name for p in written[:-1]]


def test_seljord_report_is_in_nynorsk_and_alta_in_bokmal(data: report.ReportData,
                                                        pdfs: dict[str, bytes]) -> None:
    seljord = text_of(pdfs["4022"])
    for nynorsk in ("Hjelp for pårørande: kor langt er det?", "Kor mange bur langt frå",
                    "Næraste tilbod per organisasjon", "Slik er tala rekna",
                    "Kjelder og lisensar", "Ring for råd – same kvar du bur", "side 1 av 2",
                    "Andre sjølvhjelpsgrupper"):
        assert nynorsk in seljord, nynorsk
    for bokmal in ("Hvor mange bor", "Kilder og lisenser", "Nærmeste tilbud"):
        assert bokmal not in seljord, bokmal
    alta = text_of(report.kommune_report(data, "5601"))
    assert "Hvor mange bor langt fra en gruppe?" in alta and "Kilder og lisenser" in alta
    assert "Kor mange bur" not in alta
    # An override: Seljord's report in bokmål.
    forced = text_of(report.kommune_report(data, "4022", language="nb"))
    assert "Hvor mange bor langt fra en gruppe?" in forced and "Kor mange" not in forced

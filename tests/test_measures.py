"""How far help is: thresholds and the people beyond them, from one home (measures)."""

from __future__ import annotations

import ast
import contextlib
import itertools
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tilbudskart import access, datasources, measures, network, pipeline, report, settings

SRC = Path(__file__).resolve().parents[1] / "src" / "tilbudskart"


# -- thresholds ---------------------------------------------------------------------------


def test_thresholds_are_derived_from_the_settings():
    assert [t.value for t in measures.BEYOND_KM] == list(settings.BEYOND_KM)
    assert [t.value for t in measures.BEYOND_MINUTES] == list(settings.BEYOND_MINUTES)
    assert measures.FARTHEST_KM.column == settings.beyond_km_column(max(settings.BEYOND_KM))
    assert list(measures.THRESHOLDS) == ["25km", "50km", "45min", "60min", "75min"]
    assert measures.check_threshold("60min") == measures.threshold("min", 60)
    for bad in ("55km", "60 min", measures.threshold("km", 55), None):
        with pytest.raises(ValueError, match="is not offered"):
            measures.check_threshold(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit 'mi'"):
        measures.threshold("mi", 5)
    with pytest.raises(ValueError, match="positive number"):
        measures.threshold("km", 0)


def test_no_literal_threshold_mirrors_are_left():
    # The numbers live in settings only: no module keeps its own copy of "50km", of
    # beyond_km_column(50) or of the old mirror tables.
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = (isinstance(node, ast.Constant) and isinstance(node.value, str)
                       and re.fullmatch(r"\d+(km|min)", node.value)
                       and node.value != "1km")  # the 1 km population grid
            column = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in {"beyond_km_column", "beyond_minutes_column"}
                      and any(isinstance(a, ast.Constant) for a in node.args))
            mirror = isinstance(node, ast.Name | ast.Attribute) and (
                getattr(node, "id", None) or getattr(node, "attr", None)) in {
                "PLAN_THRESHOLDS", "SITE_RADIUS_KM"}
            if literal or column or mirror:
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert found == []


# -- figures --------------------------------------------------------------------------------


def small_grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = pd.DataFrame({"kommunenummer": ["0001", "0001", "0001", "0002"],
                         "befolkning": [10, 20, 30, 0]})
    kommuner = pd.DataFrame({"kommunenummer": ["0001", "0002", "0003"],
                             "folkemengde": [120, 50, 7]}, index=[5, 6, 7])
    return grid, kommuner


def test_figures_scale_the_grid_to_the_kommune_and_fall_back_to_the_centre():
    grid, kommuner = small_grid()
    t10, t30 = measures.threshold("min", 10), measures.threshold("min", 30)
    cost = np.array([5.0, 20.0, np.nan, 3.0])
    centre = np.array([4.0, 40.0, np.nan])
    far = measures.figures(cost, grid, kommuner, [t10, t30], centre=centre)
    assert list(far.index) == [5, 6, 7]
    # 0001: 60 grid people, 120 residents: scale 2; 20 beyond 10 min, 30 not routed.
    assert far.loc[5, t10.column] == 40 and far.loc[5, t30.column] == 0
    assert far.loc[5, "not_routed"] == 60
    assert far.loc[5, "weighted"] == pytest.approx((5 * 10 + 20 * 20) / 30)
    # 0002 has cells but nobody in them, 0003 none: the centre decides for everyone.
    assert far.loc[6, t10.column] == 50 and far.loc[6, t30.column] == 50
    assert far.loc[6, "weighted"] == 40.0 and far.loc[6, "not_routed"] == 0
    assert far.loc[7, t10.column] == 0 and far.loc[7, "not_routed"] == 7
    assert far["nearest"].tolist()[:2] == [4.0, 40.0]
    with pytest.raises(ValueError, match="3 costs for 4 grid cells"):
        measures.figures(cost[:3], grid, kommuner, [t10], centre=centre)


@hypothesis_settings(max_examples=60, deadline=None)
@given(costs=st.lists(st.one_of(st.floats(0, 500), st.just(float("nan"))), min_size=4,
                      max_size=4),
       values=st.lists(st.integers(1, 400), min_size=1, max_size=4, unique=True))
def test_people_beyond_never_grow_with_the_threshold(costs, values):
    grid, kommuner = small_grid()
    thresholds = [measures.threshold("km", v) for v in sorted(values)]
    far = measures.figures(np.array(costs), grid, kommuner, thresholds,
                           centre=np.array([10.0, 60.0, 300.0]))
    columns = [t.column for t in thresholds]
    for nearer, farther in itertools.pairwise(columns):
        assert (far[nearer] >= far[farther]).all()
    everyone = far[columns[0]] + far["not_routed"]
    assert (everyone <= kommuner["folkemengde"]).all()


# -- the whole chain with other thresholds -------------------------------------------------


@contextlib.contextmanager
def thresholds_set(km: tuple[int, ...], minutes: tuple[int, ...]) -> Iterator[None]:
    """Set settings.BEYOND_KM / BEYOND_MINUTES and everything derived from them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "BEYOND_KM", km)
        patch.setattr(settings, "BEYOND_MINUTES", minutes)
        for name, value in settings.column_contracts(km, minutes).items():
            patch.setattr(settings, name, value)
        for name, value in measures.derived(km, minutes, settings.PLANNING_MINUTES).items():
            patch.setattr(measures, name, value)
        yield


@pytest.fixture(scope="module")
def grid() -> pd.DataFrame:
    return access.grid_points(datasources.read_population_grid("1km"))


def pdf_text(content: bytes) -> str:
    pdftotext = shutil.which("pdftotext")
    assert pdftotext, "poppler-utils (pdftotext) is in the Debian image"
    text = subprocess.run([pdftotext, "-layout", "-", "-"], input=content,
                          capture_output=True, check=True).stdout.decode("utf-8")
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


@hypothesis_settings(max_examples=1, deadline=None, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(km=st.lists(st.integers(5, 120), min_size=1, max_size=3, unique=True).map(
           lambda v: tuple(sorted(v))),
       minutes=st.lists(st.integers(15, 240), min_size=1, max_size=3, unique=True).map(
           lambda v: tuple(sorted(v))))
@example(km=(30, 40), minutes=(45, 90))
@example(km=(25, 40), minutes=(60, 120))  # made `report --fylke Finnmark` fail before
def test_other_thresholds_reach_the_table_and_the_reports(
        km, minutes, dataset: pipeline.Dataset, grid: pd.DataFrame,
        road_network: network.RoadNetwork):
    with thresholds_set(km, minutes):
        table = pipeline.kommune_tables(dataset.services, grid, road_network)
        columns = ([settings.beyond_km_column(k) for k in km]
                   + [settings.beyond_minutes_column(m) for m in minutes])
        assert set(columns) <= set(table.columns)
        assert not {"population_beyond_50km", "population_beyond_120min"} & (
            set(table.columns) - set(columns))
        for nearer, farther in itertools.pairwise(columns[:len(km)]):
            assert (table[nearer] >= table[farther]).all()
        data = report.ReportData.from_tables(table, dataset.services, grid,
                                             pipeline.read_national_lines(),
                                             road_network=road_network)
        assert data.radius_km == max(km)
        kommune = pdf_text(report.kommune_report(data, "5610"))  # Karasjok
        for k in km:
            assert f"Bor mer enn {k} km i luftlinje" in kommune
        for m in minutes:
            assert f"Bor mer enn {m} min med bil og ferje" in kommune
        fylke = report.find_fylke(table, "Finnmark")[0]
        summary = pdf_text(report.fylke_report(data, fylke))
        assert f"> {max(km)} km" in summary and f"> {max(minutes)} min" in summary
        assert f"bor mer enn {max(km)} km i luftlinje" in summary

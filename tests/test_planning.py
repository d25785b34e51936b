from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tilbudskart import access, datasources, planning


@pytest.fixture(scope="module")
def grid():
    return access.grid_points(datasources.read_population_grid("1km"))


def test_chord_matches_geodesic_scale():
    assert planning.chord(50) == pytest.approx(50 / 6371.0088, rel=1e-4)


def test_candidate_reach_on_made_up_cells():
    cells = pd.DataFrame({"lat": [60.0, 60.0, 62.0], "lon": [10.0, 10.5, 10.0],
                          "befolkning": [100, 10, 1]})
    reach = planning.candidate_reach(np.array([60.0, 62.0, 70.0]), np.array([10.0, 10.0, 25.0]),
                                     cells, radius_km=30)
    assert list(reach) == [110, 1, 0]


def test_a_site_where_groups_exist_reaches_no_one_new(kommuner, grid, services):
    ranked = planning.rank_new_sites(kommuner.reset_index(), grid, services, 50)
    by_number = ranked.set_index("kommunenummer")
    assert by_number.at["5001", "reach"] == 0  # Trondheim
    assert ranked["reach"].is_monotonic_decreasing
    assert ranked.iloc[0]["reach"] > 10_000
    assert ranked.iloc[0]["km_now"] > 50


def test_organisation_filter_changes_what_counts_as_covered(kommuner, grid, services):
    anyone = planning.uncovered_cells(grid, services, 50)
    rus_nett = planning.uncovered_cells(grid, services, 50, "rus_nett")
    assert rus_nett["befolkning"].sum() > anyone["befolkning"].sum()


def test_unknown_organisation_is_rejected(kommuner, grid, services):
    with pytest.raises(ValueError, match="institution"):
        planning.rank_new_sites(kommuner.reset_index(), grid, services, organisation="institution")

"""The one search path: located place, choices, suggestions, notes and the route's group."""

from __future__ import annotations

import pytest

from tilbudskart import pipeline, search


@pytest.fixture(scope="module")
def data() -> pipeline.AppData:
    return pipeline.load_app_data()


def test_the_route_names_the_group_it_ends_at(data):
    """Hjelmeland's fastest route ends in Stavanger; the label once named Haugesund."""
    legs = pipeline.fastest_route(data, 59.23692, 6.17907)
    assert legs is not None
    group = data.services.loc[legs.attrs["service"]]
    assert group["name"] == "Stavanger"
    end_lon, end_lat = legs.geometry.iloc[-1].coords[-1]
    assert (end_lat, end_lon) == pytest.approx((group["lat"], group["lon"]), abs=1e-4)
    found = search.search(data, "Hjelmeland")
    assert found.match is not None and found.match.kommunenummer == "1133"
    assert found.route_group is not None and found.route_group["name"] == "Stavanger"
    assert found.answer is not None and len(found.answer.nearest)


def test_a_chosen_organisation_routes_to_its_own_group(data):
    found = search.search(data, "Hjelmeland", organisation="al_anon")
    assert found.route_group is not None and found.route_group["organisation"] == "al_anon"


def test_several_places_give_choices_and_nothing_gives_suggestions(data):
    several = search.search(data, "Sand")
    assert several.match is None and len(several.located.choices) > 1
    chosen = search.search(data, "Sand", choice=1)
    assert chosen.match == several.located.choices[1] and chosen.answer is not None
    nothing = search.search(data, "Tysnse")
    assert nothing.match is None and not nothing.located.choices
    assert "Tysnes" in " ".join(nothing.located.suggestions)

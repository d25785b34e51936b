"""Planning answers in plain words: whom each site reaches, and one total."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tilbudskart.views import plan_words


def test_each_cell_counts_for_the_first_site_that_reaches_it():
    grid = pd.DataFrame({"kommunenummer": ["a", "a", "b", "c", "c"],
                         "befolkning": [10, 20, 30, 40, 50]})
    today = np.array([60.0, 70.0, 80.0, 10.0, np.inf])  # d is near today; e has no route
    first = np.array([10.0, 90.0, 20.0, 5.0, np.inf])
    second = np.array([10.0, 10.0, 10.0, 5.0, 40.0])
    reached = plan_words.reached_by_kommune(grid, today, [first, second], 50.0)
    assert reached[0].to_dict() == {"b": 30, "a": 10}  # most first
    assert reached[1].to_dict() == {"c": 50, "a": 20}  # not a again, not c's near cell


def test_site_sentences_say_how_many_and_from_where():
    sites = pd.DataFrame({"kommunenavn": ["Hyllestad", "Gol"],
                          "fylkesnavn": ["Vestland", "Troms - Romsa - Tromssa"],
                          "fixed": [False, True], "added": [43658, 0]})
    reached = [pd.Series({"4647": 20000.0, "4602": 15000.0, "4638": 5000.0, "4637": 10.0}),
               pd.Series(dtype=float)]
    names = {"4647": "Sunnfjord", "4602": "Kinn", "4638": "Høyanger", "4637": "Hyllestad"}
    first, second = plan_words.site_sentences(sites, reached, names, "mer enn 50 km")
    assert first.replace("\xa0", " ") == (
        "1. Hyllestad (Vestland): en gruppe her ville nå 43 658 mennesker som i dag bor mer "
        "enn 50 km fra nærmeste gruppe, mest i Sunnfjord, Kinn og Høyanger.")
    assert second.startswith("2. Gol (Troms – Romsa – Tromssa): en gruppe her ville ikke nå")
    assert second.endswith("Du valgte denne kommunen selv.")

"""«Mente du …?»: suggestions for searches the gazetteer does not know."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tilbudskart import suggest

MISSPELLINGS = Path(__file__).parent / "data" / "misspellings.csv"


def _misspellings() -> list[dict[str, str]]:
    with MISSPELLINGS.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_misspellings_are_many_and_varied():
    rows = _misspellings()
    assert len(rows) >= 30
    kinds = " ".join(row["kind"] for row in rows)
    for kind in ("missing letter", "æ as ae", "ø as o", "å as aa", "Sámi without diacritics"):
        assert kind in kinds


def test_a_misspelled_place_is_among_the_suggestions(gazetteer):
    missed = []
    for row in _misspellings():
        offered = suggest.suggest(gazetteer, row["typed"])
        assert len(offered) <= suggest.MAX_SUGGESTIONS
        if suggest.fold(row["intended"]) not in {suggest.fold(name) for name in offered}:
            missed.append(f"{row['typed']} → {offered} (meant {row['intended']})")
    rows = len(_misspellings())
    assert rows - len(missed) >= rows * 0.9, missed  # at least 27 of 30


@pytest.mark.parametrize("typed, first", [("Kautokiino", "Kautokeino"),
                                          ("Karasjokk", "Karasjok"),
                                          ("Rovaer", "Røvær"),
                                          ("Baerum", "Bærum")])
def test_the_intended_place_comes_first(gazetteer, typed, first):
    assert suggest.suggest(gazetteer, typed)[0] == first


def test_every_suggestion_is_a_search_that_finds_a_place(gazetteer):
    for typed in ("Kautokiino", "Seljor", "Tromso", "Gaivuotna", "Fredrikstadt"):
        for name in suggest.suggest(gazetteer, typed):
            found = gazetteer.search(name)
            assert found.ok or found.candidates, name


@pytest.mark.parametrize("typed", ["", "   ", "3840", "q", "Qwxyzby", "1234 5678"])
def test_nothing_close_suggests_nothing(gazetteer, typed):
    assert suggest.suggest(gazetteer, typed) == []


def test_an_address_is_compared_by_its_place(gazetteer):
    assert suggest.suggest(gazetteer, "Storgata 3, 9520 Kautokiino")[0] == "Kautokeino"


def test_fold_reads_ascii_for_norwegian_and_sami_letters():
    assert suggest.fold("Kárášjohka") == suggest.fold("KARASJOHKA")
    assert suggest.fold("Ålesund") == suggest.fold("Aalesund") == "alesund"
    assert suggest.fold("Tromsø") == suggest.fold("Tromsoe") == "tromso"
    assert suggest.fold("Porsáŋgu") == "porsangu"

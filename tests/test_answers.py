"""Search answers kept per place (answers.py)."""

from __future__ import annotations

import gc

import pandas as pd

from tilbudskart import answers, pipeline


def test_an_answer_is_computed_once_per_place_and_is_the_same(monkeypatch):
    data = pipeline.load_app_data()
    calls = []
    real = pipeline.answer_search
    monkeypatch.setattr(pipeline, "answer_search",
                        lambda d, lat, lon, **kw: calls.append((lat, lon))
                        or real(d, lat, lon, **kw))
    first = answers.answer(data, 59.4, 8.6)
    again = answers.answer(data, 59.4, 8.6)
    other = answers.answer(data, 69.97, 23.27)
    assert calls == [(59.4, 8.6), (69.97, 23.27)]
    assert again is first
    pd.testing.assert_frame_equal(first.nearest, real(data, 59.4, 8.6).nearest)
    assert not other.nearest.equals(first.nearest)


def test_routes_are_kept_too_and_the_oldest_place_goes_first(monkeypatch):
    data = pipeline.load_app_data()
    monkeypatch.setattr(answers, "MAX_PLACES", 2)
    route = answers.route(data, 60.0, 5.5)
    assert answers.route(data, 60.0, 5.5) is route
    for lat in (61.0, 62.0, 63.0):
        answers.route(data, lat, 9.0)
    assert answers.size(data) == 2


def test_a_datasets_answers_go_with_it():
    class Data:  # any object with what answer_search reads is enough to be a key
        pass

    data = Data()
    answers._once(data, ("x",), lambda: 1)  # type: ignore[arg-type]
    key = id(data)
    assert key in answers._KEPT
    del data
    gc.collect()
    assert key not in answers._KEPT

"""A steward publishes the shown list from the upload page (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from test_app import run, text_of
from tilbudskart import appdata
from tilbudskart.store import open_store

LISTING = ("Navn;Organisasjon;Sted\nDovre pårørende;LMS;Dovre\nAlta LMS;LMS;Alta\n"
           ).encode()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A store of this test only; the app's live data is made afresh from it and dropped
    afterwards (the process's other tests see the run's empty store again)."""
    monkeypatch.setenv("TILBUDSKART_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(appdata, "_LIVE", {})
    monkeypatch.setattr(appdata, "_STORE", [None, None])
    st.cache_resource.clear()
    yield open_store()
    st.cache_resource.clear()


def uploaded(listing: bytes):
    at = run({"side": "last"})
    at.get("file_uploader")[0].set_value(("lms_2026.csv", listing, "text/csv"))
    at.selectbox(key="liste_org").set_value("lms").run()
    next(b for b in at.button if b.label == "Bruk lista").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def publish_with(at, key: str):
    at.text_input(key="forvalternokkel").input(key)
    next(b for b in at.button if b.label.startswith("Publiser lista for")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_steward_publishes_the_shown_list(store) -> None:
    _, key = store.add_steward("lms")
    at = uploaded(LISTING)
    assert "Publiser lista for alle" in [h.value for h in at.subheader]
    text = text_of(at)
    assert "erstatter lista til" in text and "rapporten fra 2007" in text
    assert "forsvinner" in text
    publish_with(at, "st-00000000.wrong")
    assert any("Ikke publisert: nøkkelen er feil." in e.value.replace("\\", "")
               for e in at.error), [e.value for e in at.error]
    assert store.head() == 0
    publish_with(at, key)
    assert any("versjon 1" in s.value for s in at.success), [s.value for s in at.success]
    latest = store.latest()["lms"]
    assert latest.number == 1 and latest.rows_used == 2 and len(latest.checksum) == 64
    # The key is in no text on the page, nor in the URL (the form clears its field).
    shown = text_of(at) + "".join(e.value for e in [*at.error, *at.success, *at.info])
    assert key not in shown and key.split(".")[1] not in str(dict(at.query_params))


def test_a_list_with_row_errors_cannot_be_published(store) -> None:
    store.add_steward("lms")
    at = uploaded(LISTING + b"Uten sted;LMS;\n")
    assert any("kan ikke publiseres" in e.value and "rett feilene" in e.value
               and "rad 4" not in e.value for e in at.error), [e.value for e in at.error]
    assert not any(b.label.startswith("Publiser lista for") for b in at.button)


def test_any_two_versions_can_be_compared(store) -> None:
    from tilbudskart import importers

    _, key = store.add_steward("lms")
    store.publish(importers.import_bytes(LISTING, "lms.csv"), "lms", key, "a" * 64)
    at = run({"side": "last"})
    at.selectbox(key="versjon_org").set_value("lms").run()
    assert at.selectbox(key="versjon_naa").value == 1
    next(b for b in at.button if b.label == "Sammenlign").click().run()
    assert not at.exception, [e.value for e in at.exception]
    counts = next(d.value for d in at.dataframe if "Borte" in d.value.columns)
    row = counts.set_index("Organisasjon").loc["lms"]
    assert row["Nye"] + row["Samme"] + row["Flyttet"] == 2

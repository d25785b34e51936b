"""Upload previews in Norwegian words, and the part-list warning."""

from __future__ import annotations

import pandas as pd

from tilbudskart import importers
from tilbudskart.views import tables
from tilbudskart.views import upload as upload_views


def test_preview_uses_names_norwegian_attendance_and_blank_cells():
    result = importers.import_bytes(
        "navn;organisasjon;sted;postnummer;møteform\nA;al-anon;Oslo;;fysisk\n"
        "B;lms;;;nett\n".encode(), "liste.csv")
    preview = upload_views.preview_table(result.services)
    assert list(preview["Organisasjon"]) == ["Al-Anon / Alateen / VBA",
                                             "LMS (Landsforbundet Mot Stoffmisbruk)"]
    assert list(preview["Møteform"]) == ["fysisk", "på nett"]
    assert list(preview["Postnummer"]) == ["", ""]
    assert "None" not in preview.astype(str).to_numpy().ravel().tolist()
    assert "nan" not in preview.astype(str).to_numpy().ravel().tolist()


def test_comparison_tables_show_names_and_thousands_spaces():
    coverage = pd.DataFrame({"organisation": ["all", "al_anon"],
                             "label": ["Bor over 25 km unna"] * 2,
                             "then": [1379830, 5], "now": [2000000, None],
                             "change": [620170, None]})
    table = upload_views.coverage_table(coverage)
    assert list(table["Organisasjon"]) == ["Alle grupper", "Al-Anon / Alateen / VBA"]
    html = tables.styled(table).to_html()
    assert "1\xa0379\xa0830" in html and "None" not in html and ">nan<" not in html
    counts = upload_views.counts_table(pd.DataFrame({
        "organisation": ["al_anon"], "same": [2], "moved": [0], "gone": [50], "new": [6]}))
    assert counts.columns.tolist() == ["Organisasjon", "Samme", "Flyttet", "Borte", "Nye"]


def test_a_part_list_in_replace_mode_gets_a_plain_warning():
    current = pd.DataFrame({"organisation": ["al_anon"] * 52 + ["lms"] * 3,
                            "kind": "self_help", "status": "geocoded"})
    rows = "\n".join(f"Gruppe {i};Oslo" for i in range(8))
    result = importers.import_bytes(f"navn;sted\n{rows}\n".encode(), "liste.csv",
                                    organisation="al_anon")
    notes = upload_views.part_list_notes(current, [result], "replace")
    assert len(notes) == 1
    assert "8 grupper" in notes[0] and "52" in notes[0] and "44 andre" in notes[0]
    assert upload_views.part_list_notes(current, [result], "add") == []
    whole = importers.import_bytes(
        ("navn;sted\n" + "\n".join(f"Gruppe {i};Oslo" for i in range(40)) + "\n").encode(),
        "hel.csv", organisation="al_anon")
    assert upload_views.part_list_notes(current, [whole], "replace") == []

from __future__ import annotations

import pandas as pd
import pytest

from conftest import TEST_DATA
from tilbudskart import registry, settings


def test_counts_reconcile_with_the_report(registry_table):
    totals = pd.read_csv(TEST_DATA / "report_totals.csv", dtype=str, keep_default_na=False)
    counted = registry.counted(registry_table)
    for row in totals.itertuples():
        printed = registry_table[registry_table["organisation"] == row.organisation]
        rows = counted[counted["organisation"] == row.organisation]
        if row.ownership:
            printed = printed[printed["ownership"] == row.ownership]
            rows = rows[rows["ownership"] == row.ownership]
        assert len(printed) - len(rows) == int(row.duplicate_rows), row.organisation
        assert len(rows) == int(row.registry_rows), row.organisation
        if row.stated_total and int(row.stated_total) != len(rows):
            # A difference from the report must be explained, here and in the data notes.
            assert row.explanation
    institutions = registry_table[registry_table["organisation"] == "institution"]
    chapter_rows = institutions[~institutions["source"].str.startswith("kontakttabell")]
    assert len(institutions) == int(totals.query("organisation == 'institution'")
                                    ["registry_rows"].astype(int).sum())
    assert len(chapter_rows) >= 70


def test_every_row_has_provenance(registry_table):
    assert registry_table["source"].str.len().gt(0).all()
    assert registry_table["year"].eq("2007").all()
    assert registry_table["name"].str.len().gt(0).all()
    assert registry_table["id"].is_unique


def test_print_errors_are_noted_not_silently_fixed(registry_table):
    by_name = registry_table.set_index("name")
    for printed in ("Telemark", "Forsund", "Steinkjær", "Inherrad"):
        assert printed in by_name.index, printed
        assert by_name.loc[printed, "note"], printed


def test_al_anon_list_has_13_districts(registry_table):
    alanon = registry_table[registry_table["organisation"] == "al_anon"]
    assert alanon["county"].nunique() == 13
    assert set(alanon["group_type"]) == {"al_anon", "alateen", "vba"}


def test_unknown_organisation_names_file_row_and_field(registry_csv):
    path = registry_csv([{"place": "Oslo"}, {"place": "Bergen", "organisation": "aa"}])
    with pytest.raises(registry.RegistryError) as error:
        registry.load_registry([path])
    assert (error.value.file, error.value.row, error.value.field) == (str(path), 3, "organisation")
    assert "'aa'" in str(error.value)


def test_malformed_postcode_names_file_row_and_field(registry_csv):
    path = registry_csv([{"place": "Oslo", "postcode": "384"}])
    with pytest.raises(registry.RegistryError, match=r"row 2, field 'postcode'"):
        registry.load_registry([path])


def test_coordinates_outside_norway_are_rejected(registry_csv, tmp_path):
    path = registry_csv([{"place": "", "lat": "48.85", "lon": "2.35"}])
    with pytest.raises(registry.RegistryError, match=r"field 'lat'.*outside Norway"):
        registry.load_registry([path])


def test_kind_must_fit_organisation(registry_csv):
    path = registry_csv([{"place": "Oslo", "organisation": "institution", "kind": "self_help"}])
    with pytest.raises(registry.RegistryError, match="field 'kind'"):
        registry.load_registry([path])


def test_duplicate_ids_are_rejected(registry_csv):
    path = registry_csv([{"id": "x-1", "place": "Oslo"}, {"id": "x-1", "place": "Bergen"}])
    with pytest.raises(registry.RegistryError, match=r"row 3, field 'id'.*duplicate"):
        registry.load_registry([path])


def test_organisations_in_registry_are_known(registry_table):
    assert set(registry_table["organisation"]) <= set(settings.ORGANISATIONS)


def test_duplicates_are_kept_but_not_counted(registry_table):
    groups = registry.counted(registry_table[registry_table["kind"] == "self_help"])
    assert len(groups) == 131
    assert (groups["organisation"] == "lms").sum() == 43
    telemark = registry_table.set_index("id").loc["lms-023"]
    assert telemark["duplicate_of"] == "lms-036" and telemark["name"] == "Telemark"


def test_duplicate_of_must_name_a_row(registry_csv):
    path = registry_csv([{"place": "Oslo", "duplicate_of": "nope"}])
    with pytest.raises(registry.RegistryError, match="duplicate_of"):
        registry.load_registry([path])

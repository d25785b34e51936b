"""Answer cards (views.cards): what a phone shows first after a search."""

from __future__ import annotations

import datetime
import re

import pandas as pd
import pytest

from tilbudskart.views import cards


def _group(**changes: object) -> pd.Series:
    row: dict[str, object] = {
        "name": "Skien", "organisation": "lms", "kommunenavn": "Skien", "distance_km": 41.26,
        "drive_min": 1352.0, "phone": "", "precision": "kommune", "year": "2007"}
    row.update(changes)
    return pd.Series(row)


def test_a_card_says_what_a_relative_needs():
    html = cards.card(_group())
    assert "Skien" in html and "LMS (Landsforbundet Mot Stoffmisbruk)" in html
    assert "41 km i luftlinje" in html and "ca. 22 t 30 min med bil" in html
    # No number of its own: the organisation's, marked as such, tap to call.
    assert 'href="tel:81500205"' in html and "organisasjonen sentralt" in html
    assert 'href="https://www.motstoff.no"' in html
    assert "Bare kommunen er kjent" in html
    assert "fra rapporten i 2007 – ring og sjekk før du drar" in html


def test_a_group_with_its_own_phone_is_called_there():
    html = cards.card(_group(phone="35 95 00 00 (kveld)"))
    assert 'href="tel:35950000"' in html and "organisasjonen sentralt" not in html


def test_a_published_list_gives_its_own_date():
    html = cards.card(_group(), published={"lms": datetime.date(2026, 3, 9)})
    assert "fra organisasjonens liste 9. mars 2026" in html and "2007" not in html


def test_no_route_is_said_plainly():
    assert "ingen bilrute funnet" in cards.card(_group(drive_min=float("nan")))


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                                  "https://evil.example/x", "[klikk](javascript:alert(1))"])
def test_text_from_data_is_text_and_links_are_the_projects(evil):
    html = cards.cards(pd.DataFrame([_group(name=evil, kommunenavn=evil, phone=evil)]),
                       "Nærmeste gruppe")
    assert "<script" not in html and "<img" not in html
    links = re.findall(r'href="([^"]*)"', html)
    assert links and all(link in {"tel:81500205", "https://www.motstoff.no"} or
                         re.fullmatch(r"tel:\d+", link) for link in links)
    assert "evil.example" not in " ".join(links)


def test_web_and_tel_links_accept_only_plain_forms():
    assert cards.web_href("www.aca.no") == "https://www.aca.no"
    assert cards.web_href("javascript:alert(1)") == ""
    assert cards.web_href("evil.example/\" onclick=\"x") == ""
    assert cards.tel_href("12") == "" and cards.tel_href("113") == "tel:113"


def test_every_organisation_in_the_answer_gets_its_list_age():
    found = pd.DataFrame([_group(), _group(organisation="al_anon"), _group()])
    lines = cards.organisation_ages(found)
    assert len(lines) == 2
    assert lines[0].startswith("LMS") and lines[1].startswith("Al-Anon")
    assert all(line.endswith("fra rapporten i 2007 – ring og sjekk før du drar")
               for line in lines)


def test_no_groups_no_cards():
    assert cards.cards(pd.DataFrame(columns=["name"]), "x") == ""

"""The bokmål and nynorsk catalogues, and each kommune's written standard."""

from __future__ import annotations

import re

import pytest

from tilbudskart.views import language


def test_every_key_is_in_both_catalogues_with_the_same_placeholders():
    bokmal, nynorsk = language.catalogue("nb"), language.catalogue("nn")
    assert set(bokmal) == set(nynorsk)
    for key, text in bokmal.items():
        assert type(text) is type(nynorsk[key]), key
        if isinstance(text, str):
            assert set(re.findall(r"{(\w+)", text)) == set(
                re.findall(r"{(\w+)", nynorsk[key])), key
            assert text.strip() and nynorsk[key].strip(), key
        else:
            assert len(text) == len(nynorsk[key]), key


def test_the_nynorsk_catalogue_is_nynorsk():
    nynorsk = " ".join(str(v) for v in language.catalogue("nn").values())
    for bokmal_word in (" hvor ", " ikke ", " fra ", " innbyggere", " mennesker ", "Hvor "):
        assert bokmal_word not in nynorsk, bokmal_word


def test_kommuner_get_their_own_written_standard():
    assert language.kommune_language("4022") == "nn"  # Seljord
    assert language.kommune_language("4616") == "nn"  # Tysnes
    assert language.kommune_language("5601") == "nb"  # Alta
    assert language.kommune_language("0301") == "nb"  # Oslo: neutral, answered in bokmål
    assert sum(language.kommune_language(n) == "nn" for n in language._kommune_languages()
               ) == 88


def test_language_names_and_official_names():
    assert language.language_code("Nynorsk") == "nn"
    assert language.language_code("bokmål") == "nb"
    with pytest.raises(ValueError, match="bokmål or nynorsk"):
        language.language_code("samisk")
    assert language.official_name("Kárášjohka - Karasjok") == "Kárášjohka – Karasjok"

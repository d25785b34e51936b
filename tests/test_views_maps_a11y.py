"""The maps as a phone and a screen reader get them, and what their rendering costs."""

from __future__ import annotations

import re

import branca.element

from tilbudskart.views import maps


def test_the_map_frame_lets_people_zoom():
    html = maps.base_map().get_root().render()
    viewports = re.findall(r'<meta name="viewport"[^>]*>', html)
    assert viewports == [maps.ZOOMABLE_VIEWPORT]
    assert "user-scalable=no" not in html and "maximum-scale" not in html


def test_the_map_is_a_named_landmark():
    html = maps.base_map().get_root().render()
    assert 'setAttribute("role", "region")' in html
    assert 'setAttribute("aria-label", "Kart")' in html


def test_rendered_text_is_not_compiled_again_but_templates_still_are():
    plain = branca.element.Element("<script>var a = {x: 1};</script>")
    assert isinstance(plain._template, maps._Literal)
    assert plain.render() == "<script>var a = {x: 1};</script>"
    assert branca.element.Element("{{ 1 + 1 }} {% if true %}ja{% endif %}").render() == "2 ja"

from __future__ import annotations

import html
import json

import folium
import numpy as np
import pandas as pd
import pyogrio
import pytest

from tilbudskart import datasources, pipeline, settings
from tilbudskart.views import exports, maps, measures, tables

EVIL = "<script>alert(1)</script>"


def _render(fmap) -> str:
    return fmap.get_root().render()


def test_map_needs_no_cdn():
    html = _render(maps.base_map())
    assert "cdn.jsdelivr" not in html and "code.jquery.com" not in html
    assert "data:text/javascript;base64," in html
    assert "tile.openstreetmap" not in html  # no third-party tiles unless asked


def test_tiles_only_when_asked():
    assert "tile.openstreetmap.org" in _render(maps.base_map(tiles=True))


def test_leaflet_css_has_no_relative_image_urls():
    _, css = maps.offline_assets()
    import base64
    text = base64.b64decode(css[0][1].split(",", 1)[1]).decode()
    assert "url(images/" not in text and "data:image/png;base64," in text


def test_service_text_is_escaped_in_popups_and_tooltips(services):
    row = services[services["status"] == "geocoded"].iloc[[0]].copy()
    row["name"] = EVIL
    row["phone"] = '"><img src=x onerror=alert(2)>'
    fmap = maps.base_map()
    group = maps.service_markers(row, EVIL).add_to(fmap)
    html = _render(fmap)
    assert EVIL not in html
    assert "<img src=x" not in html
    # What Leaflet inserts as HTML once the page has decoded the GeoJSON:
    (layer,) = [c for c in group._children.values() if isinstance(c, maps.ServiceLayer)]
    assert layer.geojson in html  # drawn verbatim
    properties = json.loads(layer.geojson)["features"][0]["properties"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in properties["tooltip"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in properties["popup"]
    assert "<img" not in properties["popup"] and "&lt;img src=x" in properties["popup"]


def test_kommune_names_are_escaped_in_the_choropleth(kommuner):
    polygons = datasources.read_kommuner("S")
    table = kommuner.reset_index()
    table.loc[0, "kommunenavn"] = EVIL
    geojson = maps.coverage_geojson(polygons, table, "nearest_group_km")
    features = {feature["properties"]["kommunenummer"]: feature["properties"]
                for feature in json.loads(geojson)["features"]}
    # The properties themselves are escaped: the layer is drawn verbatim, and Leaflet
    # inserts the tooltip as HTML.
    first = features[table.loc[0, "kommunenummer"]]
    assert first["kommune"] == html.escape(EVIL)
    assert EVIL not in first["tooltip"] and html.escape(EVIL) in first["tooltip"]
    page = _render(maps.coverage_layer(geojson).add_to(maps.base_map()))
    assert EVIL not in page and geojson in page  # verbatim: not re-serialised


def test_approximate_markers_are_drawn_differently(services):
    geocoded = services[services["status"] == "geocoded"]
    exact = geocoded[geocoded["precision"] == "postcode"].iloc[[0]]
    rough = geocoded[geocoded["precision"] == "region"].iloc[[0]]
    assert "Omtrentlig" in maps.service_popup(rough.iloc[0])
    assert "Omtrentlig" not in maps.service_popup(exact.iloc[0])
    for found, postcode in ((rough, False), (exact, True)):
        (feature,) = json.loads(maps.service_geojson(found))["features"]
        assert feature["properties"]["exact"] is postcode
    html_rough = _render(maps.service_markers(rough, "r").add_to(maps.base_map()))
    assert 'dashArray: p.exact ? null : "4 3"' in html_rough


def test_distance_classes_follow_the_legend():
    km = pd.Series([0, 9.9, 10.1, 30, 75, 150, 450, float("nan")])
    classes = maps.distance_classes(km)
    assert list(classes[:7]) == [0, 0, 1, 2, 3, 4, 5]
    assert pd.isna(classes.iloc[7])
    assert len(maps.legend_entries()) == len(maps.DISTANCE_COLOURS)
    assert "over 200 km" in maps.legend_html()
    # A bound belongs to the class below it (as mapclassify.UserDefined classed them).
    edges = maps.distance_classes(pd.Series([10.0, 10.000001, 25.0, 200.0, 200.000001]))
    assert edges.tolist() == [0, 1, 1, 4, 5]


def test_planner_table_sorted_farthest_first(kommuner):
    table = tables.planner_table(kommuner.reset_index())
    assert len(table) == 357
    assert table["Km til nærmeste gruppe"].is_monotonic_decreasing
    table = kommuner.reset_index()
    table.loc[table["kommunenummer"] == "0301", "drive_min_lms"] = float("nan")  # no route
    by_time = tables.planner_table(table, "lms", measures.MEASURES["min"])
    routed = by_time["Kjøretid (min)"].dropna()
    assert routed.is_monotonic_decreasing and len(routed) == 356
    assert by_time["Kommune"].iloc[-1] == "Oslo"  # without a route: last, not first
    assert by_time["Kjøretid (min)"].iloc[0] == round(kommuner["drive_min_lms"].max())


def test_measures_name_their_columns_and_classes(kommuner):
    for measure in measures.MEASURES.values():
        for organisation in (None, "lms", "aca"):
            assert measure.column(organisation) in kommuner.columns
        assert len(maps.legend_entries(measure)) == len(maps.DISTANCE_COLOURS)
    assert "over 240 min" in maps.legend_html(measures.MEASURES["min"])
    classes = maps.distance_classes(pd.Series([14.0, 16.0, 300.0]), settings.MINUTE_BINS)
    assert list(classes) == [0, 1, 5]
    table = kommuner.reset_index()
    table.loc[0, "drive_min"] = float("nan")
    geojson = maps.coverage_geojson(datasources.read_kommuner("S"), table, "drive_min",
                                    measures.MEASURES["min"])
    labels = {f["properties"]["avstand"] for f in json.loads(geojson)["features"]}
    assert "ingen rute på vegnettet" in labels and any(x.endswith(" min") for x in labels)


def test_geopackage_download_is_a_valid_file(kommuner, tmp_path):
    polygons = datasources.read_kommuner("S")
    data = exports.geopackage_bytes(polygons, kommuner.reset_index().head(5))
    path = tmp_path / "x.gpkg"
    path.write_bytes(data)
    frame = pyogrio.read_dataframe(path, layer="kommuner")
    assert len(frame) == 5 and "nearest_group_km" in frame.columns


def test_national_lines_have_sources():
    lines = pipeline.read_national_lines()
    assert len(lines) >= 5
    # Every line names the seed file(s) and line numbers it was transcribed from.
    cited = lines["source"].str.findall(r"seed \d{3}_[0-9a-f]{16}\.txt[^;]*?lines? \d+")
    assert cited.map(len).ge(1).all(), lines.loc[cited.map(len).eq(0), "id"].tolist()
    assert lines["phone"].str.len().gt(0).all()
    # What people read holds no source notes: those stay in the source and note columns.
    for column in ("name", "organisation", "phone", "opening_hours", "description_nb"):
        assert not lines[column].str.contains("seed", case=False).any(), column
    assert lines["scope"].isin(["national", "oslo"]).all()
    text = " ".join(lines["name"]).lower()
    assert "rusinfo" in text and "al-anon" in text


def test_outline_layer_draws_the_geojson_verbatim(kommuner):
    polygons = maps.national_polygons(datasources.read_kommuner("S"))
    outlines = maps.outline_geojson(polygons.head(3))
    fmap = maps.base_map()
    layer = maps.outline_layer(outlines).add_to(fmap)
    html = _render(fmap)
    assert outlines in html  # not parsed and re-serialised
    assert f"var {layer.get_name()} = L.geoJson(" in html
    assert '"interactive": false' in html


def test_zoom_to_show_keeps_the_nearest_group_in_view():
    # Alta to Tromsø is 170 km: the view must be wider than at 10 km, and at the chosen zoom
    # a 170 km radius must fit half of a 420 px map.
    far, near = maps.zoom_to_show(170, 69.97), maps.zoom_to_show(10, 69.97)
    assert far < near
    metres_per_pixel = 156_543.03 * np.cos(np.radians(69.97)) / 2 ** far
    assert 170_000 <= metres_per_pixel * 210 < 2 * 170_000 / 0.85
    assert maps.zoom_to_show(0, 60) == 12 and maps.zoom_to_show(5000, 60) == 4


def test_planned_sites_are_numbered_escaped_and_tabled():
    sites = pd.DataFrame({"kommunenummer": ["4022", "3431"], "kommunenavn": [EVIL, "Dovre"],
                          "fylkesnavn": ["Telemark", "Innlandet"], "admin_lat": [59.5, 62.0],
                          "admin_lon": [8.6, 9.5], "fixed": [True, False], "reach": [10, 8],
                          "added": [10, 5], "cumulative": [10, 15]})
    fmap = maps.base_map()
    maps.site_markers(sites, 50).add_to(fmap)
    html = _render(fmap)
    assert EVIL not in html and html.count("L.circle(") == 2
    assert "legger til 10 innbyggere" in html
    assert maps.site_markers(sites, None).add_to(maps.base_map()).get_root().render().count(
        "L.circle(") == 0
    table = tables.plan_table(sites)
    assert list(table["Nr."]) == [1, 2] and list(table["Til sammen"]) == [10, 15]
    ranked = sites.assign(folkemengde=[2979, 2600], min_now=[70.4, 112.3],
                          uncovered_in_kommune=[2900, 2500])
    single = tables.ranking_table(ranked, "mer enn 60 min")
    assert "Kjøretid til nærmeste gruppe i dag (min)" in single.columns
    assert "Innbyggere i kommunen mer enn 60 min unna" in single.columns


def test_maps_show_a_metric_scale_and_site_badges_do_not_overlap():
    page = _render(maps.base_map())
    assert "L.control.scale({imperial: false})" in page
    assert 'zoomInTitle: "Zoom inn"' in page and '"zoomControl": false' in page
    # Oslo, Bærum and Asker lie within a badge's width of each other on a national map.
    sites = pd.DataFrame({"admin_lat": [59.91, 59.89, 59.83, 63.43],
                          "admin_lon": [10.75, 10.52, 10.43, 10.39],
                          "kommunenavn": ["Oslo", "Bærum", "Asker", "Trondheim"],
                          "added": [1, 2, 3, 4]})
    anchors = [marker.icon.options["icon_anchor"]
               for marker in maps.site_markers(sites)._children.values()
               if isinstance(marker, folium.Marker)]
    assert [a[0] for a in anchors] == [12, -14, -40, 12]


def test_the_map_of_change_colours_new_gone_and_moved_groups():
    points = pd.DataFrame({
        "organisation": ["lms", "lms", "al_anon", "aca"],
        "change": ["new", "gone", "moved", "same"],
        "name": [EVIL, "Borte", "Flyttet", "Samme"],
        "kommune": ["Seljord", "Dovre", "Alta", "Oslo"],
        "lat": [59.49, 62.0, 69.97, 59.91], "lon": [8.63, 9.24, 23.27, 10.75],
        "from_lat": [np.nan, np.nan, 69.65, np.nan], "from_lon": [np.nan, np.nan, 18.96, np.nan]})
    layer = maps.change_markers(points)
    markers = [c for c in layer._children.values() if isinstance(c, folium.CircleMarker)]
    lines = [c for c in layer._children.values() if isinstance(c, folium.PolyLine)]
    assert [m.options["color"] for m in markers] == [
        maps.CHANGE_STYLES[k][0] for k in ("new", "gone", "moved")]  # "same" is not drawn
    assert len(lines) == 1 and lines[0].locations[0] == [69.65, 18.96]
    page = _render(layer.add_to(maps.base_map()))
    assert EVIL not in page and html.escape(EVIL) in page


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", "![px](http://evil.example/p.png)",
                                  "<https://evil.example>", "www.evil.example"])
def test_a_table_drawn_as_markdown_shows_text_from_data_escaped(evil):
    from tilbudskart.views.text import escape_markdown, figure

    table = pd.DataFrame({"Navn": [evil, None], "Avstand (km)": [1234.5, 2.0]})
    shown = tables.styled(table, {"Avstand (km)": 1}, markdown=True)
    html = shown.to_html()
    assert escape_markdown(evil) in html and evil not in html
    assert figure(1234.5, 1) in html and ">nan<" not in html
    assert shown.data["Navn"].iloc[0] == evil  # the value underneath is unchanged


def test_a_choropleth_from_fetched_shapes_sends_only_colours_and_escaped_names(kommuner):
    table = kommuner.reset_index()
    table.loc[0, "kommunenavn"] = EVIL
    properties = maps.coverage_properties(table, "nearest_group_km")
    by_number = json.loads(properties)
    assert len(by_number) == 357 and len(properties) < 120_000
    first = by_number[table.loc[0, "kommunenummer"]]
    assert first["kommune"] == html.escape(EVIL) and EVIL not in properties
    page = _render(maps.coverage_layer(properties, "/kart/abc.geojson").add_to(maps.base_map()))
    assert properties in page and '"/kart/abc.geojson"' in page
    assert '"type": "Feature"' not in page and '"type":"Feature"' not in page  # no shapes
    outline = _render(maps.outline_layer("{}", "/kart/abc.geojson").add_to(maps.base_map()))
    assert "var properties = null;" in outline


def test_a_swapped_choropleth_is_a_feature_group_outside_the_layer_switcher():
    from streamlit_folium import _get_feature_group_string

    layer = maps.coverage_layer('{"0301": {"colour": "#fff", "tooltip": "Oslo"}}',
                                "/kart/abc.geojson")
    group = maps.swapped(layer)
    assert not group.control and list(group._children.values()) == [layer]
    # What streamlit-folium sends the page for it: the layer's script, on the swapped group.
    script = _get_feature_group_string(group, maps.base_map())
    assert '"/kart/abc.geojson"' in script and "feature_group_feature_group_0" in script
    assert "addTo(feature_group_feature_group_0)" in script


def test_leaflet_can_come_from_published_files_or_inline():
    published: dict[str, str] = {}

    def publish(text: str, suffix: str) -> str:
        published[f"/kart/{len(published)}{suffix}"] = text
        return f"/kart/{len(published) - 1}{suffix}"

    js, css = maps.published_assets(publish)
    assert [url for _, url in js] == ["/kart/0.js", "/kart/1.js"] and css == [
        ("leaflet_css", "/kart/2.css")]
    assert "Leaflet" in published["/kart/0.js"] and "jQuery" in published["/kart/1.js"]
    page = _render(maps.base_map(assets=(js, css)))
    assert "/kart/0.js" in page and "data:text/javascript" not in page
    assert maps.published_assets(lambda text, suffix: None) is None
    assert "data:text/javascript;base64," in _render(maps.base_map())  # inline by default


def test_planned_place_sites_are_drawn_at_the_place_not_the_kommune_centre():
    # A place candidate (planning places=True) lies away from its kommune's centre: Rjukan's
    # centre in Tinn vs the village of Atrå; the marker and circle belong at the place.
    sites = pd.DataFrame({"kommunenummer": ["4026", "4026"], "kommunenavn": ["Tinn", "Tinn"],
                          "place": ["Rjukan", "Atrå"],
                          "source": ["kommunesenter", "tettsted"],
                          "lat": [59.8789, 59.9912], "lon": [8.5931, 8.7689],
                          "admin_lat": [59.8789, 59.8789], "admin_lon": [8.5931, 8.5931],
                          "added": [10, 5]})
    group = maps.site_markers(sites, 25)
    markers = [m for m in group._children.values()
               if isinstance(m, folium.Marker) and not isinstance(m, folium.Circle)]
    circles = [c for c in group._children.values() if isinstance(c, folium.Circle)]
    assert [m.location for m in markers] == [[59.8789, 8.5931], [59.9912, 8.7689]]
    assert [c.location for c in circles] == [[59.8789, 8.5931], [59.9912, 8.7689]]
    html = _render(group.add_to(maps.base_map()))
    assert "Atrå (Tinn)" in html and "Rjukan (Tinn)" in html


@pytest.mark.parametrize(("number", "name", "expected"), [
    ("4022", "Seljord", "4022_Seljord.pdf"),
    ("5610", "Kárášjohka – Karasjok", "5610_Karasjohka_Karasjok.pdf"),
    ("3431", "Dovre", "3431_Dovre.pdf"),
    ("4627", "Askøy", "4627_Askoy.pdf"),
    ("5000", "<>", "5000_kommune.pdf"),
])
def test_a_report_is_named_without_importing_matplotlib(number, name, expected):
    from tilbudskart.views.text import report_filename

    assert report_filename(number, name) == expected

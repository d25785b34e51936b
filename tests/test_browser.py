"""The app in a real headless Chromium: what a person sees.

Starts ``streamlit run serve.py`` (the app as served in production) on a free loopback port,
searches, clicks a kommune on the map, checks every page with axe-core and the search with
the keyboard alone, and saves screenshots in ``tests/artifacts/``. Skipped when Debian's
chromium is absent.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import free_port, start_streamlit
from tilbudskart import datasources

REPO_ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).parent / "artifacts"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium not installed")]


@pytest.fixture(scope="module")
def server():
    process, url = start_streamlit(
        "serve.py", free_port(), dict(os.environ), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.console_errors = []
        page.outside_requests = []
        page.on("console", lambda m: page.console_errors.append(f"{m.text} {m.location}")
                if m.type == "error" else None)
        page.on("request", lambda r: page.outside_requests.append(r.url)
                if not r.url.startswith((server, "data:", "blob:", "about:")) else None)
        yield page
        browser.close()


def _map_frame(page):
    frame = page.frame_locator("iframe[title='streamlit_folium.st_folium']").first
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    return frame


def test_search_shows_list_and_map_without_errors(server, page):
    page.goto(f"{server}/?side=finn", wait_until="networkidle")
    box = page.get_by_label("Adresse, postnummer, sted eller kommune")
    box.fill("3840")
    box.press("Enter")
    page.get_by_text("Nærmeste selvhjelpsgrupper").wait_for(timeout=60_000)
    page.get_by_text("Grenland").filter(visible=True).first.wait_for(timeout=30_000)
    frame = _map_frame(page)
    assert frame.locator(".leaflet-control-zoom").count() == 1
    # Leaflet's own titles are English; the map's are Norwegian.
    assert frame.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom inn"
    assert frame.locator(".leaflet-control-zoom-out").get_attribute("title") == "Zoom ut"
    assert "JavaScript-bibliotek" in frame.locator(
        ".leaflet-control-attribution a").first.get_attribute("title")
    page.get_by_text("Rusinfo").filter(visible=True).first.wait_for()
    page.get_by_text("Nærmeste selvhjelpsgrupper").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "finn_3840_results.png"))
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "finn_3840.png"))
    page.locator("iframe").first.screenshot(path=str(ARTIFACTS / "finn_3840_map.png"))
    assert _map_centre(page)[0] == pytest.approx(59.4, abs=0.3)  # Seljord

    # A second search keeps the map (same base layer) and moves it, with new markers only.
    box.fill("Alta")
    box.press("Enter")
    page.get_by_text("Tromsø").filter(visible=True).first.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.contentWindow.map"
        " && f.contentWindow.map.getCenter().lat > 69)", timeout=30_000)
    page.wait_for_timeout(1000)
    page.locator("iframe").first.screenshot(path=str(ARTIFACTS / "finn_alta_map.png"))
    assert _map_centre(page)[0] == pytest.approx(69.97, abs=0.3)
    on_map = "window.feature_group.filter(g => window.map.hasLayer(g)).length"
    # The first markers and route were removed: the new markers and route are on the map.
    assert _map_frame_window(page).evaluate(on_map) == 2
    # A marker's popup: open the first one and read what a person would read.
    _map_frame_window(page).evaluate(
        "(() => { const m = []; window.map.eachLayer(l => { if (l.feature && l.getLatLng)"
        " m.push(l); }); m[0].fire('click', {latlng: m[0].getLatLng()}, true); })()")
    popup = _map_frame(page).locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "Kilde:" in popup.inner_text() and "kommune" in popup.inner_text()
    page.locator("iframe").first.screenshot(path=str(ARTIFACTS / "finn_alta_popup.png"))
    assert page.console_errors == []
    assert page.outside_requests == []


def _map_frame_window(page):
    return next(f for f in page.frames if "streamlit_folium" in f.url)


def _map_centre(page) -> tuple[float, float]:
    centre = _map_frame_window(page).evaluate(
        "(() => { const c = window.map.getCenter(); return [c.lat, c.lng]; })()")
    return float(centre[0]), float(centre[1])


def test_clicking_a_kommune_opens_its_detail(server, page):
    page.goto(f"{server}/?side=dekning&kommune=0301", wait_until="networkidle")
    frame = _map_frame(page)
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(2000)
    # Where is Seljord's centre on the screen? Ask Leaflet inside the map frame.
    point = frame.locator(".leaflet-container").evaluate(
        """el => {
             const isMap = k => k.startsWith('map_') && window[k]
                                && window[k].latLngToContainerPoint;
             const p = window[Object.keys(window).find(isMap)]
                           .latLngToContainerPoint([59.485, 8.63]);
             return {x: p.x, y: p.y};
           }""")
    assert frame.locator(".leaflet-control-layers-toggle").get_attribute("title") == "Kartlag"
    frame.locator(".leaflet-container").click(position=point)
    page.get_by_role("heading", name="Seljord").wait_for(timeout=60_000)
    assert "kommune=4022" in page.url
    # The detail table follows: Seljord's nearest groups are Grenland's (ch. 10), not Oslo's.
    page.get_by_text("Grenland").filter(visible=True).first.wait_for(timeout=60_000)
    page.get_by_text("Næraste grupper frå Seljord").wait_for()  # Seljord writes nynorsk
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "dekning_seljord.png"))
    assert page.console_errors == []
    assert page.outside_requests == []


def _overlays(page) -> str:
    return _map_frame_window(page).evaluate(
        "(() => document.querySelector('.leaflet-control-layers-overlays').innerText)()")


def test_a_new_organisation_swaps_the_layers_not_the_map(server, page):
    page.goto(f"{server}/?side=dekning&kommune=4022", wait_until="networkidle")
    _map_frame(page)
    page.get_by_role("heading", name="Seljord").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.contentWindow.map"
        " && f.contentWindow.document.querySelector('.leaflet-control-layers-overlays'))",
        timeout=30_000)
    assert "Al-Anon" in _overlays(page) and "LMS" in _overlays(page)
    _map_frame_window(page).evaluate("(() => { window.map.__kept = true; })()")
    box = page.get_by_label("Avstand til", exact=True)
    box.click()
    page.keyboard.type("Al-Anon")
    page.keyboard.press("Enter")
    page.get_by_text("Alle tal gjeld avstand til Al-Anon").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.contentWindow.map"
        " && !f.contentWindow.document.querySelector('.leaflet-control-layers-overlays')"
        "      .innerText.includes('LMS'))", timeout=30_000)
    window = _map_frame_window(page)
    assert window.evaluate("window.map.__kept") is True  # the same Leaflet map
    assert "Al-Anon" in _overlays(page)
    # One choropleth and one organisation's markers on the map; the earlier ones removed.
    assert window.evaluate(
        "window.feature_group.filter(g => window.map.hasLayer(g)).length") == 2
    assert window.evaluate(
        "(() => document.querySelector('.leaflet-control-layers-toggle').title)()") == "Kartlag"
    assert page.console_errors == []
    assert page.outside_requests == []


def test_travel_time_map_shows_minutes(server, page):
    page.goto(f"{server}/?side=dekning&maal=min&kommune=4616", wait_until="networkidle")
    frame = _map_frame(page)
    page.get_by_role("heading", name="Tysnes").wait_for(timeout=60_000)
    page.get_by_text("over 240 min").wait_for(timeout=30_000)
    page.get_by_text("Vis grupper").click()  # hide the markers: hover the kommune itself
    page.wait_for_timeout(1500)
    frame = _map_frame(page)
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(2000)
    # Hover Tysnes (a point inside it, away from group markers): the tooltip gives its
    # drive time, in minutes.
    polygons = datasources.read_kommuner("S").set_index("kommunenummer")
    inside = polygons.at["4616", "geometry"].representative_point()
    point = frame.locator(".leaflet-container").evaluate(
        """(el, ll) => { const p = window.map.latLngToContainerPoint(ll);
                         return {x: p.x, y: p.y}; }""", [inside.y, inside.x])
    frame.locator(".leaflet-container").hover(position=point)
    frame.locator(".leaflet-tooltip").wait_for(timeout=10_000)
    tooltip = frame.locator(".leaflet-tooltip").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dekning_tysnes_min.png"))
    assert "Kjøretid" in tooltip and "min" in tooltip
    assert page.console_errors == []
    assert page.outside_requests == []


@pytest.mark.parametrize(("query", "k", "shot"), [("antall=5&med=4022", 5, "nye_5.png"),
                                                  ("antall=3&naer=60min", 3, "nye_60min.png")])
def test_new_groups_page_shows_the_planned_sites(server, page, query, k, shot):
    page.goto(f"{server}/?side=nye&{query}", wait_until="networkidle")
    page.get_by_text(f"{k} nye grupper").wait_for(timeout=120_000)
    frame = _map_frame(page)
    badges = frame.locator(".leaflet-marker-icon")
    badges.first.wait_for(timeout=30_000)
    assert badges.count() == k
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / shot))
    assert page.console_errors == []
    assert page.outside_requests == []


@pytest.mark.parametrize(("query", "ferry", "shot"), [("Hareid", True, "finn_hareid_route"),
                                                      ("Rjukan", False, "finn_rjukan_route")])
def test_search_draws_the_fastest_route(server, page, query, ferry, shot):
    # Hareid: over the Hareid–Sulesund ferry to Ålesund (the ferry leg dashed); Rjukan: from
    # Fv37 beside the centre, by road to Hokksund.
    page.goto(f"{server}/?side=finn", wait_until="networkidle")
    box = page.get_by_label("Adresse, postnummer, sted eller kommune")
    box.fill(query)
    box.press("Enter")
    caption = page.get_by_text("Raskeste rute:")
    caption.wait_for(timeout=60_000)
    assert ("km ferje" in caption.inner_text()) == ferry
    _map_frame(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll('iframe')].some(f => f.contentWindow.map"
        " && f.contentWindow.feature_group && f.contentWindow.feature_group.length > 1)",
        timeout=30_000)
    # The route's legs are polylines (the map draws on a canvas): the ferry leg dashed.
    lines, dashed = _map_frame_window(page).evaluate(
        "(() => { let n = 0, d = 0; window.map.eachLayer(l => {"
        " if (l instanceof L.Polyline && !(l instanceof L.Polygon)) {"
        " n++; if (l.options.dashArray === '10 8') d++; } }); return [n, d]; })()")
    assert lines >= 3  # off-road legs at both ends and the road
    assert (dashed > 0) == ferry
    page.locator("iframe").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    page.locator("iframe").first.screenshot(path=str(ARTIFACTS / f"{shot}_map.png"))

# -- a relative on a phone -----------------------------------------------------------------

#: Where on a 390 × 844 phone the answer's parts end (px from the top), measured in the page.
_FIRST_SCREEN = """(() => {
  const bottom = e => e ? Math.round(e.getBoundingClientRect().bottom) : null;
  const lines = [...document.querySelectorAll('strong')]
    .find(e => e.textContent.startsWith('Ring for råd') && e.offsetParent !== null);
  return {card: bottom(document.querySelector('.tk-card')),
          tel: bottom(document.querySelector('.tk-card a[href^="tel:"]')),
          lines: bottom(lines && lines.parentElement),
          table: bottom(document.querySelector('[data-testid="stTable"]'))};
})()"""


@pytest.mark.parametrize("query, meant", [("Karasjok", None), ("Seljord", None),
                                          ("Kautokiino", "Kautokeino"), ("9170", None),
                                          ("Røvær", None)])
def test_on_a_phone_the_answer_and_the_phone_lines_come_first(server, page, query, meant):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server}/?side=finn", wait_until="networkidle")
    page.get_by_text("Kilde for tjenestene").wait_for(timeout=120_000)
    box = page.get_by_label(SEARCH_LABEL)
    box.fill(query)
    box.press("Enter")
    if meant:  # «Mente du …?»: one tap on the suggestion searches it
        page.get_by_role("button", name=meant).click()
    page.locator(".tk-card").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    page.evaluate("window.scrollTo(0, 0)")
    where = page.evaluate(_FIRST_SCREEN)
    page.screenshot(path=str(ARTIFACTS / f"phone_{query}.png"))
    # The nearest group, its number to call and the phone lines on the first screen; the
    # table is one tap away (hidden until the toggle), the search is not in the URL.
    assert where["card"] <= 844 and where["tel"] <= 844 and where["lines"] <= 844, where
    assert where["table"] is None or where["table"] <= 0 or not page.locator(
        '[data-testid="stTable"]').first.is_visible()
    assert query not in page.url and (meant or query) not in page.url
    page.get_by_text("Vis alle i en tabell").click()
    page.locator('[data-testid="stTable"]').first.wait_for(state="visible", timeout=30_000)
    assert page.console_errors == [] and page.outside_requests == []


# -- accessibility ------------------------------------------------------------------------

SEARCH_LABEL = "Adresse, postnummer, sted eller kommune"
#: What axe-core may find on one page (rule ids), and why. Streamlit's file uploader gives
#: its drop zone role="presentation" with an aria-label (react-dropzone; minor).
AXE_KNOWN = {"last": {"presentation-role-conflict"}}


def _axe_all(target, known: set[str] = frozenset()) -> list[str]:
    """Every axe-core violation of any impact (but the known ones), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(target).response["violations"]
    return [f"{v['impact']} {v['id']}: {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v["id"] not in known]


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("side", ["finn", "dekning", "nye", "last"])
def test_every_page_passes_axe(server, page, side, width):
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(f"{server}/?side={side}", wait_until="networkidle")
    page.get_by_text("Kilde for tjenestene").wait_for(timeout=120_000)
    if side == "finn":  # the answer, not only the empty page
        box = page.get_by_label(SEARCH_LABEL)
        box.fill("3840")
        box.press("Enter")
        page.get_by_text("Nærmeste selvhjelpsgrupper").wait_for(timeout=60_000)
    if side != "last":
        _map_frame(page)  # the map has loaded: its frame is checked too
    page.wait_for_timeout(1000)
    assert page.evaluate("document.documentElement.lang") == "nb"
    found = _axe_all(page, AXE_KNOWN.get(side, set()))
    for frame in page.frames:
        if "streamlit_folium" in frame.url:
            found += [f"map: {line}" for line in _axe_all(frame)]
            # People may zoom the map on a phone (no maximum-scale, no user-scalable=no).
            viewport = frame.locator('meta[name="viewport"]')
            assert viewport.count() >= 1
            for n in range(viewport.count()):
                assert "user-scalable=no" not in viewport.nth(n).get_attribute("content")
    assert found == []


def test_search_with_the_keyboard_alone(server, page):
    page.set_viewport_size({"width": 1366, "height": 1000})
    page.goto(f"{server}/?side=finn", wait_until="networkidle")
    page.get_by_text("Kilde for tjenestene").wait_for(timeout=120_000)
    focused = ("[document.activeElement.tagName,"
               " document.activeElement.getAttribute('aria-label')]")
    tabbed = []
    for _ in range(15):  # Tab from the top of the page to the search box
        page.keyboard.press("Tab")
        tabbed.append(page.evaluate(focused))
        if tabbed[-1] == ["INPUT", SEARCH_LABEL]:
            break
    assert tabbed[-1] == ["INPUT", SEARCH_LABEL], tabbed
    page.keyboard.type("3840")
    page.keyboard.press("Enter")
    page.get_by_text("Nærmeste selvhjelpsgrupper").wait_for(timeout=60_000)
    # The answer is a real HTML table (a screen reader reads it cell by cell, no focus
    # needed): the nearest group first.
    # (The first table of the groups; the institutions' table follows it.)
    table = page.locator(".st-key-tk-table table").first
    table.wait_for()
    assert "Grenland" in table.locator("tbody tr").first.inner_text()
    page.wait_for_timeout(500)
    focused_link = "document.activeElement.getAttribute('href') || ''"
    passed = []
    for _ in range(25):  # ... and on from the box to the phone lines under the answer
        page.keyboard.press("Tab")
        passed.append(page.evaluate(focused_link))
        if passed[-1].startswith("tel:"):
            break
    assert passed[-1] == "tel:08588", passed
    assert page.console_errors == []
    assert page.outside_requests == []


@pytest.mark.parametrize("kind", ["csv", "xlsx", "json"])
def test_upload_a_list_in_the_browser(server, page, tmp_path, kind):
    """A list from Norwegian Excel (';', Windows-1252), an .xlsx and a Meeting Guide feed."""
    import json

    import pandas as pd

    rows = [{"navn": "Dovre pårørende", "organisasjon": "LMS", "sted": "Dovre"},
            {"navn": "Feil", "organisasjon": "Ukjent", "sted": "Oslo"},
            {"navn": "Alta-gruppa", "organisasjon": "LMS", "sted": "Alta"}]
    path = tmp_path / f"lms_2026.{kind}"
    if kind == "csv":
        path.write_bytes(pd.DataFrame(rows).to_csv(index=False, sep=";").encode("cp1252"))
    elif kind == "xlsx":
        pd.DataFrame(rows).to_excel(path, index=False)
    else:
        path.write_text(json.dumps([
            {"name": "Dovre pårørende", "city": "Dovre", "day": 2, "time": "19:00",
             "attendance_option": "in_person"},
            {"name": "Null", "latitude": 0, "longitude": 0},
            {"name": "Nettmøte", "conference_url": "https://example.org/j/1",
             "attendance_option": "online"}]), encoding="utf-8")
    page.goto(f"{server}/?side=last", wait_until="networkidle")
    page.locator("input[type='file']").set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for(timeout=30_000)
    if kind == "json":
        page.get_by_role("combobox", name="Organisasjon").click()
        page.get_by_role("option", name=settings_name("lms")).click()
    page.get_by_role("button", name="Bruk lista").click()
    page.get_by_text("Da og nå: 2007 mot lista").wait_for(timeout=120_000)
    page.get_by_text("Rapport: rader med problemer").wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / f"last_opp_{kind}.png"), full_page=True)
    # Every page of this session now shows the list (a reload is a new session: gone).
    page.get_by_text("Dekningskart").first.click()
    page.get_by_text("Du ser data med lista du lastet opp").wait_for(timeout=60_000)
    page.get_by_text("Alle kommuner", exact=True).wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / f"last_opp_{kind}_dekning.png"))
    assert not page.outside_requests
    assert not [e for e in page.console_errors if "favicon" not in e]


def settings_name(organisation: str) -> str:
    from tilbudskart import settings

    return settings.ORGANISATIONS[organisation]


def test_kommune_report_and_map_images_download(server, page):
    page.goto(f"{server}/?side=dekning&kommune=4022", wait_until="networkidle")
    page.get_by_role("heading", name="Seljord").wait_for(timeout=60_000)
    button = page.get_by_role("button", name="Last ned kommunerapport (PDF)")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == "4022_Seljord.pdf"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF")
    (ARTIFACTS / "download_4022_Seljord.pdf").write_bytes(content)
    import io

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    # Seljord writes nynorsk: so does its report.
    assert "Seljord" in text and "Registeret over tilbod er frå 2007" in text
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Last ned kartet (PNG)").click()
    assert Path(info.value.path()).read_bytes().startswith(b"\x89PNG")
    # The table's GeoPackage is made on the click too: every kommune, with its polygon.
    button = page.get_by_role("button", name="Last ned kart og tabell (GeoPackage)")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    import pyogrio

    assert info.value.suggested_filename == "tilbudskart_kommuner_alle-grupper_km.gpkg"
    package = pyogrio.read_dataframe(info.value.path(), layer="kommuner")
    assert len(package) == 357 and package.geometry.notna().all()
    assert "Nærmeste gruppe" in package.columns  # the table's own headings
    page.screenshot(path=str(ARTIFACTS / "dekning_seljord_downloads.png"))
    assert page.console_errors == []
    assert page.outside_requests == []


# -- Norwegian only -----------------------------------------------------------------------

#: English texts of Streamlit's own frontend that no page may show (one per line).
ENGLISH_UI = Path(__file__).parent / "data" / "english_ui_words.txt"

#: What a person reads or hears on the page (not in the map's frame): every text node
#: except icon ligatures (drawn as a glyph; aria-hidden) and the hidden text of a control
#: named by its aria-label (announced by that label, which is read below), and the
#: aria-label, title, placeholder, alt and role description of every element that is not
#: hidden from screen readers.
READ_BY_A_PERSON = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement, text = node.textContent.trim();
    if (!text || parent.closest('script, style, noscript, [data-testid="stIconMaterial"]'))
      continue;
    const named = parent.closest('button[aria-label], [role="button"][aria-label]');
    if (named && parent.getBoundingClientRect().width <= 1) continue;
    found.push(text);
  }
  const names = ['aria-label', 'title', 'placeholder', 'alt', 'aria-roledescription',
                 'aria-description'];
  for (const element of document.querySelectorAll('*')) {
    if (element.closest('[aria-hidden="true"]')) continue;
    for (const name of names) {
      const value = element.getAttribute(name);
      if (value) found.push(value);
    }
  }
  return found;
}"""


def _english_words() -> list[str]:
    lines = ENGLISH_UI.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _english_on(page) -> list[str]:
    """The English UI words on the page now, each with the text it was found in."""
    import re

    patterns = [(word, re.compile(rf"(?<!\w){re.escape(word)}(?!\w)"))
                for word in _english_words()]
    return sorted({f"{word!r} in {text[:120]!r}" for text in page.evaluate(READ_BY_A_PERSON)
                   for word, pattern in patterns if pattern.search(text)})


def _full_page_screenshot(page, path: Path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside stMain, so grow the viewport."""
    width = page.viewport_size["width"]
    height = page.evaluate("() => Math.max(document.body.scrollHeight, ...[...document"
                           ".querySelectorAll('[data-testid=stMain], [data-testid=stAppView"
                           "Container]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 16_000)})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(path), full_page=True)


NORWEGIAN_PAGES = {"finn": "Nærmeste selvhjelpsgrupper", "dekning": "Alle kommuner",
                   "nye": "Hvor mange grupper trengs?", "last": "Bruk lista"}


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("side", list(NORWEGIAN_PAGES))
def test_every_page_is_norwegian_only(server, page, side, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 844 if width < 800 else 900})
    page.goto(f"{server}/?side={side}", wait_until="networkidle")
    page.get_by_text("Kilde for tjenestene").wait_for(timeout=120_000)
    english = _english_on(page)  # before any interaction: the page as it opens
    page.keyboard.press("Tab")  # the first Tab shows the skip link
    page.get_by_text("Gå til hovedinnholdet").wait_for(timeout=10_000)
    english += _english_on(page)
    page.screenshot(path=str(ARTIFACTS / f"norsk_{side}_{width}_tab.png"))
    if side == "finn":
        box = page.get_by_label(SEARCH_LABEL)
        box.fill("38")  # the text input's hint while typing ("Trykk Enter …")
        english += _english_on(page)
        box.fill("3840")
        box.press("Enter")
    elif side == "last":  # a file of the wrong type: the uploader's own error message
        wrong = tmp_path / "kart.png"
        wrong.write_bytes(b"\x89PNG\r\n")
        page.locator("input[type='file']").set_input_files(str(wrong))
        page.get_by_test_id("stFileChip").first.wait_for(timeout=30_000)
        chip = page.get_by_test_id("stFileChip").first.inner_text()
        assert "6,0 B" in chip, chip  # its size with a decimal comma (Streamlit: "6.0B")
    page.get_by_text(NORWEGIAN_PAGES[side]).first.wait_for(timeout=180_000)
    page.wait_for_timeout(2000)
    english += _english_on(page)
    if side == "dekning":  # a choice that matches nothing: the list's own message
        page.get_by_role("combobox", name="Filtrer på fylke").click()
        page.keyboard.type("qqq")
        page.get_by_text("Ingen treff").wait_for(timeout=10_000)
        english += _english_on(page)
        page.screenshot(path=str(ARTIFACTS / f"norsk_{side}_{width}_ingen_treff.png"))
        page.keyboard.press("Escape")
        page.keyboard.press("Tab")  # away from the list: it closes
    if side == "last":  # the error is a tooltip of the file's chip
        page.get_by_test_id("stFileChip").first.hover()
        page.wait_for_timeout(800)
        english += _english_on(page)
        page.screenshot(path=str(ARTIFACTS / f"norsk_{side}_{width}_feil.png"))
    shot = ARTIFACTS / f"norsk_{side}_{width}.png"
    _full_page_screenshot(page, shot)
    # A table's toolbar and the tooltip of its first button, on hover.
    tables = page.get_by_test_id("stDataFrame")
    if tables.count():
        tables.first.scroll_into_view_if_needed()
        tables.first.hover()
        toolbar = page.get_by_test_id("stElementToolbarButton")
        toolbar.first.wait_for(timeout=10_000)
        toolbar.first.hover()
        page.wait_for_timeout(800)
        english += _english_on(page)
        page.screenshot(path=str(ARTIFACTS / f"norsk_{side}_{width}_toolbar.png"))
    assert page.evaluate("document.documentElement.lang") == "nb"
    assert sorted(set(english)) == []
    assert page.outside_requests == []


def test_a_tables_menus_are_norwegian(server, page):
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{server}/?side=dekning", wait_until="networkidle")
    page.get_by_text("Alle kommuner", exact=True).wait_for(timeout=120_000)
    table = page.get_by_test_id("stDataFrame").first  # every kommune
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    english = []
    table.hover()
    page.get_by_role("button", name="Søk").first.click()  # the table's own search
    page.keyboard.type("Seljord")
    page.wait_for_timeout(800)
    english += _english_on(page)
    page.keyboard.press("Escape")
    table.hover()
    page.get_by_role("button", name="Vis/skjul kolonner").first.click()
    page.get_by_text("Velg alle").wait_for(timeout=10_000)
    english += _english_on(page)
    page.keyboard.press("Escape")
    box_ = table.bounding_box()
    menu = page.get_by_text("Sorter stigende")
    for right in (90, 80, 70, 60, 50):  # the menu icon at the first header's right end
        page.mouse.move(box_["x"] + right, box_["y"] + 15)
        page.mouse.click(box_["x"] + right, box_["y"] + 15)
        page.wait_for_timeout(700)
        if menu.is_visible():
            break
        page.keyboard.press("Escape")
    menu.wait_for(timeout=10_000)
    page.get_by_text("Statistikk").hover()
    page.wait_for_timeout(1500)
    english += _english_on(page)
    page.screenshot(path=str(ARTIFACTS / "norsk_dekning_1366_column_menu.png"))
    # The statistics' numbers the Norwegian way too (the browser's own locale is en-US).
    stats = page.get_by_test_id("stDataFrameStatisticsMenu").inner_text()
    assert "0,3%" in stats and not re.search(r"\d\.\d", stats), stats
    assert sorted(set(english)) == []


_LINKS_JS = """() => {
  const seen = [];
  const walk = (doc) => {
    for (const a of doc.querySelectorAll('a[href]')) seen.push('a ' + a.getAttribute('href'));
    for (const i of doc.querySelectorAll('img[src]')) seen.push('img ' + i.getAttribute('src'));
    for (const f of doc.querySelectorAll('iframe')) {
      try { if (f.contentDocument) walk(f.contentDocument); } catch (e) {}
    }
  };
  walk(document);
  return seen;
}"""


def _outside_links(page, server: str) -> set[str]:
    """Every <a href>/<img src> of the page (and its iframes) that points off the server."""
    inside = ("#", "/", "tel:", "data:", "blob:", "about:", "javascript:void", server)
    return {link for link in page.evaluate(_LINKS_JS)
            if not link.split(" ", 1)[1].startswith(inside)}


def _visit_every_page(page, server: str, shot: str = "") -> set[str]:
    """Search for Seljord, then open every page in the same session; return their links."""
    links = set()
    page.get_by_text("Finn nærmeste gruppe").first.click()
    box = page.get_by_label("Adresse, postnummer, sted eller kommune")
    box.fill("Seljord")
    box.press("Enter")
    page.get_by_text("Nærmeste selvhjelpsgrupper").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    if shot:
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    links |= _outside_links(page, server)
    for label, ready in (("Dekningskart", "Alle kommuner"),
                         ("Hvor trengs nye grupper",
                          "Hva betyr planen for dem som bor lengst unna?"),
                         ("Last opp oppdatert liste", "Last ned mal (CSV)")):
        page.get_by_text(label).first.click()
        page.get_by_text(ready, exact=True).first.wait_for(timeout=120_000)
        page.wait_for_timeout(2500)
        links |= _outside_links(page, server)
    return links


def test_no_link_from_data_on_any_page_after_an_evil_upload(server, page, tmp_path):
    """Names, notes and meeting links of an upload are text: no <a>/<img> to elsewhere."""
    import pandas as pd

    page.goto(f"{server}/?side=last", wait_until="networkidle")
    page.get_by_text("Last ned mal (CSV)").wait_for(timeout=60_000)
    own = _visit_every_page(page, server)  # the project's own links, before any upload
    evil = ["![px](http://evil.example/p.png)", "http://evil.example/bare",
            "www.evil.example", "[klikk](https://evil.example/k)", "ond@evil.example",
            "<a href='https://evil.example/a'>a</a>", "<img src='https://evil.example/i'>"]
    rows = [{"navn": name, "organisasjon": "LMS", "sted": place, "merknad": name,
             "lenke": "https://evil.example/meeting" if i % 2 else ""}
            for i, (name, place) in enumerate(zip(evil, ["Seljord", "Kviteseid", "Bø",
                                                         "Seljord", "Tokke", "Vinje",
                                                         "Seljord"], strict=True))]
    rows.append({"navn": "Nettmøte http://evil.example/n", "organisasjon": "LMS", "sted": "",
                 "merknad": "www.evil.example/n", "lenke": "https://evil.example/online",
                 "møteform": "nett"})
    path = tmp_path / "ond_liste.csv"
    path.write_bytes(pd.DataFrame(rows).to_csv(index=False, sep=";").encode("utf-8"))
    page.get_by_text("Last opp oppdatert liste").first.click()
    page.locator("input[type='file']").set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Bruk lista").click()
    page.get_by_text("Rapport: rader med problemer").or_(
        page.get_by_text("Forhåndsvisning")).first.wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    after = _outside_links(page, server) | _visit_every_page(page, server,
                                                             "ond_liste_finn.png")
    page.screenshot(path=str(ARTIFACTS / "ond_liste_last.png"), full_page=True)
    assert not [link for link in after if "evil" in link], after
    assert after <= own, after - own
    assert "a https://www.motstoff.no" in own  # the project's own link stays a link
    assert not [r for r in page.outside_requests if "evil" in r]

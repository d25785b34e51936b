"""The base map and its assets: offline Leaflet and jQuery, page templates, zoom to a radius."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import branca.element
import folium
import numpy as np
import xstatic.pkg.jquery
import xstatic.pkg.leaflet
from folium.template import Template


def _template(name: str) -> str:
    """Return a template file of ``views/templates`` (read at import)."""
    return (resources.files("tilbudskart.views") / "templates" / name).read_text("utf-8")


_OFFLINE_ICON_JS = _template("offline_icon.js.j2")
_MAP_CONTROLS_JS = _template("map_controls.js.j2")


@cache  # the same few package files, read for every map otherwise (issue 23's profile)
def _data_url(path: Path, mime: str) -> str:
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime};base64,{encoded}"


#: What a map page needs from Leaflet's and jQuery's PyPI packages: (name, kind, text).
Assets = tuple[list[tuple[str, str]], list[tuple[str, str]]]


@cache
def asset_texts() -> tuple[tuple[str, str, str], ...]:
    """Return Leaflet, jQuery and Leaflet's stylesheet as text (name, ``js``/``css``, text).

    ``leaflet.css`` refers to ``images/layers.png`` etc. relative to itself; served from
    anywhere else (a data URL, :func:`tilbudskart.serving.publish`) that folder is
    missing, so the images are inlined into the stylesheet.
    """
    leaflet = Path(xstatic.pkg.leaflet.BASE_DIR)
    jquery = Path(xstatic.pkg.jquery.BASE_DIR)
    stylesheet = (leaflet / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((leaflet / "images").glob("*.png")):
        stylesheet = stylesheet.replace(f"images/{image.name}", _data_url(image, "image/png"))
    return (("leaflet", "js", (leaflet / "leaflet.js").read_text(encoding="utf-8")),
            ("jquery", "js", (jquery / "jquery.min.js").read_text(encoding="utf-8")),
            ("leaflet_css", "css", stylesheet))


@cache
def offline_assets() -> Assets:
    """Return Folium's ``default_js`` and ``default_css`` as data URLs from PyPI packages.

    Returns
    -------
    tuple of (js, css)
        Leaflet and jQuery scripts, and the Leaflet stylesheet.

    """
    mime = {"js": "text/javascript", "css": "text/css"}
    urls = {name: (kind, "data:{};base64,{}".format(
        mime[kind], base64.b64encode(text.encode("utf-8")).decode("ascii")))
        for name, kind, text in asset_texts()}
    return ([(n, u) for n, (k, u) in urls.items() if k == "js"],
            [(n, u) for n, (k, u) in urls.items() if k == "css"])


def published_assets(publish: Callable[[str, str], str | None]) -> Assets | None:
    """Return ``default_js``/``default_css`` as URLs of files the server publishes.

    Inline (:func:`offline_assets`), the three files (~0.3 MB) travel with every rerun of a
    page with a map; published once (``publish(text, suffix)``, e.g.
    :func:`tilbudskart.serving.publish`), the browser fetches and keeps them.

    Returns
    -------
    tuple of (js, css), or None
        None if ``publish`` gives no URL (the app is not served by ``serve.py``).

    """
    urls = {name: (kind, publish(text, f".{kind}")) for name, kind, text in asset_texts()}
    if any(url is None for _, url in urls.values()):
        return None
    return ([(n, str(u)) for n, (k, u) in urls.items() if k == "js"],
            [(n, str(u)) for n, (k, u) in urls.items() if k == "css"])


class _OfflineDefaultIcon(folium.MacroElement):
    """Point Leaflet's default marker icon at data URLs (it would fetch PNGs by path).

    Leaflet derives the icon folder from its stylesheet; with the stylesheet inlined as a
    data URL that path is meaningless and the browser asks the server for
    ``marker-icon.png``. Any ``folium.Marker`` briefly has the default icon, even one
    given a ``DivIcon``.
    """

    _template = Template(_OFFLINE_ICON_JS)

    def __init__(self) -> None:
        super().__init__()
        self._name = "OfflineDefaultIcon"
        images = Path(xstatic.pkg.leaflet.BASE_DIR) / "images"
        self.urls = {option: _data_url(images / name, "image/png") for option, name in (
            ("iconUrl", "marker-icon.png"), ("iconRetinaUrl", "marker-icon-2x.png"),
            ("shadowUrl", "marker-shadow.png"))}


class _MapControls(folium.MacroElement):
    """Leaflet's controls in Norwegian: a scale in km only, zoom, attribution, layers.

    Leaflet's own titles ("Zoom in", "Layers", its attribution link) are English, and its
    scale adds miles.
    """

    _template = Template(_MAP_CONTROLS_JS)

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapControls"


class _Literal:
    """A "template" with no Jinja syntax in it: renders as its own text, compiles nothing."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.text


def _element_template(source: str, *args: Any, **kwargs: Any) -> Any:
    """Return what branca's ``Element(template=…)`` renders, compiling only what needs it.

    folium renders every layer's header, html and script macro into a new
    ``Element(<rendered text>)``, and branca compiles that text as a Jinja template (about
    10 % of a search's server CPU, py-spy, issue 23), only to render it to itself. Text
    without ``{{``, ``{%`` or ``{#`` is kept as it is; any other text is compiled as before.
    """
    if not any(mark in source for mark in ("{{", "{%", "{#")):
        return _Literal(source)
    return _JINJA_TEMPLATE(source, *args, **kwargs)


_JINJA_TEMPLATE = branca.element.Template
branca.element.Template = _element_template  # type: ignore[misc,assignment]


#: The map frames' viewport: people with poor sight may zoom (folium's forbids it with
#: ``maximum-scale=1.0, user-scalable=no``; axe "meta-viewport").
ZOOMABLE_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'


class _ZoomableMap(folium.Map):
    """folium's map, with a viewport that lets people zoom the page.

    Its header, html and script are folium's own macros; only the viewport line of the
    header is replaced (:data:`ZOOMABLE_VIEWPORT`).
    """

    _template = Template("""
{% macro header(this, kwargs) %}{{ this._zoomable_header(kwargs) }}{% endmacro %}
{% macro html(this, kwargs) %}{{ this._folium_macro("html", kwargs) }}{% endmacro %}
{% macro script(this, kwargs) %}{{ this._folium_macro("script", kwargs) }}{% endmacro %}
""")

    def _folium_macro(self, name: str, kwargs: Any) -> str:
        return str(getattr(_folium_map_macros(), name)(self, kwargs))

    def _zoomable_header(self, kwargs: Any) -> str:
        header = self._folium_macro("header", kwargs)
        patched = _VIEWPORT.sub(ZOOMABLE_VIEWPORT, header, count=1)
        if patched == header:  # folium changed its template: say so, do not ship it
            raise RuntimeError("folium's map header has no viewport line to replace")
        return patched


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*/>')


@cache
def _folium_map_macros() -> Any:
    """folium.Map's own template macros (compiled once)."""
    return folium.Map._template.module


def base_map(location: tuple[float, float] = (65.0, 14.0), zoom: int = 4,
             tiles: bool = False, assets: Assets | None = None) -> folium.Map:
    """Return a Folium map that needs no CDN.

    Parameters
    ----------
    location : tuple of float
        Centre (lat, lon).
    zoom : int
        Initial zoom.
    tiles : bool
        Add OpenStreetMap tiles (a third-party request; off by default).
    assets : tuple of (js, css), optional
        Where the page gets Leaflet and jQuery (:func:`published_assets`); default
        inline (:func:`offline_assets`).

    Returns
    -------
    folium.Map

    """
    fmap = _ZoomableMap(location=list(location), zoom_start=zoom, tiles=None, control_scale=False,
                      zoom_snap=0.25, zoom_delta=0.5, zoom_control=False,
                      prefer_canvas=True, attribution_control=True)
    js, css = assets if assets is not None else offline_assets()
    fmap.default_js = js
    fmap.default_css = css
    _OfflineDefaultIcon().add_to(fmap)
    _MapControls().add_to(fmap)
    if tiles:
        folium.TileLayer("OpenStreetMap", name="Bakgrunnskart (OpenStreetMap)").add_to(fmap)
    return fmap


def zoom_to_show(radius_km: float, lat: float, height_px: int = 420,
                 min_zoom: int = 4, max_zoom: int = 12) -> int:
    """Return the largest web-map zoom at which a circle of ``radius_km`` fits the map.

    Used to centre the search map on the searched point with the nearest group in view.

    Parameters
    ----------
    radius_km : float
        Distance that must be visible from the centre (e.g. to the nearest group).
    lat : float
        Latitude of the centre (the Web Mercator scale depends on it).
    height_px : int
        Map height in pixels (the shorter side).
    min_zoom, max_zoom : int
        Bounds of the result.

    Returns
    -------
    int

    """
    metres_per_pixel_z0 = 156_543.03 * np.cos(np.radians(lat))
    needed = 2.0 * max(radius_km, 1.0) * 1000.0 / (0.85 * height_px)  # metres per pixel
    zoom = int(np.floor(np.log2(metres_per_pixel_z0 / needed)))
    return int(np.clip(zoom, min_zoom, max_zoom))

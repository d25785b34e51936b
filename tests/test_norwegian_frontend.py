"""Streamlit's own user interface in Norwegian: the table, the installed bundles, the middleware.

``data/streamlit_nb.csv`` lists English texts of Streamlit's JavaScript bundles with their
Norwegian replacements; :class:`tilbudskart.serving.NorwegianFrontend` serves the bundles
translated. These tests fail loudly when an installed Streamlit no longer has a text exactly
as often as the table says (so a translation never silently disappears after an upgrade),
and check that every translated bundle still parses as JavaScript.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import shutil
import subprocess
from pathlib import Path

import pytest
import streamlit
from starlette.staticfiles import StaticFiles

from tilbudskart import serving

STREAMLIT_JS = Path(streamlit.__file__).parent / "static" / "static" / "js"
TABLE = serving.read_translations()


def _installed_bundles() -> dict[str, list[Path]]:
    bundles: dict[str, list[Path]] = collections.defaultdict(list)
    for path in sorted(STREAMLIT_JS.glob("*.js")):
        bundle = serving.bundle_of(path.name)
        assert bundle is not None, f"{path.name}: not <bundle>.<hash>.js"
        bundles[bundle].append(path)
    return bundles


BUNDLES = _installed_bundles()


def test_every_text_of_the_table_is_in_the_installed_streamlit():
    wrong = []
    for entry in TABLE:
        found = sum(p.read_bytes().count(entry.english.encode())
                    for p in BUNDLES.get(entry.bundle, []))
        if found != entry.occurrences:
            wrong.append(f"{entry.bundle}: {entry.english!r} found {found} times, "
                         f"the table says {entry.occurrences}")
    assert not wrong, (f"Streamlit {streamlit.__version__} differs from "
                       "data/streamlit_nb.csv (update the table):\n" + "\n".join(wrong))


def test_the_table_covers_what_this_app_shows():
    # The texts a person meets in this app (pages, search, tables, uploads), by bundle.
    english = {(e.bundle, e.english) for e in TABLE}
    for bundle, literal in [("index", "`Skip to main content`"),
                            ("DataFrame", "label:`Search`"),
                            ("DataFrame", "label:`Download as CSV`"),
                            ("Toolbar", "label:`Fullscreen`"),
                            ("InputInstructions", "`Press Enter to ${e}`"),
                            ("utils", "`Choose options`:`Choose an option`"),
                            ("Multiselect", '"aria-label":`Clear all`'),
                            ("Selectbox", "`No results`"),
                            ("FileUploader", "`Upload directories`:`Upload`")]:
        assert (bundle, literal) in english


@pytest.mark.parametrize("bundle", sorted({e.bundle for e in TABLE}))
def test_translated_bundles_still_parse(bundle, tmp_path):
    entries = tuple(e for e in TABLE if e.bundle == bundle)
    node = shutil.which("node")
    for path in BUNDLES[bundle]:
        source = path.read_bytes()
        translated, found = serving.translate_bundle(source, entries)
        for entry in entries:
            if found[entry]:
                assert entry.english.encode() not in translated
                assert translated.count(entry.norwegian.encode()) >= found[entry]
        assert sum(found.values()) == 0 or translated != source
        if node is not None:
            copy = tmp_path / f"{path.stem}.mjs"  # the bundles are ES modules
            copy.write_bytes(translated)
            checked = subprocess.run([node, "--check", str(copy)], capture_output=True,
                                     text=True, check=False)
            assert checked.returncode == 0, f"{path.name}: {checked.stderr[-2000:]}"


@pytest.mark.parametrize(("row", "field"), [
    ("index,`Stop`,`Stopp`,0,status", "occurrences"),
    ("index,`Stop`,`Stopp`,x,status", "occurrences"),
    ("index,`Stop`,`Stopp`,1,", "where"),
    ("index,`Stop`,`Stop`,1,status", "norwegian"),
    ("index,`Stop`,Stopp`,1,status", "norwegian"),  # a backtick lost: broken JavaScript
    ('index,"""aria-label"":`Stop`",`Stopp`,1,status', "norwegian"),
    ("StreamlitMarkdown,`Help for ${,`Hjelp,1,help", "norwegian"),  # ${ left open
])
def test_a_bad_row_is_named(row, field, tmp_path):
    path = tmp_path / "streamlit_nb.csv"
    path.write_text("bundle,english,norwegian,occurrences,where\n"
                    "index,`Close`,`Lukk`,1,dialog\n" + row + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"streamlit_nb.csv, row 3, field '{field}'"):
        serving.read_translations(path)


# -- the middleware, around Starlette's own static files (as Streamlit serves them) --------

BUNDLE = "Widget.Ab1-_xYz.js"
SOURCE = b"let a={label:`Search`},b=`Search`;export{a,b};"
ENTRY = serving.Translation("Widget", "label:`Search`", "label:`S\u00f8k`", 1, "toolbar")


def _request(app, path: str, headers: dict[str, str] | None = None, method: str = "GET"
             ) -> tuple[int, dict[str, str], bytes]:
    sent = []
    requested = []

    async def receive():  # the request, then nothing until the answer is complete
        if requested:
            await asyncio.Event().wait()
        requested.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "scheme": "http", "http_version": "1.1",
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 1),
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]}
    asyncio.run(app(scope, receive, send))
    start = sent[0]
    answer = {k.decode(): v.decode() for k, v in start["headers"]}
    assert len([k for k, _ in start["headers"] if k == b"content-length"]) <= 1
    return start["status"], answer, b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def static(tmp_path):
    folder = tmp_path / "static" / "js"
    folder.mkdir(parents=True)
    (folder / BUNDLE).write_bytes(SOURCE)
    (folder / "Other.Ab1-_xYz.js").write_bytes(SOURCE)
    files = StaticFiles(directory=tmp_path)

    async def streamlit_like(scope, receive, send):  # Streamlit's cache header on bundles
        async def cached(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                message["headers"] = [*message["headers"], (
                    b"cache-control", b"public, immutable, max-age=31536000")]
            await send(message)
        await files(scope, receive, cached)

    return serving.NorwegianFrontend(streamlit_like, (ENTRY,))


def test_a_bundle_is_served_translated_with_its_own_etag(static):
    status, headers, body = _request(static, f"/static/js/{BUNDLE}")
    assert status == 200
    assert body == "let a={label:`Søk`},b=`Search`;export{a,b};".encode()
    assert headers["content-length"] == str(len(body))
    assert headers["etag"].endswith(f'-nb{static.etag_suffix.decode()[3:]}"')
    assert headers["cache-control"] == f"public, max-age={serving.TRANSLATED_MAX_AGE}"
    assert "last-modified" not in headers
    # The browser asks again with our ETag: Streamlit checks its own, answers 304.
    status, again, body = _request(static, f"/static/js/{BUNDLE}",
                                   {"If-None-Match": headers["etag"]})
    assert (status, again["etag"], body) == (304, headers["etag"], b"")
    # A copy from before the translation (Streamlit's own ETag) is not confirmed.
    original = headers["etag"].removesuffix(static.etag_suffix.decode() + '"') + '"'
    status, _, body = _request(static, f"/static/js/{BUNDLE}", {"If-None-Match": original})
    assert status == 200 and "Søk".encode() in body
    # A range or a date condition would describe the untranslated file: ignored.
    status, _, body = _request(static, f"/static/js/{BUNDLE}",
                               {"Range": "bytes=0-3",
                                "If-Modified-Since": "Wed, 01 Jan 2031 00:00:00 GMT"})
    assert status == 200 and "Søk".encode() in body
    status, head, body = _request(static, f"/static/js/{BUNDLE}", method="HEAD")
    assert (status, head["content-length"], body) == (200, headers["content-length"], b"")


def test_other_files_pass_untouched(static):
    status, headers, body = _request(static, "/static/js/Other.Ab1-_xYz.js")
    assert (status, body) == (200, SOURCE)
    assert headers["cache-control"] == "public, immutable, max-age=31536000"


def test_a_gzipped_bundle_is_translated():
    async def gzipped(scope, receive, send):
        body = gzip.compress(SOURCE)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/javascript"), (b"content-encoding", b"gzip"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body[:10], "more_body": True})
        await send({"type": "http.response.body", "body": body[10:], "more_body": False})

    app = serving.NorwegianFrontend(gzipped, (ENTRY,))
    status, headers, body = _request(app, f"/static/js/{BUNDLE}")
    assert status == 200 and headers["content-length"] == str(len(body))
    assert gzip.decompress(body) == "let a={label:`Søk`},b=`Search`;export{a,b};".encode()


def test_the_production_server_uses_the_table():
    assert any(m.cls is serving.NorwegianFrontend for m in serving.MIDDLEWARE)

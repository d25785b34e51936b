"""The server as deployed: no request leaves the machine, and the page says it is Norwegian.

The real server (``streamlit run serve.py``) runs as a subprocess with a ``sitecustomize``
module (put first on its PYTHONPATH) that records every attempt to reach a non-loopback
address — ``connect``, ``sendto``, a name lookup — and refuses it, so nothing is sent
even while the test runs. The test then loads the page, searches over the websocket as a
browser does, and asserts that nothing was attempted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from conftest import free_port, start_streamlit
from tilbudskart import frontend, serving, settings, warm_gate

REPO_ROOT = Path(__file__).resolve().parents[1]
SEARCH_LABEL = "Adresse, postnummer, sted eller kommune"

#: Records (and refuses) every attempt of the server process to reach another machine.
SITECUSTOMIZE = '''
import errno, ipaddress, json, os, socket

_LOG = os.environ["TILBUDSKART_NETLOG"]
_LOCAL_NAMES = {"", "localhost", "localhost.localdomain", "ip6-localhost"}


def _local(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).split("%")[0].strip("[]")
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name other than localhost
    return address.is_loopback or address.is_unspecified


def _refuse(kind, host, port):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(json.dumps({"call": kind, "host": str(host), "port": str(port)}) + "\\n")
    raise OSError(errno.ENETUNREACH, f"tilbudskart test: {kind} to {host} refused")


def _check(kind, address):
    if isinstance(address, tuple) and address and not _local(address[0]):
        _refuse(kind, address[0], address[1] if len(address) > 1 else "")


_connect, _connect_ex, _sendto = (socket.socket.connect, socket.socket.connect_ex,
                                  socket.socket.sendto)


def connect(self, address):
    _check("connect", address)
    return _connect(self, address)


def connect_ex(self, address):
    _check("connect_ex", address)
    return _connect_ex(self, address)


def sendto(self, data, *args):
    _check("sendto", args[-1])
    return _sendto(self, data, *args)


_getaddrinfo, _gethostbyname = socket.getaddrinfo, socket.gethostbyname


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse("getaddrinfo", host, args[0] if args else "")
    return _getaddrinfo(host, *args, **kwargs)


def gethostbyname(host):
    if not _local(host):
        _refuse("gethostbyname", host, "")
    return _gethostbyname(host)


socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto = (
    connect, connect_ex, sendto)
socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname
'''


def _start(script: str, tmp: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``streamlit run script`` with the network recorder; wait until it answers."""
    (tmp / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    netlog = tmp / "netlog.jsonl"
    netlog.touch()
    python_path = os.pathsep.join([str(tmp), str(REPO_ROOT / "src"),
                                   os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": python_path, "TILBUDSKART_NETLOG": str(netlog)}
    process, url = start_streamlit(script, free_port(), env, *flags, timeout=60)
    return process, url, netlog


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.terminate()
    try:
        return process.communicate(timeout=20)[0].decode()
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0].decode()


def _attempts(netlog: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in netlog.read_text(encoding="utf-8").splitlines()]


def _foreign_websocket(url: str) -> None:
    """Open a websocket as a page on another site would (cross-origin)."""

    async def go() -> None:
        async with serving.StreamlitSession(url, {"Origin": "https://evil.example"}):
            pass

    asyncio.run(go())


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    # As a single server without a proxy might be run: listening on every interface,
    # which is when Streamlit looks up the external IP unless browser.serverAddress is set.
    process, url, netlog = _start("serve.py", tmp_path_factory.mktemp("production"),
                                  "--server.address", "0.0.0.0")
    yield url, netlog
    _stop(process)


def test_the_server_reaches_no_other_machine(production):
    url, netlog = production
    with urllib.request.urlopen(f"{url}/?side=finn", timeout=10) as answer:
        assert answer.status == 200

    async def search() -> list[str]:
        # What a browser on the page sends: its own origin.
        async with serving.StreamlitSession(url, {"Origin": url}) as session:
            await session.run("side=finn")
            await session.run("side=finn", {SEARCH_LABEL: "3840"})
            return session.texts

    texts = asyncio.run(search())
    assert "Nærmeste selvhjelpsgrupper" in texts  # the search really ran
    # The map's component frame is served (serve.py's warm-up must not import it early).
    with urllib.request.urlopen(f"{url}/component/streamlit_folium.st_folium/index.html",
                                timeout=10) as answer:
        assert answer.status == 200
    # A websocket from another site is refused before Streamlit would look up its IPs.
    with pytest.raises(InvalidStatus) as refused:
        _foreign_websocket(url)
    assert refused.value.response.status_code == 403
    assert _attempts(netlog) == []


def test_maps_fetch_the_kommune_shapes_once_from_the_server(production):
    import gzip
    import hashlib

    from tilbudskart import pipeline
    from tilbudskart.views import maps

    url, netlog = production

    async def search() -> None:
        async with serving.StreamlitSession(url, {"Origin": url}) as session:
            await session.run("side=finn")
            await session.run("side=finn", {SEARCH_LABEL: "3840"})

    asyncio.run(search())  # the search map publishes the shapes
    shapes = maps.outline_geojson(maps.national_polygons(pipeline.load_app_data().polygons))
    name = hashlib.sha256(shapes.encode()).hexdigest()[:32]
    request = urllib.request.Request(f"{url}{serving.PUBLISHED_PATH}{name}.geojson",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert "immutable" in answer.headers["Cache-Control"]
        assert gzip.decompress(answer.read()).decode() == shapes
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{url}{serving.PUBLISHED_PATH}{'0' * 32}.geojson", timeout=10)
    assert missing.value.code == 404
    assert _attempts(netlog) == []


def _through_gate(path: str, kind: str = "http", hold: float = 0.2,
                  warm_after: float | None = None) -> tuple[list[str], float]:
    """Send one request through :class:`serving.WarmGate`; what reached the app, and when."""
    reached: list[str] = []

    async def app(scope, receive, send) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict] = []

    async def send(message) -> None:
        sent.append(message)

    async def go() -> float:
        began = asyncio.get_running_loop().time()
        if warm_after is not None:
            asyncio.get_running_loop().call_later(warm_after, warm_gate._WARM.set)
        await serving.WarmGate(app, hold=hold)({"type": kind, "path": path, "headers": []},
                                               lambda: None, send)
        return asyncio.get_running_loop().time() - began

    took = asyncio.run(go())
    status = [str(m["status"]) for m in sent if m["type"] == "http.response.start"]
    return reached + status, took


def test_the_warm_gate_holds_health_and_sessions_until_warm(monkeypatch):
    monkeypatch.setattr(warm_gate, "_WARM", threading.Event())
    # The page and Streamlit's files pass at once, while the warm-up runs.
    assert _through_gate("/static/js/index.js", hold=5)[0] == ["/static/js/index.js", "200"]
    # The health check waits for the warm-up; a session's websocket too.
    seen, took = _through_gate("/_stcore/health", hold=5, warm_after=0.3)
    assert seen == ["/_stcore/health", "200"] and took >= 0.3
    monkeypatch.setattr(warm_gate, "_WARM", threading.Event())
    seen, took = _through_gate("/_stcore/stream", kind="websocket", warm_after=0.3)
    assert seen[0] == "/_stcore/stream" and took >= 0.3  # longer than a health check's hold
    # Still warming after the hold: 503, and Streamlit never asked.
    monkeypatch.setattr(warm_gate, "_WARM", threading.Event())
    seen, took = _through_gate("/_stcore/health", hold=0.2)
    assert seen == ["503"] and took >= 0.2


def test_the_server_listens_before_it_is_warm(tmp_path):
    # A warm-up slowed down to 4 s (by a sitecustomize in the server process): the page is
    # served at once, the health check only once warm.
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(
        "import time\nfrom tilbudskart import warm_gate\n_warm_up = warm_gate.warm_up\n"
        "def warm_up():\n    time.sleep(4)\n    _warm_up()\nwarm_gate.warm_up = warm_up\n",
        encoding="utf-8")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(slow), str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    began = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            assert time.monotonic() - began < 60, "serve.py did not listen"
            try:
                with urllib.request.urlopen(f"{url}/", timeout=2) as answer:
                    page_at = time.monotonic() - began
                    assert b'lang="nb"' in answer.read()
                    break
            except OSError:
                time.sleep(0.05)
        refusals = 0
        while True:  # as a proxy or an orchestrator polls it
            assert time.monotonic() - began < 60, "serve.py did not become healthy"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=30) as answer:
                    healthy_at = time.monotonic() - began
                    break
            except urllib.error.HTTPError as refused:  # held 3 s, then 503: still warming
                assert refused.code == 503 and refused.headers["Retry-After"] == "1"
                refusals += 1
        assert healthy_at >= 4 and healthy_at - page_at > 1 and refusals >= 1
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_nothing_is_published_unless_served_by_serve_py():
    assert not serving._MOUNTED.is_set()  # this test process never ran the lifespan
    assert serving.publish("{}") is None


def test_the_page_is_norwegian(production):
    url, _ = production
    for path in ("/", "/?side=dekning", "/no-such-page"):
        with urllib.request.urlopen(f"{url}{path}", timeout=10) as answer:
            page = answer.read()
        assert b'<html lang="nb">' in page, path


def _gzipped(url: str) -> bytes:
    """GET with ``Accept-Encoding: gzip``; the body, after checking it came compressed."""
    import gzip

    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
        if answer.headers["Content-Encoding"] is None and len(body) < 500:
            return body  # too small to be worth it (minimum_size)
        assert answer.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in answer.headers.get("Vary", ""), url
        return gzip.decompress(body)


def test_the_page_and_its_static_files_go_gzipped(production):
    url, _ = production
    page = _gzipped(f"{url}/")
    assert b'<html lang="nb">' in page  # compressed after the other middlewares
    files = re.findall(rb'(?:src|href)="\./(static/[^"]+\.(?:js|css))"', page)
    assert any(f.endswith(b".js") for f in files) and any(f.endswith(b".css") for f in files)
    bundles = [_gzipped(f"{url}/{name.decode()}") for name in files]
    assert any(b"G\xc3\xa5 til hovedinnholdet" in body for body in bundles)  # translated
    frame = _gzipped(f"{url}/component/streamlit_folium.st_folium/index.html")
    assert b"<html" in frame.lower()


def test_nginx_compresses_what_a_page_loads():
    conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"^\s*gzip on;", conf, re.M)
    types = re.search(r"gzip_types([^;]*);", conf).group(1).split()
    for needed in ("text/css", "application/javascript", "text/javascript",
                   "application/json", "application/geo+json"):
        assert needed in types


def test_streamlit_alone_would_contact_a_third_party(tmp_path):
    # Why serve.py's guard is needed, and proof that the recorder sees what it must:
    # without it, one cross-origin websocket makes Streamlit look up the machine's
    # internal and external IP address (8.8.8.8, checkip.amazonaws.com).
    process, url, netlog = _start("app.py", tmp_path, "--server.address", "127.0.0.1")
    try:
        with pytest.raises(InvalidStatus):
            _foreign_websocket(url)
    finally:
        _stop(process)
    hosts = {attempt["host"] for attempt in _attempts(netlog)}
    assert "8.8.8.8" in hosts or "checkip.amazonaws.com" in hosts, hosts


@pytest.mark.parametrize(("origin", "host", "allowed"), [
    (None, "kart.example.no", True),
    ("https://kart.example.no", "kart.example.no", True),
    ("http://127.0.0.1:9000", "127.0.0.1:8501", True),
    ("https://kart.example.no.evil.example", "kart.example.no", False),
    ("https://evil.example", "kart.example.no", False),
    ("null", "kart.example.no", False),
])
def test_origin_check(origin, host, allowed):
    assert serving.origin_allowed(origin, host, set(serving.LOOPBACK_HOSTS)) is allowed


@pytest.mark.parametrize(("page", "expected"), [
    (b'<!doctype html><html lang="en"><head>', b'<!doctype html><html lang="nb"><head>'),
    (b"<html><body>", b'<html lang="nb"><body>'),
    (b"no html here", b"no html here"),
])
def test_set_html_lang(page, expected):
    assert serving.set_html_lang(page) == expected


def _established_to(port: int) -> int:
    """Open TCP connections (IPv4) to a loopback port, from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2].endswith(f":{port:04X}") and fields[3] == "01":
            count += 1
    return count


@pytest.mark.skipif(shutil.which("nginx") is None or not Path("/proc/net/tcp").exists(),
                    reason="needs Debian's nginx and Linux /proc")
def test_serve_script_spreads_browsers_and_keeps_each_on_its_replica(tmp_path):
    listen, first = free_port(), free_port()
    while first + 1 == listen:
        first = free_port()
    env = {**os.environ, "TILBUDSKART_LISTEN": f"127.0.0.1:{listen}",
           "TILBUDSKART_REPLICA_PORT": str(first), "TILBUDSKART_RUN_DIR": str(tmp_path),
           "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    script = subprocess.Popen(["sh", "scripts/serve.sh", "2"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{listen}"
    try:
        deadline = time.monotonic() + 60
        for port in (first, first + 1):  # both replicas up, then nginx
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                                timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or script.poll() is not None:
                        pytest.fail("serve.sh did not start")
                    time.sleep(0.3)
        while True:
            try:
                with urllib.request.urlopen(f"{url}/?side=finn", timeout=2) as answer:
                    page, cookie = answer.read(), answer.headers["Set-Cookie"]
                    break
            except OSError:
                if time.monotonic() > deadline or script.poll() is not None:
                    pytest.fail("serve.sh did not start")
                time.sleep(0.3)
        assert b'<html lang="nb">' in page
        assert cookie.startswith("tk_route=") and "HttpOnly" in cookie
        route = cookie.split(";")[0]
        request = urllib.request.Request(url, headers={"Cookie": route})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.headers["Set-Cookie"] is None  # a browser keeps its route

        async def browsers() -> tuple[list[int], list[int], list[str]]:
            ports = (first, first + 1)
            # nginx closes its connection of each plain request after the answer: let the
            # page requests' connections close first, or one that closes while the
            # browsers connect makes the count below one short (a flake under load).
            quiet = time.monotonic() + 5
            while any(_established_to(p) for p in ports) and time.monotonic() < quiet:
                await asyncio.sleep(0.05)
            before = [_established_to(p) for p in ports]
            # 16 browsers, each with its own route, hold a websocket open ...
            routes = [f"tk_route=browser{i}" for i in range(16)]
            many = [serving.StreamlitSession(url, {"Origin": url, "Cookie": r})
                    for r in routes]
            for session in many:
                await session.__aenter__()
            spread = [_established_to(p) - b for p, b in zip(ports, before, strict=True)]
            # ... and 4 tabs of one more browser, with the same route, all go to one replica.
            tabs = [serving.StreamlitSession(url, {"Origin": url, "Cookie": route})
                    for _ in range(4)]
            for session in tabs:
                await session.__aenter__()
            same = [_established_to(p) - b - s
                    for p, b, s in zip(ports, before, spread, strict=True)]
            await tabs[0].run("side=finn")
            await tabs[0].run("side=finn", {SEARCH_LABEL: "Alta"})
            for session in many + tabs:
                await session.__aexit__()
            return spread, same, tabs[0].texts

        spread, same, texts = asyncio.run(browsers())
        assert sum(spread) == 16 and min(spread) >= 1, spread  # both replicas serve
        assert sorted(same) == [0, 4], same  # sticky: one route, one replica
        assert "Nærmeste selvhjelpsgrupper" in texts  # a search through nginx
    finally:
        script.terminate()
        output = script.communicate(timeout=30)[0].decode()
    # The script stops every process it started: nothing listens any more.
    for port in (listen, first, first + 1):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, (port, output)


def test_later_imports_wait_for_quiet_and_stop_at_exit(monkeypatch):
    imported, waits = [], []
    monkeypatch.setattr(warm_gate.importlib, "import_module", imported.append)
    serving.warm_up_later(lambda: waits.append(1) or True)
    assert imported == list(serving.LATER_MODULES) and len(waits) == len(imported)
    imported.clear()
    answers = iter([True, False])  # the process starts exiting after the first import
    serving.warm_up_later(lambda: next(answers))
    assert imported == [serving.LATER_MODULES[0]]


def test_a_later_module_is_imported_at_its_first_use():
    name = "tilbudskart.csvsafe"
    later = serving.Later(name)
    assert repr(later) == f"Later({name!r})"
    assert later.excel_safe is __import__(name, fromlist=["x"]).excel_safe
    with pytest.raises(AttributeError):
        later.no_such_thing  # noqa: B018


def test_the_first_page_waits_for_no_map_table_or_report_module_and_no_page_for_a_report():
    # In a fresh process: the warm-up at start, then the first page (the search, empty).
    code = """
import sys
from streamlit.testing.v1 import AppTest
from tilbudskart import serving
serving.warm_up()
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
print(sorted(m for m in serving.LATER_MODULES if m in sys.modules))
# The coverage page draws maps and tables, but makes no report until asked (matplotlib
# itself may come with the page's maps; its PDF backend and the report do not).
at = AppTest.from_file("app.py", default_timeout=120)
at.query_params["side"] = "dekning"
at.run()
assert not at.exception, at.exception
print(sorted(m for m in ("matplotlib.backends.backend_pdf", "tilbudskart.report")
             if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "[]"]


# -- health that tells the truth --------------------------------------------------------------


def test_an_unhealthy_server_answers_503_with_its_reason(monkeypatch):
    monkeypatch.setattr(warm_gate, "_WARM", threading.Event())
    warm_gate._WARM.set()
    monkeypatch.setattr(warm_gate, "_PROBLEMS", {"warm-up": "failed: DataError: checksum"})
    assert _through_gate("/_stcore/health")[0] == ["503"]
    # Pages and sessions still pass: the app shows people its own message.
    assert _through_gate("/_stcore/stream", kind="websocket")[0][0] == "/_stcore/stream"
    monkeypatch.setattr(warm_gate, "_PROBLEMS", {})
    assert _through_gate("/_stcore/health")[0] == ["/_stcore/health", "200"]


def test_a_failed_warm_up_makes_the_server_unhealthy(monkeypatch):
    from tilbudskart import appdata, datasources

    def broken(*args, **kwargs):
        raise datasources.DataError("vegnett_n1000.geojson: checksum differs from geo/manifest")

    monkeypatch.setattr(warm_gate, "_PROBLEMS", {})
    monkeypatch.setattr(warm_gate, "WARM_MODULES", ())
    monkeypatch.setattr(appdata, "load_app_data", broken)
    monkeypatch.setattr(appdata, "_LIVE", {})  # no live data from an earlier test
    monkeypatch.setattr(warm_gate.gc, "freeze", lambda: None)
    serving.warm_up()
    assert serving.health_problems() == [
        "warm-up: failed: DataError: vegnett_n1000.geojson: checksum differs from geo/manifest"]


def test_translations_are_checked_per_bundle_family(tmp_path):
    entry = serving.Translation("utils", "`Choose an option`", "`Velg`", 2, "menus")
    # The text moved between two split chunks of one family: counted together, no alarm.
    (tmp_path / "utils.AAAAAAAA.js").write_text("a=`Choose an option`;", encoding="utf-8")
    (tmp_path / "utils.BBBBBBBB.js").write_text("b=`Choose an option`;", encoding="utf-8")
    (tmp_path / "other.CCCCCCCC.js").write_text("`Choose an option`", encoding="utf-8")
    assert serving.check_translations(tmp_path, (entry,)) == []
    (tmp_path / "utils.BBBBBBBB.js").write_text("b=`Choose one`;", encoding="utf-8")
    assert serving.check_translations(tmp_path, (entry,)) == [
        "utils: '`Choose an option`' found 1 times, the table says 2"]


def test_the_installed_streamlit_takes_every_translation():
    assert serving.check_translations() == []


def test_an_untranslated_frontend_is_unhealthy_and_logged(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(warm_gate, "_PROBLEMS", {})
    monkeypatch.setattr(frontend, "streamlit_js_folder", lambda: tmp_path)  # no bundles
    with caplog.at_level("INFO", logger="tilbudskart.serving"):
        warm_gate._check_frontend()
    total = len(serving.read_translations())
    assert [r.getMessage() for r in caplog.records] == [
        f"frontend translations: 0 of {total} apply to this Streamlit"]
    assert serving.health_problems()[0].startswith(
        f"frontend: {total} of {total} Norwegian texts do not apply to this Streamlit")


def test_a_server_with_broken_data_says_so_on_its_health_check(tmp_path):
    # A byte changed in the road network: every page would fail, so no proxy may send
    # people here (issue 19: it answered 200).
    data = tmp_path / "data"
    data.mkdir()
    shared = Path(os.environ[settings.DATA_DIR_ENV]).resolve()  # CI gives ../shared/data
    for path in shared.iterdir():
        (data / path.name).symlink_to(path)
    roads = data / "vegnett_n1000.geojson"
    content = bytearray(roads.read_bytes())
    roads.unlink()
    content[1000] = ord(" ") if content[1000] != ord(" ") else ord("\t")
    roads.write_bytes(bytes(content))
    port = free_port()
    env = {**os.environ, settings.DATA_DIR_ENV: str(data),
           settings.BUILD_CACHE_ENV: str(tmp_path / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert time.monotonic() < deadline, "no answer from the health check"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=10):
                    pytest.fail("healthy with broken data")
            except urllib.error.HTTPError as refused:
                code, body = refused.code, refused.read().decode()
                if body != "warming up":
                    break
            except OSError:
                time.sleep(0.2)
        assert code == 503
        assert body.startswith("unhealthy: warm-up: failed: DataError"), body
        assert "vegnett_n1000.geojson" in body
    finally:
        process.terminate()
        process.wait(timeout=20)


def _serve_script(tmp_path: Path, replicas: int = 2) -> tuple[subprocess.Popen[bytes], str,
                                                                  list[int]]:
    """Start scripts/serve.sh on free ports; wait until nginx and every replica answer."""
    listen = free_port()
    first = free_port()
    while listen in range(first, first + replicas):
        first = free_port()
    ports = [first + i for i in range(replicas)]
    env = {**os.environ, "TILBUDSKART_LISTEN": f"127.0.0.1:{listen}",
           "TILBUDSKART_REPLICA_PORT": str(first), "TILBUDSKART_RUN_DIR": str(tmp_path),
           "PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    script = subprocess.Popen(["sh", "scripts/serve.sh", str(replicas)], cwd=REPO_ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 90
    for url in [f"http://127.0.0.1:{p}/_stcore/health" for p in ports] + [
            f"http://127.0.0.1:{listen}/_stcore/health"]:
        while not _healthy(url):
            if time.monotonic() > deadline or script.poll() is not None:
                script.kill()
                pytest.fail("serve.sh did not start: " + script.communicate()[0].decode())
            time.sleep(0.3)
    return script, f"http://127.0.0.1:{listen}", ports


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs Debian's nginx")
def test_a_killed_replica_loses_no_other_session_and_is_back_within_10_s(tmp_path):
    import signal

    script, url, ports = _serve_script(tmp_path)
    try:
        async def under_load() -> tuple[dict[int, int], list[str], float | None, int]:
            # Six browsers on each replica (straight to its port: where each is, is known).
            victim, survivor = ports
            sessions: dict[int, list[serving.StreamlitSession]] = {p: [] for p in ports}
            for port in ports:
                direct = f"http://127.0.0.1:{port}"
                for _ in range(6):
                    session = serving.StreamlitSession(direct, {"Origin": direct})
                    await session.__aenter__()
                    await session.run("side=finn")
                    sessions[port].append(session)
            answers: dict[int, int] = {}
            failures: list[str] = []

            async def search(session: serving.StreamlitSession, n: int) -> None:
                for place in ("Alta", "Seljord", "Bodø", "Voss", "Tromsø", "Molde"):
                    try:
                        await session.run("side=finn", {SEARCH_LABEL: place}, timeout=60)
                    except Exception as exc:
                        failures.append(f"{n} {place}: {type(exc).__name__}")
                        return
                    if "Nærmeste selvhjelpsgrupper" in " ".join(session.texts):
                        answers[n] = answers.get(n, 0) + 1
                    else:
                        failures.append(f"{n} {place}: no answer")

            load = [asyncio.create_task(search(s, n))
                    for n, s in enumerate(sessions[survivor])]
            await asyncio.sleep(0.5)
            killed_at = time.monotonic()
            os.kill(int((tmp_path / f"replica-{victim}.pid").read_text()), signal.SIGKILL)
            await asyncio.gather(*load)
            back = None
            while time.monotonic() - killed_at < 30:
                if _healthy(f"http://127.0.0.1:{victim}/_stcore/health"):
                    back = time.monotonic() - killed_at
                    break
                await asyncio.sleep(0.2)
            # Browsers reconnect through nginx, whichever replica their route names.
            again = serving.StreamlitSession(url, {"Origin": url, "Cookie": "tk_route=b0"})
            await again.__aenter__()
            await again.run("side=finn")
            reconnected = len(again.texts)
            for session in [*sessions[survivor], again]:
                await session.__aexit__()
            for session in sessions[victim]:
                with contextlib.suppress(Exception):
                    await session.__aexit__()
            return answers, failures, back, reconnected

        answers, failures, back, reconnected = asyncio.run(under_load())
        assert not failures, failures
        assert answers and all(count == 6 for count in answers.values()), answers
        assert back is not None and back < 10, back
        print(f"killed replica healthy again after {back:.1f} s; answers {answers}")
        assert reconnected > 0
        assert script.poll() is None  # serve.sh and nginx went on
        assert _healthy(f"{url}/_stcore/health")
    finally:
        script.terminate()
        output = script.communicate(timeout=30)[0].decode()
    assert "ended; starting it again" in output, output[-2000:]

"""The server as deployed: no request leaves the machine, and the page says it is Norwegian.

The real server (``streamlit run serve.py``) runs as a subprocess with a ``sitecustomize``
module (put first on its PYTHONPATH) that records every attempt to reach a non-loopback
address — ``connect``, ``sendto``, a name lookup — and refuses it, so nothing is sent
even while the test runs. The test then loads the page, searches over the websocket as a
browser does, and asserts that nothing was attempted.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from tilbudskart import serving

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(script: str, tmp: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Start ``streamlit run script`` with the network recorder; wait until it answers."""
    (tmp / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    netlog = tmp / "netlog.jsonl"
    netlog.touch()
    port = _free_port()
    python_path = os.pathsep.join([str(tmp), str(REPO_ROOT / "src"),
                                   os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": python_path, "TILBUDSKART_NETLOG": str(netlog),
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         *flags], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, url, netlog
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("streamlit did not start: " + process.communicate()[0].decode()[-2000:])


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
    # A websocket from another site is refused before Streamlit would look up its IPs.
    with pytest.raises(InvalidStatus) as refused:
        _foreign_websocket(url)
    assert refused.value.response.status_code == 403
    assert _attempts(netlog) == []


def test_the_page_is_norwegian(production):
    url, _ = production
    for path in ("/", "/?side=dekning", "/no-such-page"):
        with urllib.request.urlopen(f"{url}{path}", timeout=10) as answer:
            page = answer.read()
        assert b'<html lang="nb">' in page, path


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

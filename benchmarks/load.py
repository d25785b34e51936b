"""Serving many people: N concurrent sessions over Streamlit's websocket, on loopback.

Run: ``TILBUDSKART_DATA_DIR=../shared/data .venv/bin/python benchmarks/load.py``
(defaults: ``--sessions 1 10 50 --searches 5``). Two set-ups, each started here and
stopped again:

- one server: ``streamlit run serve.py`` on a loopback port;
- two replicas behind nginx: ``scripts/serve.sh 2`` (the production start script), with
  nginx's sticky cookie routing (deploy/nginx.conf).

Each session does what a browser does: GET the page (nginx sets its routing cookie), open
the websocket with that cookie and the page's origin, run the first page, then search
``--searches`` times (``tilbudskart.serving.StreamlitSession``: BackMsg/ForwardMsg
protobufs of the installed Streamlit). All N sessions start together. Reported: p50/p95
of the search answer (request sent → script finished) over all searches, the wall time,
and the peak resident memory of the server processes (sampled from /proc every 0.1 s).

Throughput (issue 23): for one server, beside the same load on a bare Streamlit page
(``benchmarks/bare_app.py``: one text input and its echo) in the same run, every session
first opens its page, then all search together: searches per second over that phase,
its p95, and the server's CPU per search (user + system time of the server process from
/proc, over that phase, divided by the searches). Targets (issue 23), with 50 sessions:
≥ 30 searches/s, p95 ≤ 2 s, ≤ 30 ms of server CPU per search. The queries repeat
(:data:`QUERIES`), as people's do: a place's answer is computed once
(:mod:`tilbudskart.answers`); ``--fresh`` sends each search to a new point instead (a
postcode not asked before), for the cost of a first search of a place.

Bounded: at most 200 sessions and 20 searches each, loopback addresses only, and every
set-up is stopped after ``--timeout`` seconds (default 300) whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))

from tilbudskart.serving import StreamlitSession  # noqa: E402

SEARCH_LABEL = "Adresse, postnummer, sted eller kommune"
QUERIES = ["3840", "Alta", "Tysnes", "0150", "Bodø", "Karasjok", "5200", "Dovre", "Tromsø",
           "Dyrøy", "9990", "Molde"]
MAX_SESSIONS = 200
MAX_SEARCHES = 20
ROWS: list[tuple[str, ...]] = []
THROUGHPUT: list[tuple[str, ...]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 120) -> None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def tree(pid: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss_mib(pids: list[int]) -> dict[int, float]:
    """Resident memory of each process (MiB)."""
    sizes = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1]) / 1024
    return sizes


class PeakMemory:
    """Sample the RSS of a process tree every 0.1 s; keep the peak of the total."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak = 0.0
        self.per_process: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = rss_mib(tree(self.root))
            if sum(sizes.values()) > self.peak:
                self.peak = sum(sizes.values())
                self.per_process = sizes
            self._stop.wait(0.1)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used (from /proc/<pid>/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def page_cookie(url: str) -> str:
    """GET the page as a browser does; return the cookies it sets (nginx's routing)."""
    with urllib.request.urlopen(f"{url}/?side=finn", timeout=30) as answer:
        answer.read()
        return "; ".join(c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or [])


async def one_session(url: str, number: int, searches: int) -> list[float]:
    cookie = await asyncio.to_thread(page_cookie, url)
    headers = {"Origin": url, **({"Cookie": cookie} if cookie else {})}
    async with StreamlitSession(url, headers) as session:
        await session.run("side=finn")
        times = []
        for i in range(searches):
            query = QUERIES[(number + i) % len(QUERIES)]
            times.append(await session.run("side=finn", {SEARCH_LABEL: query}))
            if "Nærmeste selvhjelpsgrupper" not in session.texts:
                raise RuntimeError(f"no answer for {query!r}")
        return times


async def throughput(url: str, root: int, sessions: int, searches: int, label: str,
                     answer: str, queries: list[str]) -> dict[str, float]:
    """Open ``sessions`` pages, then let all search together; searches/s, p95, CPU each."""
    ready = asyncio.Event()
    opened = asyncio.Semaphore(0)

    async def one(number: int) -> list[float]:
        cookie = await asyncio.to_thread(page_cookie, url)
        headers = {"Origin": url, **({"Cookie": cookie} if cookie else {})}
        async with StreamlitSession(url, headers) as session:
            await session.run("side=finn")
            opened.release()
            await ready.wait()
            times = []
            for i in range(searches):
                query = queries[(number * searches + i) % len(queries)]
                times.append(await session.run("side=finn", {label: query}))
                if not any(answer in text for text in session.texts):
                    raise RuntimeError(f"no answer for {query!r}")
            return times

    tasks = [asyncio.create_task(one(n)) for n in range(sessions)]
    for _ in range(sessions):
        await opened.acquire()
    pids = tree(root)
    cpu = cpu_seconds(pids)
    began = time.perf_counter()
    ready.set()
    times = [t for found in await asyncio.gather(*tasks) for t in found]
    wall = time.perf_counter() - began
    used = cpu_seconds(pids) - cpu
    return {"per_s": len(times) / wall, "p50": statistics.median(times), "p95": p95(times),
            "cpu_ms": 1000 * used / len(times), "count": len(times)}


def fresh_postcodes(count: int) -> list[str]:
    """Postcodes of distinct places, none asked before in this run (for ``--fresh``)."""
    from tilbudskart import datasources

    codes = datasources.read_postcodes()
    points = codes.drop_duplicates(["lat", "lon"])
    return [str(c) for c in points["postnummer"].sample(count, random_state=23)]


@contextlib.contextmanager
def bare_server() -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "benchmarks/bare_app.py", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO_ROOT, env=app_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        yield url, process.pid
    finally:
        stop(process)


def run_throughput(sessions: int, searches: int, fresh: bool, timeout: float) -> None:
    """The throughput rows: one server and the bare page, the same load on each."""
    queries = fresh_postcodes(sessions * searches) if fresh else QUERIES
    found = {}
    for name, setup, label, answer, asked in [
            ("bare Streamlit page", bare_server(), "Søk", "Svar:",
             [f"svar-{i}" for i in range(sessions * searches)]),
            ("one server (serve.py)", one_server(), SEARCH_LABEL,
             "Nærmeste selvhjelpsgrupper", queries)]:
        with setup as (url, root):
            asyncio.run(load_warm(url, label, asked[0], answer))
            wait_quiet(root)  # the planning warm-up after a start is not a search's cost
            found[name] = asyncio.run(asyncio.wait_for(throughput(
                url, root, sessions, searches, label, answer, asked), timeout))
        figures = found[name]
        THROUGHPUT.append((name, str(sessions), f"{figures['per_s']:.1f}",
                           f"{1000 * figures['p50']:.0f}", f"{1000 * figures['p95']:.0f}",
                           f"{figures['cpu_ms']:.1f}"))
        print(" | ".join(THROUGHPUT[-1]), flush=True)


def wait_quiet(root: int, most: float = 0.05, timeout: float = 240) -> None:
    """Wait until the server uses under ``most`` of a core over 2 s (warm-ups done)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        before = cpu_seconds(tree(root))
        time.sleep(2)
        if cpu_seconds(tree(root)) - before < 2 * most:
            return
    print(f"(the server did not go quiet in {timeout:.0f} s)", flush=True)


async def load_warm(url: str, label: str, value: str, answer: str) -> None:
    """One session, one run: the server has loaded what a page needs."""
    async with StreamlitSession(url, {"Origin": url}) as session:
        await session.run("side=finn")
        await session.run("side=finn", {label: value})


async def load(url: str, sessions: int, searches: int) -> tuple[list[float], float]:
    began = time.perf_counter()
    results = await asyncio.gather(*(one_session(url, n, searches) for n in range(sessions)))
    return [t for times in results for t in times], time.perf_counter() - began


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


@contextlib.contextmanager
def one_server() -> Iterator[tuple[str, int]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=REPO_ROOT, env=app_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        yield url, process.pid
    finally:
        stop(process)


@contextlib.contextmanager
def replicas(count: int) -> Iterator[tuple[str, int]]:
    port, first = free_port(), free_port()
    while any(first + i == port for i in range(count)):
        first = free_port()
    env = {**app_env(), "TILBUDSKART_LISTEN": f"127.0.0.1:{port}",
           "TILBUDSKART_REPLICA_PORT": str(first), "PYTHON": sys.executable}
    process = subprocess.Popen(["sh", "scripts/serve.sh", str(count)], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        for i in range(count):
            wait_healthy(f"http://127.0.0.1:{first + i}")
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url)
        yield url, process.pid
    finally:
        stop(process)


def app_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_setup(name: str, setup: contextlib.AbstractContextManager[tuple[str, int]],
              counts: list[int], searches: int, timeout: float) -> None:
    with setup as (url, root):
        assert url.startswith("http://127.0.0.1:"), url  # loopback only
        asyncio.run(load(url, 1, 1))  # warm up: load the app data in every process once
        for _ in range(3):
            asyncio.run(load(url, 4, 1))
        idle = sum(rss_mib(tree(root)).values())
        for count in counts:
            with PeakMemory(root) as memory:
                times, wall = asyncio.run(asyncio.wait_for(load(url, count, searches),
                                                           timeout))
            servers = sorted(v for v in memory.per_process.values() if v > 100)
            ROWS.append((name, str(count), f"{1000 * statistics.median(times):.0f}",
                         f"{1000 * p95(times):.0f}", f"{wall:.1f}",
                         f"{memory.peak:.0f} ({' + '.join(f'{v:.0f}' for v in servers)})",
                         f"{idle:.0f}"))
            print(" | ".join(ROWS[-1]), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--searches", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one load may take before it is stopped")
    parser.add_argument("--throughput-sessions", type=int, default=50)
    parser.add_argument("--fresh", action="store_true",
                        help="every search a place not asked before (a first search's cost)")
    parser.add_argument("--only-throughput", action="store_true",
                        help="the throughput rows alone (one server and the bare page)")
    args = parser.parse_args()
    if (max([*args.sessions, args.throughput_sessions]) > MAX_SESSIONS
            or not 1 <= args.searches <= MAX_SEARCHES):
        raise SystemExit(f"at most {MAX_SESSIONS} sessions and {MAX_SEARCHES} searches")
    print("set-up | sessions | searches/s | p50 ms | p95 ms | server CPU ms per search")
    run_throughput(args.throughput_sessions, args.searches, args.fresh, args.timeout)
    print_throughput(args.searches, args.fresh)
    if args.only_throughput:
        return 0
    print("set-up | sessions | p50 ms | p95 ms | wall s | peak RSS MiB (servers) | idle MiB")
    run_setup("one server", one_server(), args.sessions, args.searches, args.timeout)
    run_setup(f"{args.replicas} replicas + nginx", replicas(args.replicas), args.sessions,
              args.searches, args.timeout)
    print(f"\n{args.searches} searches per session, all sessions at once; answer = request "
          "sent → script finished.\n")
    print("| set-up | sessions | search p50 | search p95 | wall | peak RSS (servers) | "
          "RSS before |\n|---|---|---|---|---|---|---|")
    for name, count, p50, top, wall, peak, idle in ROWS:
        print(f"| {name} | {count} | {p50} ms | {top} ms | {wall} s | {peak} MiB | "
              f"{idle} MiB |")
    return 0


def print_throughput(searches: int, fresh: bool) -> None:
    what = "each a place not asked before" if fresh else "places repeating"
    print(f"\n{searches} searches per session ({what}), all sessions searching together "
          "once their pages are open.\n")
    print("| set-up | sessions | searches/s | search p50 | search p95 | server CPU per "
          "search |\n|---|---|---|---|---|---|")
    for name, count, per_s, p50, top, cpu in THROUGHPUT:
        print(f"| {name} | {count} | {per_s} | {p50} ms | {top} ms | {cpu} ms |")


if __name__ == "__main__":
    sys.exit(main())

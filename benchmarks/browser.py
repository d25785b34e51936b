"""Speed in a real browser (headless Chromium), against a bare Streamlit page in the same run.

Run: ``TILBUDSKART_DATA_DIR=../shared/data .venv/bin/python benchmarks/browser.py``
(``--repeat 20`` by default; needs Debian's chromium). Starts two servers on loopback:
the app as served in production (``streamlit run serve.py``) and
``benchmarks/bare_app.py`` (one text input and its echo). Measures, as a person sees it:

- search answer: Enter in the search box → "Viser … fra <place>" visible, p50/p95, and
  its ratio to the bare page's rerun (Enter → "Svar: …" visible). Targets ≤ 300 ms, ≤ 3×.
- coverage page: pick a kommune → the panel shows its heading; switch km/min → the map's
  caption and its kommune tooltips follow; change organisation → the panel's caption
  follows and the map's layer switcher lists that organisation's groups alone, p50/p95.
  Target ≤ 300 ms.
- cold first page: server process start → first page's content visible, after a restart
  (the app data from the disk cache; a first start that had to build it is not counted),
  the page asked for as soon as the server listens (the package's bytecode written
  first, as ``scripts/serve.sh`` does); with the times to listening and to healthy;
  median of 3, beside the bare page's (the same for Streamlit alone). Target ≤ 2 s.
- page weight on a weak link: a first visit (empty cache, a 390 × 844 phone) through
  ``benchmarks/slowlink.py`` (1.5 Mbit/s down, 0.75 up, 150 ms round trip, on every byte,
  the websocket too): the time to the first page (search box and phone lines visible) and
  to the first answer (Karasjok: the nearest group's card visible), and the bytes on the
  wire for the first page and for the first search (each until the network is quiet, the
  map included). Targets ≤ 1.2 MB and ≤ 9 s.

Nothing here is a test: figures are printed as a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # slowlink

from tilbudskart import geocode, settings  # noqa: E402

SEARCH_LABEL = "Adresse, postnummer, sted eller kommune"
QUERIES = ["3840", "Alta", "Tysnes", "0150", "Bodø", "Karasjok", "5200", "Dovre", "Tromsø",
           "Dyrøy"]
KOMMUNER = ["Alta", "Seljord", "Tysnes", "Dovre", "Karasjok", "Dyrøy", "Bergen", "Vardø"]
ROWS: list[tuple[str, str, str]] = []


def row(name: str, figure: str, target: str = "") -> None:
    ROWS.append((name, figure, target))
    print(f"{name:<60} {figure:<40} {target}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(script: str) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start ``streamlit run script``; return the process, its URL and when it began."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1"], cwd=REPO_ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}", began


def wait_until(process: subprocess.Popen[bytes], ready: Callable[[], bool], began: float,
               what: str) -> float:
    """Poll ``ready`` every 10 ms; return the seconds since ``began`` when it is true."""
    while time.perf_counter() - began < 120:
        try:
            if ready():
                return time.perf_counter() - began
        except OSError:
            pass
        time.sleep(0.01)
    process.kill()
    raise SystemExit(f"the server did not {what}")


def listening(url: str) -> Callable[[], bool]:
    """Whether the server accepts connections (a browser's request would reach it)."""
    port = int(url.rsplit(":", 1)[1])

    def ready() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    return ready


def healthy(url: str) -> Callable[[], bool]:
    """Whether ``/_stcore/health`` answers 200 (the app's health check waits for its
    warm-up; see ``tilbudskart.serving.WarmGate``)."""
    def ready() -> bool:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=15) as answer:
            return bool(answer.status == 200)
    return ready


def start(script: str) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start ``streamlit run script``; return the process, its URL and seconds to healthy."""
    process, url, began = launch(script)
    return process, url, wait_until(process, healthy(url), began, "become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def ms(values: list[float]) -> str:
    return f"p50 {1000 * statistics.median(values):.0f} ms, p95 {1000 * p95(values):.0f} ms"


def visible_text(page, text: str, selector: str = "[data-testid=stMarkdownContainer]",
                 timeout: float = 60_000) -> None:
    """Wait until an element of ``selector`` shows ``text`` (and is on screen)."""
    page.wait_for_function(
        """([sel, text]) => [...document.querySelectorAll(sel)].some(
               e => e.innerText.includes(text) && e.getClientRects().length)""",
        arg=[selector, text], timeout=timeout, polling="raf")


_MAP_WINDOWS = "[...document.querySelectorAll('iframe')].map(f => f.contentWindow)"


def map_lists(page, names: list[str], timeout: float = 60_000) -> None:
    """Wait until the coverage map's layer switcher lists exactly these marker layers."""
    page.wait_for_function(
        f"""names => {_MAP_WINDOWS}.some(w => {{
               if (!w || !w.map) return false;
               const shown = [...w.document.querySelectorAll(
                   '.leaflet-control-layers-overlays label')].map(l => l.innerText.trim());
               return shown.length === names.length
                      && names.every(n => shown.includes(n));
           }})""", arg=names, timeout=timeout, polling="raf")


def map_tells(page, word: str, timeout: float = 60_000) -> None:
    """Wait until the coverage map's kommune tooltips are of one measure (``word``)."""
    page.wait_for_function(
        f"""word => {_MAP_WINDOWS}.some(w => {{
               if (!w || !w.map) return false;
               let found = false;
               w.map.eachLayer(l => {{
                   const t = l.feature && l.getTooltip && l.getTooltip();
                   if (t && String(t.getContent()).includes(word)) found = true;
               }});
               return found;
           }})""", arg=word, timeout=timeout, polling="raf")


def shown(page, selector: str, timeout: float = 120_000) -> None:
    """Wait until an element of ``selector`` is on screen (checked every frame, as
    :func:`visible_text`; Playwright's own locator waits poll at up to 0.5 s)."""
    page.wait_for_function(
        "sel => [...document.querySelectorAll(sel)].some(e => e.getClientRects().length)",
        arg=selector, timeout=timeout, polling="raf")


def timed(action: Callable[[], None], done: Callable[[], None]) -> float:
    began = time.perf_counter()
    action()
    done()
    return time.perf_counter() - began


def type_and_enter(page, label: str, value: str) -> Callable[[], None]:
    box = page.get_by_label(label)

    def go() -> None:
        box.press("Enter")

    box.fill(value)
    return go


def choose(page, label: str, option: str) -> Callable[[], None]:
    """Open a selectbox and type an option; the returned action presses Enter."""
    box = page.get_by_label(label, exact=True)
    box.click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).first.wait_for()
    return lambda: page.keyboard.press("Enter")


def bench_bare(page, url: str, repeat: int) -> list[float]:
    page.goto(url, wait_until="networkidle")
    page.get_by_label("Søk").wait_for()
    times = []
    for i in range(repeat + 2):
        value = f"svar-{i}"
        t = timed(type_and_enter(page, "Søk", value), lambda v=value: visible_text(page,
                                                                                  f"Svar: {v}"))
        if i >= 2:  # the first two warm the browser and the server
            times.append(t)
    return times


def bench_search(page, url: str, repeat: int) -> list[float]:
    gazetteer = geocode.Gazetteer.from_data()
    labels = {q: gazetteer.search(q).match.label for q in QUERIES}
    page.goto(f"{url}/?side=finn", wait_until="networkidle")
    page.get_by_label(SEARCH_LABEL).wait_for(timeout=120_000)
    times = []
    for i in range(repeat + 2):
        query = QUERIES[i % len(QUERIES)]
        t = timed(type_and_enter(page, SEARCH_LABEL, query),
                  lambda q=query: visible_text(page, f"fra {labels[q]}."))
        if i >= 2:
            times.append(t)
    return times


def bench_coverage(page, url: str, repeat: int) -> dict[str, list[float]]:
    page.goto(f"{url}/?side=dekning", wait_until="networkidle")
    page.get_by_text("Kilde for tjenestene").wait_for(timeout=120_000)
    times: dict[str, list[float]] = {"kommune": [], "maal": [], "org": []}
    measures = ["Kjøretid med bil og ferje", "Avstand i luftlinje"]
    captions = {"Kjøretid med bil og ferje": "Anslått kjøretid med bil og ferje",
                "Avstand i luftlinje": "Avstand i luftlinje fra kommunesenteret"}
    tooltips = {"Kjøretid med bil og ferje": "Kjøretid", "Avstand i luftlinje": "Avstand"}
    names = [settings.ORGANISATIONS[o] for o in settings.SELF_HELP_ORGANISATIONS]
    organisations = [*names, "Alle selvhjelpsgrupper"]
    # The marker layers the map's switcher lists for each choice.
    layers = {**{name: [name] for name in names}, "Alle selvhjelpsgrupper": names}
    for i in range(repeat + 1):
        name = KOMMUNER[i % len(KOMMUNER)]
        t_k = timed(choose(page, "Kommune", name),
                    lambda n=name: visible_text(page, f"{n} (", "h3"))
        measure = measures[i % 2]
        t_m = timed(choose(page, "Mål", measure),
                    lambda m=measure: (visible_text(page, captions[m],
                                                    "[data-testid=stCaptionContainer]"),
                                       map_tells(page, tooltips[m])))
        org = organisations[i % len(organisations)]
        whose = "nærmeste selvhjelpsgruppe" if org.startswith("Alle") else org
        t_o = timed(choose(page, "Avstand til", org),
                    lambda w=whose, o=org: (visible_text(page, f"avstand til {w}.",
                                                         "[data-testid=stCaptionContainer]"),
                                            map_lists(page, layers[o])))
        if i >= 1:
            times["kommune"].append(t_k)
            times["maal"].append(t_m)
            times["org"].append(t_o)
    return times


def bench_cold(browser, script: str = "serve.py") -> tuple[float, float, float]:
    """Server start → listening, → healthy and → the first page's content visible.

    The page is asked for as soon as the server listens, as a person's browser (or nginx
    in front of a restarted replica) would; health is polled beside it.
    """
    page = browser.new_page(viewport={"width": 1366, "height": 1000})  # a browser already open
    process, url, began = launch(script)
    health: list[float] = []
    try:
        listened = wait_until(process, listening(url), began, "listen")
        poll = threading.Thread(target=lambda: health.append(
            wait_until(process, healthy(url), began, "become healthy")))
        poll.start()
        if script == "serve.py":
            page.goto(f"{url}/?side=finn")
            shown(page, f'input[aria-label="{SEARCH_LABEL}"]')
            visible_text(page, "Ring for råd")
        else:  # the bare page: its one input
            page.goto(url)
            shown(page, 'input[aria-label="Søk"]')
        first = time.perf_counter() - began
        poll.join()
        return listened, health[0], first
    finally:
        page.close()
        stop(process)


WEAK_LINK = {"down_kbit": 1500.0, "up_kbit": 750.0, "rtt_ms": 150.0}


def bench_weak_link(browser, url: str) -> dict[str, float]:
    """A first visit over a weak link: seconds to the page and answer, bytes on the wire."""
    from slowlink import SlowLink

    host, port = url.removeprefix("http://").rsplit(":", 1)
    with SlowLink(host, int(port), **WEAK_LINK) as link:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        try:
            began = time.perf_counter()
            page.goto(f"{link.url}/?side=finn")
            shown(page, f'input[aria-label="{SEARCH_LABEL}"]', timeout=180_000)
            visible_text(page, "Ring for råd", timeout=180_000)
            first_page = time.perf_counter() - began
            page.wait_for_load_state("networkidle", timeout=180_000)
            page.wait_for_timeout(1000)
            page_bytes = link.down_bytes + link.up_bytes
            link.reset()
            began = time.perf_counter()
            type_and_enter(page, SEARCH_LABEL, "Karasjok")()
            shown(page, ".tk-card", timeout=180_000)
            answer = time.perf_counter() - began
            page.wait_for_function(  # the map has drawn too
                "() => [...document.querySelectorAll('iframe')].some(f => f.contentWindow"
                " && f.contentWindow.map)", timeout=180_000)
            page.wait_for_load_state("networkidle", timeout=180_000)
            page.wait_for_timeout(1000)
            search_bytes = link.down_bytes + link.up_bytes
        finally:
            context.close()
    return {"first_page_s": first_page, "answer_s": answer, "first_answer_s": first_page
            + answer, "page_bytes": page_bytes, "search_bytes": search_bytes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only-cold", action="store_true",
                        help="measure the cold first page alone")
    parser.add_argument("--only-weak-link", action="store_true",
                        help="measure the page weight over a weak link alone")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        # The package's bytecode, as scripts/serve.sh writes it before starting.
        subprocess.run([sys.executable, "-m", "compileall", "-q", "src"], cwd=REPO_ROOT,
                       check=False, stdout=subprocess.DEVNULL)
        app, app_url, _ = start("serve.py")
        try:
            bench_weak_link(browser, app_url)  # warms the server: its first visit is not timed
            weak = bench_weak_link(browser, app_url)
        finally:
            stop(app)
        if args.only_weak_link:
            browser.close()
            weak_link_row(weak)
            return print_table()
        bench_cold(browser)  # fills the disk cache if the code or data changed
        colds = [bench_cold(browser) for _ in range(3)]
        bare_colds = [bench_cold(browser, "benchmarks/bare_app.py") for _ in range(3)]
        if not args.only_cold:
            bare, bare_url, _ = start("benchmarks/bare_app.py")
            app, app_url, _ = start("serve.py")
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 1000})
                base = bench_bare(page, bare_url, args.repeat)
                search = bench_search(page, app_url, args.repeat)
                coverage = bench_coverage(page, app_url, args.repeat)
            finally:
                stop(bare)
                stop(app)
        browser.close()
    if not args.only_cold:
        row("Bare Streamlit page: Enter → echo visible", ms(base), "baseline")
        row("Search answer: Enter → 'Viser … fra <sted>' visible", ms(search),
            f"{p95(search) / p95(base):.1f}× the bare page (p95); targets ≤ 300 ms, ≤ 3×")
        for key, label in [("kommune", "Coverage: pick a kommune → its heading"),
                           ("maal", "Coverage: km ↔ min → the map and its caption"),
                           ("org", "Coverage: organisation → the panel and the map")]:
            row(label, ms(coverage[key]), "target p95 ≤ 300 ms")
    listened, ready, first = (statistics.median(x) for x in zip(*colds, strict=True))
    bare_listened, bare_ready, bare_first = (statistics.median(x)
                                             for x in zip(*bare_colds, strict=True))
    row("Cold first page after a restart (median of 3; the page asked for as soon as the "
        "server listens): process start → listening; → healthy; → page visible",
        f"{listened:.2f} s; {ready:.2f} s; {first:.2f} s",
        f"target ≤ 2 s to the page (app data from the disk cache); the bare page: "
        f"{bare_listened:.2f} s; {bare_ready:.2f} s; {bare_first:.2f} s")
    weak_link_row(weak)
    return print_table()


def weak_link_row(weak: dict[str, float]) -> None:
    link = (f"{WEAK_LINK['down_kbit'] / 1000:g} Mbit/s, {WEAK_LINK['rtt_ms']:.0f} ms "
            "round trip")
    row(f"Page weight, first visit on a phone over {link}: bytes on the wire for the "
        "first page; for the first search (map included)",
        f"{weak['page_bytes'] / 1e6:.2f} MB; {weak['search_bytes'] / 1e6:.2f} MB",
        "target ≤ 1.2 MB (first page)")
    row(f"Weak link ({link}), first visit: → first page visible; → first answer "
        "(Karasjok's nearest group on screen)",
        f"{weak['first_page_s']:.1f} s; {weak['first_answer_s']:.1f} s "
        f"(the search itself {weak['answer_s']:.1f} s)", "target ≤ 9 s (first page)")


def print_table() -> int:
    print("\n| benchmark | figure | target / note |\n|---|---|---|")
    for name, figure, target in ROWS:
        print(f"| {name} | {figure} | {target} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

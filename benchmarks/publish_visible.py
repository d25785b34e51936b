"""Benchmark: publish → visible on both replicas of ``scripts/serve.sh 2``.

Run: ``TILBUDSKART_DATA_DIR=../shared/data .venv/bin/python benchmarks/publish_visible.py``

Starts two replicas (and nginx) on loopback with a fresh SQLite store, publishes a list
10 times (each with a new group name) and measures how long until the Meeting Guide feed
of *both* replicas lists the new group. The replicas poll the store every
``published.POLL_SECONDS`` s and rebuild in the background, so the figure is about half
the poll interval plus one rebuild; the target is ≤ 10 s at p95. The baseline measured
in the same run is one rebuild of the data in this process (what each replica does).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from replicas import Replicas  # noqa: E402
from tilbudskart import importers, pipeline, published  # noqa: E402
from tilbudskart.store import open_store  # noqa: E402

PUBLISHES = 10


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tilbudskart-bench-") as folder:
        root = Path(folder)
        store = open_store(f"sqlite:///{root / 'state' / 'registry.sqlite3'}")
        _, key = store.add_steward("al_anon")
        data = pipeline.load_app_data()
        start = time.perf_counter()
        pipeline.rebuilt_app_data(data)
        rebuild = time.perf_counter() - start
        (root / "run").mkdir()
        with Replicas(root / "run", {"TILBUDSKART_STATE_DIR": str(root / "state"),
                                     "TILBUDSKART_PLANNING_WARM": "off"}) as servers:
            seconds = []
            for i in range(PUBLISHES):
                name = f"Al-Anon benk {i}"
                listing = f"navn;sted;organisasjon\n{name};Vardø;Al-Anon\n".encode()
                store.publish(importers.import_bytes(listing, f"benk{i}.csv"), "al_anon",
                              key, "b" * 64)
                seconds.append(servers.wait_for(name, timeout=60))
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(f"| publish → visible on both replicas ({PUBLISHES} publishes, poll every "
          f"{published.POLL_SECONDS:g} s) | median {statistics.median(seconds):.2f} s | "
          f"p95 {p95:.2f} s | max {max(seconds):.2f} s | one rebuild here "
          f"{rebuild:.2f} s | target p95 ≤ 10 s |")


if __name__ == "__main__":
    main()

"""Both replicas of scripts/serve.sh 2 show a publish, and a rollback, within 10 s."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from replicas import Replicas
from tilbudskart import feed, importers
from tilbudskart.store import open_store

pytestmark = pytest.mark.skipif(shutil.which("nginx") is None
                                and not Path("/usr/sbin/nginx").exists(),
                                reason="nginx is not installed (serve.sh needs it)")


def test_a_publish_and_a_rollback_reach_both_replicas(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = open_store(f"sqlite:///{state / 'registry.sqlite3'}")
    _, key = store.add_steward("al_anon")
    run = tmp_path / "run"
    run.mkdir()
    with Replicas(run, {"TILBUDSKART_STATE_DIR": str(state),
                        "TILBUDSKART_PLANNING_WARM": "off"}) as servers:
        before = servers.feed(0)
        assert servers.feed(1) == before and "Al-Anon Vardø" not in servers.names(0)
        listing = "navn;sted;organisasjon\nAl-Anon Vardø;Vardø;Al-Anon\n".encode()
        store.publish(importers.import_bytes(listing, "vardo.csv"), "al_anon", key, "a" * 64)
        assert servers.wait_for("Al-Anon Vardø") < 10
        published = [m for m in servers.feed(1) if m["organisation"] == "al_anon"]
        assert [m["name"] for m in published] == ["Al-Anon Vardø"]
        assert published[0]["updated"].startswith(str(store.latest()["al_anon"]
                                                      .published_at)[:10])
        # A rollback to the 2007 report brings back its groups everywhere.
        store.rollback("al_anon", 0, key)
        assert servers.wait_for(None, absent="Al-Anon Vardø") < 10
        assert servers.feed(0) == servers.feed(1)
        assert {m["slug"] for m in servers.feed(0)} == {m["slug"] for m in before}
    assert feed.FEED_PATH == "/feed/meeting-guide.json"

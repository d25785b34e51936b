"""The registry store on SQLite and on PostgreSQL: versions, stewards, faults."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tilbudskart import importers, registry
from tilbudskart.store import RefusedError, StoreError, keys, open_store
from tilbudskart.store.schema import metadata, version_rows, versions


def a_list(*places: str, organisation: str = "LMS", name: str = "lms.csv"
           ) -> importers.ImportResult:
    lines = ["navn;sted;organisasjon", *(f"{organisation} {p};{p};{organisation}"
                                         for p in places)]
    return importers.import_bytes("\n".join(lines).encode(), name)


def checksum(result: importers.ImportResult) -> str:
    return hashlib.sha256(result.file.encode()).hexdigest()


def test_publish_keeps_every_version(store_url: str) -> None:
    store = open_store(store_url)
    assert store.head() == 0 and store.latest() == {}
    key_id, key = store.add_steward("lms")
    first = store.publish(a_list("Tromsø", "Alta"), "lms", key, "a" * 64)
    second = store.publish(a_list("Bodø"), "lms", key, "b" * 64)
    assert (first.number, second.number) == (1, 2)
    assert first.steward_key_id == key_id and first.rows_used == 2
    assert store.latest()["lms"].id == second.id == store.head()
    history = store.history("lms")
    assert [v.number for v in history] == [1, 2]
    assert history[0].superseded_by == second.id and history[1].superseded_by is None
    # Nothing is deleted: the first version's rows are all still there.
    assert list(store.rows(history[0])["place"]) == ["Tromsø", "Alta"]
    assert list(store.rows(store.latest()["lms"])["place"]) == ["Bodø"]
    rows = store.rows(history[0])
    assert rows["source_row"].dtype == "Int64" and rows.loc[0, "attendance"] == "physical"


def test_rollback_publishes_an_earlier_version_again(store_url: str) -> None:
    store = open_store(store_url)
    _, key = store.add_steward("lms")
    store.publish(a_list("Tromsø", "Alta"), "lms", key, "a" * 64)
    store.publish(a_list("Bodø"), "lms", key, "b" * 64)
    again = store.rollback("lms", 1, key)
    assert (again.number, again.rows_from, again.checksum) == (3, 1, "a" * 64)
    assert list(store.rows(again)["place"]) == ["Tromsø", "Alta"]
    report = store.rollback("lms", 0, key)
    base = registry.load_registry()
    assert report.number == 4 and report.rows_from == 0
    assert report.rows_used == int((base["organisation"] == "lms").sum())
    assert len(store.history("lms")) == 4
    with pytest.raises(RefusedError, match="no version 9"):
        store.rollback("lms", 9, key)


def test_keys_are_checked_and_never_repeated(store_url: str) -> None:
    store = open_store(store_url)
    key_id, key = store.add_steward("lms")
    other_id, other = store.add_steward("al_anon")
    listing = store.stewards()
    assert set(listing["key_id"]) == {key_id, other_id}
    assert "key_hash" not in listing.columns
    with pytest.raises(RefusedError, match=f"{other_id} publishes for al_anon only") as wrong:
        store.publish(a_list("Alta"), "lms", other, "a" * 64)
    assert other.split(".")[1] not in str(wrong.value)
    with pytest.raises(RefusedError, match="wrong") as bad:
        store.publish(a_list("Alta"), "lms", key + "x", "a" * 64)
    assert key not in str(bad.value)
    store.revoke(key_id)
    with pytest.raises(RefusedError, match=f"{key_id} was revoked"):
        store.publish(a_list("Alta"), "lms", key, "a" * 64)
    with pytest.raises(RefusedError, match="already revoked"):
        store.revoke(key_id)
    assert store.head() == 0
    # Only the hash is stored, and it is a scrypt hash of the key.
    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT key_hash FROM stewards")).scalars().all()
    assert all(h.startswith("scrypt$") and key not in h for h in stored)


def test_wrong_keys_are_slowed_down(store_url: str) -> None:
    store = open_store(store_url)
    _, key = store.add_steward("lms")
    for _ in range(keys.MAX_FAILURES):
        with pytest.raises(RefusedError, match="wrong"):
            store.check_key("st-00000000.guess", "lms", session="s1")
    # The sixth try within the minute is refused without being checked, even the right key.
    with pytest.raises(RefusedError, match="too many wrong steward keys"):
        store.check_key(key, "lms", session="s1")
    # Another session is not held up.
    assert store.check_key(key, "lms", session="s2").startswith("st-")


def test_lists_with_errors_or_other_organisations_are_refused(store_url: str) -> None:
    store = open_store(store_url)
    _, key = store.add_steward("lms")
    broken = importers.import_bytes(b"navn;sted;organisasjon;postnummer\n"
                                    b"LMS Alta;Alta;LMS;12345\nLMS Bod\xc3\xb8;Bod\xc3\xb8;LMS;\n",
                                    "broken.csv")
    with pytest.raises(RefusedError, match=r"broken.csv, row 2, field 'postcode'.*cannot be "
                                           r"published"):
        store.publish(broken, "lms", key, "a" * 64)
    with pytest.raises(RefusedError, match="rows of al_anon in a list published for lms"):
        store.publish(a_list("Alta", organisation="Al-Anon"), "lms", key, "a" * 64)
    with pytest.raises(RefusedError, match="unknown organisation"):
        store.add_steward("nobody")
    assert store.head() == 0


def test_concurrent_publishes_are_all_recorded_in_order(store_url: str) -> None:
    store = open_store(store_url)
    _, key = store.add_steward("lms")
    barrier = threading.Barrier(4)
    failures: list[BaseException] = []

    def publish(worker: int) -> None:
        mine = open_store(store_url)
        barrier.wait()
        try:
            for n in range(3):
                mine.publish(a_list(f"Sted {worker}-{n}"), "lms", key, "a" * 64)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    history = store.history("lms")
    assert [v.number for v in history] == list(range(1, 13))
    # Every version but the newest is superseded by exactly the next one.
    assert [v.superseded_by for v in history] == [v.id for v in history[1:]] + [None]
    places = {p for v in history for p in store.rows(v)["place"]}
    assert places == {f"Sted {w}-{n}" for w in range(4) for n in range(3)}


_KILLED_CHILD = """
import sys, time
from sqlalchemy import event
from tilbudskart import importers
from tilbudskart.store import open_store
store = open_store(sys.argv[1])
@event.listens_for(store.engine, "after_cursor_execute")
def pause(conn, cursor, statement, parameters, context, executemany):
    if "version_rows" in statement and statement.lstrip().upper().startswith("INSERT"):
        print("inserted", flush=True)
        time.sleep(60)
lines = ["navn;sted;organisasjon"] + [f"LMS {i};Alta;LMS" for i in range(500)]
store.publish(importers.import_bytes("\\n".join(lines).encode(), "big.csv"), "lms",
              sys.argv[2], "c" * 64)
"""


def test_a_publish_killed_midway_leaves_the_previous_version(store_url: str) -> None:
    store = open_store(store_url)
    _, key = store.add_steward("lms")
    before = store.publish(a_list("Tromsø"), "lms", key, "a" * 64)
    child = subprocess.Popen([sys.executable, "-c", _KILLED_CHILD, store_url, key],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "inserted"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(30)
    after = open_store(store_url)
    assert after.latest()["lms"] == before and after.head() == before.id
    with after.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(version_rows)).scalar() == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(versions)).scalar() == 1
    # The lock died with the process: the next publish goes through.
    assert after.publish(a_list("Bodø"), "lms", key, "b" * 64).number == 2


def test_migrations_make_the_schema_the_code_describes(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = open_store(store_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert open_store(store_url).head() == 0  # a second open migrates nothing


def test_a_corrupted_or_foreign_database_file_is_named(tmp_path: Path) -> None:
    corrupted = tmp_path / "corrupted.sqlite3"
    corrupted.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match=f"{corrupted}: not a usable registry store"):
        open_store(f"sqlite:///{corrupted}")
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    with pytest.raises(StoreError, match=f"{foreign}: a database of something else"):
        open_store(f"sqlite:///{foreign}")


def test_an_unreachable_server_is_named_without_its_password() -> None:
    url = "postgresql+psycopg://steward:hunter2@127.0.0.1:9/registry"
    with pytest.raises(StoreError, match="cannot be reached") as error:
        open_store(url)
    assert "hunter2" not in str(error.value) and "127.0.0.1:9" in str(error.value)


def test_the_default_store_lives_in_the_state_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TILBUDSKART_DATABASE_URL", raising=False)
    monkeypatch.setenv("TILBUDSKART_STATE_DIR", str(tmp_path / "state"))
    store = open_store()
    assert store.where == str(tmp_path / "state" / "registry.sqlite3")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_url_of_no_known_database_is_one_message() -> None:
    with pytest.raises(StoreError, match="not a usable database URL") as error:
        open_store("nosuchdb://steward:hunter2@db.example/registry")
    assert "hunter2" not in str(error.value)

"""The set of build outputs switches at once; killed builds leave the old set and get cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import tilbudskart
from tilbudskart import outputs


def publish(out: Path, files: dict[str, str]) -> list[Path]:
    with outputs.publishing(out) as publication:
        for name, text in files.items():
            (publication.folder / name).write_text(text, encoding="utf-8")
    # Every build also writes its BUILD file (tested on its own below).
    return [p for p in publication.written if p.name != outputs.BUILD_FILE]


def contents(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()
            if p.is_file() and p.name not in (outputs.CURRENT, outputs.BUILD_FILE)}


OLD = {"services.csv": "old services", "kommuner.csv": "old kommuner", "x.gpkg": "old gpkg"}
NEW = {"services.csv": "new services", "kommuner.csv": "new kommuner", "x.gpkg": "new gpkg"}


def test_publish_switches_the_whole_set_through_one_link(tmp_path):
    out = tmp_path / "out"
    written = publish(out, OLD)
    assert [p.name for p in written] == sorted(OLD)
    assert contents(out) == OLD
    first = outputs.current_build(out)
    publish(out, NEW)
    assert contents(out) == NEW
    for name in NEW:
        assert os.readlink(out / name) == f"current/{name}"
    # The previous set is kept until the next build (readers that resolved it in time).
    assert first is not None and first.is_dir()
    publish(out, OLD)
    assert not first.exists()
    assert len([p for p in (out / outputs.BUILDS).iterdir() if p.is_dir()]) == 2


def test_any_extra_output_file_is_published_and_a_dropped_one_unlinked(tmp_path):
    out = tmp_path / "out"
    publish(out, {**OLD, "travel_anomalies.csv": "a", "import_report.csv": "b"})
    assert contents(out)["travel_anomalies.csv"] == "a"
    publish(out, NEW)
    assert contents(out) == NEW
    assert not (out / "travel_anomalies.csv").is_symlink()


def test_failure_while_writing_keeps_the_old_set_and_removes_the_new_folder(tmp_path):
    out = tmp_path / "out"
    publish(out, OLD)
    with pytest.raises(OSError, match="simulated"), outputs.publishing(out) as publication:
        (publication.folder / "services.csv").write_text("half", encoding="utf-8")
        raise OSError("disk full (simulated)")
    assert contents(out) == OLD
    assert not publication.folder.exists()


def test_failure_at_the_switch_keeps_the_old_set(tmp_path, monkeypatch):
    out = tmp_path / "out"
    publish(out, OLD)
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == outputs.CURRENT:
            raise KeyboardInterrupt  # killed at the very switch
        real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        publish(out, NEW)
    assert calls == [outputs.CURRENT]
    monkeypatch.undo()
    assert contents(out) == OLD
    assert not list(out.glob(outputs.TEMP_LINK + "*"))


def test_killed_build_leaves_old_set_complete_and_next_build_removes_its_folder(tmp_path):
    out = tmp_path / "out"
    publish(out, OLD)
    legacy = out / ".tilbudskart-abc123"  # staging folder of the earlier layout
    legacy.mkdir()
    (legacy / "tilbudskart.gpkg").write_bytes(b"SQLite format 3\x00truncated")
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tilbudskart import outputs\n"
        "with outputs.publishing(Path(sys.argv[1])) as publication:\n"
        "    (publication.folder / 'services.csv').write_text('new services')\n"
        "    (publication.folder / 'x.gpkg').write_bytes(b'SQLite format 3\\x00trunc')\n"
        "    print(publication.folder, flush=True)\n"
        "    time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(tilbudskart.__file__).parents[1])}
    process = subprocess.Popen([sys.executable, "-c", script, str(out)], env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        staging = Path(process.stdout.readline().strip())
        assert staging.is_dir() and (staging / "x.gpkg").is_file()
        # While it writes, a second build is refused rather than interleaved.
        with pytest.raises(outputs.OutputError, match="another build"):
            publish(out, NEW)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert contents(out) == OLD  # the old set is complete
    assert staging.is_dir()  # and the killed build left its folder
    publish(out, NEW)
    assert contents(out) == NEW
    assert not staging.exists() and not legacy.exists()


def test_first_build_over_plain_files_of_the_earlier_layout(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name, text in OLD.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    publish(out, NEW)
    assert contents(out) == {**NEW, "notes.txt": "mine"}
    assert all((out / name).is_symlink() for name in NEW)


def test_a_real_folder_named_current_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    (out / outputs.CURRENT).mkdir(parents=True)
    with pytest.raises(outputs.OutputError, match="no build made"):
        publish(out, NEW)
    assert (out / outputs.CURRENT).is_dir()


def test_check_writable(tmp_path):
    outputs.check_writable(tmp_path / "new" / "deeper")  # can be made
    assert not (tmp_path / "new").exists()  # and the check left nothing
    assert list(tmp_path.iterdir()) == []
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(outputs.OutputError, match="is not a folder"):
        outputs.check_writable(afile)
    with pytest.raises(outputs.OutputError, match="is a file"):
        outputs.check_writable(afile / "sub")
    with pytest.raises(outputs.OutputError, match="is not a folder"):
        outputs.check_writable(Path(os.devnull))
    with pytest.raises(outputs.OutputError, match="cannot write"):
        outputs.check_writable(Path("/proc/tilbudskart-out"))


def test_read_only_folder_is_refused(tmp_path, monkeypatch):
    # chmod does not stop root (these tests may run as root), so the refusal the
    # operating system gives a normal user for a read-only folder is simulated.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkdtemp", refuse)
    with pytest.raises(outputs.OutputError, match=r"cannot write to .*Permission denied"):
        outputs.check_writable(tmp_path / "out")


def test_a_pickle_replaces_the_old_one_at_once_and_removes_older_caches(tmp_path: Path) -> None:
    import pickle

    (tmp_path / "appdata-old.pickle").write_bytes(b"stale")
    (tmp_path / "planner-other.pickle").write_bytes(b"not ours")
    path = tmp_path / "caches" / "appdata-new.pickle"
    (tmp_path / "caches").mkdir()
    (tmp_path / "caches" / "appdata-old.pickle").write_bytes(b"stale")
    outputs.replace_pickle({"a": 1}, path, "appdata-*.pickle")
    assert pickle.loads(path.read_bytes()) == {"a": 1}
    assert sorted(p.name for p in path.parent.iterdir()) == ["appdata-new.pickle"]
    # Only the folder of the pickle is cleaned, and only what the pattern names.
    assert (tmp_path / "appdata-old.pickle").exists()
    assert (tmp_path / "planner-other.pickle").exists()
    outputs.replace_pickle({"a": 2}, path, "appdata-*.pickle")
    assert pickle.loads(path.read_bytes()) == {"a": 2}


def test_a_pickle_into_an_unwritable_place_raises_oserror(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(OSError):
        outputs.replace_pickle({}, blocker / "appdata-x.pickle", "appdata-*.pickle")


def test_a_reader_that_resolves_current_once_reads_one_build_across_a_swap(tmp_path):
    out = tmp_path / "out"
    publish(out, {"services.csv": "id,build_id\nA,first\n",
                  "kommuner.csv": "k,build_id\n1,first\n"})
    first = (out / outputs.BUILD_FILE).read_text(encoding="utf-8").strip()
    assert first == outputs.current_build(out).name  # out/BUILD names the build

    def build_id(path: Path) -> str:
        return path.read_text(encoding="utf-8").splitlines()[1].split(",")[-1]

    # Read services, a build is published, read kommuner: through out/<name> a mix ...
    folder = outputs.resolve_current(out)
    services_plain = build_id(out / "services.csv")
    services_once = build_id(folder / "services.csv")
    publish(out, {"services.csv": "id,build_id\nA,second\n",
                  "kommuner.csv": "k,build_id\n1,second\n"})
    assert (services_plain, build_id(out / "kommuner.csv")) == ("first", "second")
    # ... through the folder resolved once, one build (kept through the next swap).
    assert (services_once, build_id(folder / "kommuner.csv")) == ("first", "first")
    assert (folder / outputs.BUILD_FILE).read_text(encoding="utf-8").strip() == first
    assert (out / outputs.BUILD_FILE).read_text(encoding="utf-8").strip() != first


def test_no_published_build_is_said(tmp_path):
    with pytest.raises(outputs.OutputError, match="no published build"):
        outputs.resolve_current(tmp_path)

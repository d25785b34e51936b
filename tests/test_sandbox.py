"""The box for untrusted lists, and the hostile corpus through the importer API and the CLI."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import hostile
from tilbudskart import cli, importers, sandbox

EXPECTED = pd.read_csv(hostile.HOSTILE / "expected.csv", dtype=str, keep_default_na=False)
#: A message that starts with an exception's class name ("ValueError: …", "error: OSError").
RAW_EXCEPTION = re.compile(r"^(error: )?(\S+: )?[A-Z]\w*(Error|Exception|Exit)\b")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every file of the corpus: the committed ones and the big ones made now."""
    files = {p.name: p for p in hostile.HOSTILE.iterdir() if p.name != "expected.csv"}
    files.update(hostile.write_big(tmp_path_factory.mktemp("hostile")))
    return files


def test_the_corpus_is_whole_and_written_by_its_generator(corpus):
    assert len(EXPECTED) >= 30
    assert set(EXPECTED["file"]) == set(corpus)
    for name, content in hostile.small_files().items():
        assert (hostile.HOSTILE / name).read_bytes() == content, name


def _check_message(text: str) -> None:
    assert not RAW_EXCEPTION.match(text), text
    assert "\n" not in text.strip() and "Traceback" not in text, text


@pytest.mark.parametrize("row", EXPECTED.to_dict("records"), ids=list(EXPECTED["file"]))
def test_every_hostile_file_gets_its_category_and_one_clear_line(row, corpus):
    data = corpus[row["file"]].read_bytes()
    try:
        result = importers.import_bytes(data, row["file"])
    except importers.ImportFileError as exc:
        assert row["category"] == "refused", str(exc)
        assert row["expect"] in exc.reason
        _check_message(exc.reason)
        assert importers.norwegian(exc.reason), exc.reason
        return
    assert row["category"] == "read", result.describe()
    problems = list(result.report["problem"])
    assert not row["expect"] or any(row["expect"] in p for p in problems), problems
    for problem, norwegian in zip(problems, result.report["problem_nb"], strict=True):
        _check_message(problem)
        assert norwegian != problem or importers.norwegian(problem), problem


def test_the_corpus_through_the_cli(corpus, tmp_path, capsys):
    refused = EXPECTED[EXPECTED["category"] == "refused"]
    for name in refused["file"]:
        code = cli.main(["build", "--import", str(corpus[name]), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code == 1, name
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], err
        _check_message(lines[0].removeprefix("error: "))
    read = EXPECTED[EXPECTED["category"] == "read"]["file"]
    args = [item for name in read for item in ("--import", str(corpus[name]))]
    assert cli.main(["build", *args, "--out", str(tmp_path / "read")]) == 0
    out = capsys.readouterr()
    for line in (out.out + out.err).splitlines():
        _check_message(line.strip())
    report = pd.read_csv(tmp_path / "read" / "import_report.csv", encoding="utf-8-sig",
                         dtype=str, keep_default_na=False)
    assert set(report["file"]) >= {"latitude_5000_digits.json", "day_minus_one_and_99.json"}


def test_the_box_gives_the_same_result_as_reading_in_process(corpus):
    for name in ("good.xlsx", "day_minus_one_and_99.json", "formula_text.csv",
                 "utf16_be_no_bom.csv"):
        data = corpus[name].read_bytes()
        boxed = sandbox.import_isolated(data, name, known_postcodes=["3840"])
        direct = importers.import_bytes(data, name, known_postcodes=["3840"])
        pd.testing.assert_frame_equal(boxed.services, direct.services)
        pd.testing.assert_frame_equal(boxed.report, direct.report)
        assert boxed.describe() == direct.describe()


def test_a_refusal_in_the_box_names_the_file_and_field(corpus):
    with pytest.raises(importers.ImportFileError) as caught:
        sandbox.import_isolated(corpus["xfd_one_cell.xlsx"].read_bytes(), "xfd_one_cell.xlsx")
    assert caught.value.reason.startswith("the sheet says it reaches cell XFD1048576")
    with pytest.raises(importers.ImportFileError) as caught:
        sandbox.import_isolated(b"a;b\n1;2\n", "x.csv")
    assert caught.value.field == "name"


def test_a_reader_that_aborts_is_a_refused_file_not_a_dead_caller():
    command = (sys.executable, "-c", "import os; os.abort()")
    with pytest.raises(importers.ImportFileError) as caught:
        sandbox._run_worker(b"{}\n", "x.xlsx", command)
    assert "could not be read safely" in caught.value.reason
    assert importers.norwegian(caught.value.reason) == ("fila kunne ikke leses trygt (leseren "
                                                        "stoppet); fila avvises")


def test_the_memory_limit_stops_calamine_on_the_xfd_file_without_the_pre_check(corpus):
    # The real failure of issue 19: calamine asks for 512 GiB and Rust aborts the process.
    # Without the pre-check, inside the box, only the worker dies.
    path = corpus["xfd_one_cell.xlsx"]
    command = (sys.executable, "-c",
               "from tilbudskart import sandbox; sandbox._limit_self(); "
               "from python_calamine import CalamineWorkbook; "
               f"CalamineWorkbook.from_path({str(path)!r}).get_sheet_by_index(0).to_python()")
    with pytest.raises(importers.ImportFileError) as caught:
        sandbox._run_worker(b"", path.name, command)
    assert "out of memory" in caught.value.reason or "exit" in caught.value.reason


def test_a_worker_past_its_time_is_killed(monkeypatch):
    monkeypatch.setattr(sandbox, "WALL_SECONDS", 1)
    command = (sys.executable, "-c", "import time; time.sleep(30)")
    with pytest.raises(importers.ImportFileError) as caught:
        sandbox._run_worker(b"", "slow.csv", command)
    assert caught.value.reason == "reading the file took more than 1 s; the file is refused"
    assert importers.norwegian(caught.value.reason)


def test_garbage_from_a_worker_is_a_refused_file():
    command = (sys.executable, "-c", "print('{\"result\": ')")
    with pytest.raises(importers.ImportFileError, match="no answer"):
        sandbox._run_worker(b"", "x.csv", command)


def test_one_list_is_read_at_a_time_and_the_next_is_told_to_wait():
    told = threading.Event()
    results: list[importers.ImportResult] = []
    sandbox._ONE_AT_A_TIME.acquire()
    try:
        worker = threading.Thread(target=lambda: results.append(sandbox.import_isolated(
            importers.template_bytes("csv"), "mal.csv", on_wait=told.set)))
        worker.start()
        assert told.wait(10)
        worker.join(0.5)
        assert worker.is_alive() and not results  # still waiting for the box
    finally:
        sandbox._ONE_AT_A_TIME.release()
    worker.join(60)
    assert len(results) == 1 and len(results[0].services) == 2


def test_every_refused_file_is_one_norwegian_line_on_the_upload_page(corpus, gazetteer):
    # The app's own path (pipeline.apply_upload, the box included), one file at a time; a
    # refused file never reaches the tables, so the app data needs only its gazetteer.
    from tilbudskart import pipeline

    data = pipeline.AppData(gazetteer=gazetteer, grid=pd.DataFrame(), network=None,
                            services=pd.DataFrame(), kommuner=pd.DataFrame(), polygons=None,
                            lines=pd.DataFrame(), attributions=[])
    refused = EXPECTED[EXPECTED["category"] == "refused"]["file"]
    for name in refused:
        upload = pipeline.apply_upload(data, [(name, corpus[name].read_bytes()[:6_000_000])],
                                       organisation="lms")
        assert upload.data is None and len(upload.problems) == 1, name
        problem = upload.problems[0]
        assert problem.startswith(f"{name}: ") and "\n" not in problem, problem
        reason = problem.removeprefix(f"{name}: ")
        _check_message(reason)
        assert importers.norwegian(reason) is None, reason  # already Norwegian, not English


def test_searches_go_on_while_a_list_is_parsed(corpus, gazetteer):
    # The parse runs in another process: this one (the server's) keeps answering.
    data = corpus["xfd_column_20000_rows.xlsx"].read_bytes()
    big = importers.template_bytes("csv") + "Gruppe;LMS;Bø;;;;;;;;\r\n".encode() * 5_000
    done = threading.Event()
    refusals: list[str] = []

    def parse() -> None:
        try:
            for content, name in ((data, "xfd.xlsx"), (big, "stor.csv")):
                try:
                    sandbox.import_isolated(content, name)
                except importers.ImportFileError as exc:
                    refusals.append(exc.reason)
        finally:
            done.set()

    worker = threading.Thread(target=parse)
    worker.start()
    answered = 0
    while not done.is_set():
        assert gazetteer.search("Seljord").ok
        answered += 1
    worker.join()
    assert answered > 10  # the search answered all the while (the box holds no lock)
    assert len(refusals) == 1 and "column 16384" in refusals[0]


def test_a_list_of_20_000_rows_fits_in_the_box():
    # The largest list allowed comes back whole under the memory limit (the answer is
    # streamed: built as one string it needed more than 512 MiB).
    rows = "Pårørendegruppe med et navn av vanlig lengde;LMS;Seljord;Brøløsvegen 1;3840;" \
           "Telemark;400 00 000;gruppe@example.no;fysisk;https://example.no/m;Hver tirsdag\r\n"
    big = importers.template_bytes("csv") + rows.encode() * (importers.MAX_ROWS - 2)
    result = sandbox.import_isolated(big, "stor.csv", known_postcodes=["3840"])
    assert result.rows_read == importers.MAX_ROWS and len(result.services) == importers.MAX_ROWS

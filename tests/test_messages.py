"""Messages for failures outside the data: a full disk is said in words, not as an errno."""

from __future__ import annotations

import errno
import shutil
from collections import namedtuple

import pytest

from tilbudskart import cli, cli_commands


class DataSourceError(RuntimeError):
    """Stands in for pyogrio's error (its message says no more than this)."""


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("sqlite3.OperationalError: database or disk is full"),
    DataSourceError("Failed to commit transaction"),
])
def test_a_full_disk_is_said_in_words(error, tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(cli_commands, "build_dataset", lambda *a, **k: object())
    monkeypatch.setattr(cli_commands, "write_outputs", fail)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, 0))
    assert cli.main(["build", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the disk is full (disken er full)"), err
    assert "Errno" not in err and "Error" not in err


def test_an_error_with_space_left_is_not_called_a_full_disk(tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise DataSourceError("Failed to commit transaction")

    monkeypatch.setattr(cli_commands, "build_dataset", lambda *a, **k: object())
    monkeypatch.setattr(cli_commands, "write_outputs", fail)
    assert cli.main(["build", "--out", str(tmp_path / "out")]) == 1
    assert "disk is full" not in capsys.readouterr().err

"""Settings: the data year and the number of kommuner live there, and only there."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tilbudskart import datasources, settings

ROOT = Path(__file__).resolve().parents[1]


def test_no_source_file_outside_settings_names_the_boundary_year_or_the_kommune_count():
    # Moving to new boundaries is a change in settings (and a manifest row), not a hunt.
    named = re.compile(rf"(?<!\d)({settings.DATA_YEARS['boundaries']}|"
                       rf"{settings.KOMMUNE_COUNT})(?!\d)")
    sources = [*sorted((ROOT / "src" / "tilbudskart").rglob("*.py")), ROOT / "app.py",
               ROOT / "serve.py"]
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in sources
             if path.name != "settings.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if named.search(line)]
    assert found == []


def test_the_kommune_count_is_the_boundary_files():
    assert len(datasources.read_kommuner("S")) == settings.KOMMUNE_COUNT
    assert str(settings.DATA_YEARS["boundaries"]) in settings.DATA_FILES["kommuner_M"]


def test_environment_variables_are_read_in_settings_only():
    reads = re.compile(r"os\.environ|getenv\(")
    sources = [*sorted((ROOT / "src" / "tilbudskart").rglob("*.py")), ROOT / "app.py"]
    found = [str(path.relative_to(ROOT)) for path in sources
             if path.name != "settings.py" and reads.search(path.read_text(encoding="utf-8"))]
    assert found == []


def test_environment_settings_are_read_when_asked(monkeypatch):
    monkeypatch.setenv(settings.IMPORTS_ENV, f"a.csv{os.pathsep}b.xlsx")
    assert settings.imports() == (Path("a.csv"), Path("b.xlsx"))
    monkeypatch.delenv(settings.IMPORTS_ENV)
    assert settings.imports() == ()
    monkeypatch.delenv(settings.PLANNING_WARM_ENV, raising=False)
    assert settings.planning_warm() == "all"
    monkeypatch.setenv(settings.PLANNING_WARM_ENV, "off")
    assert settings.planning_warm() == "off"

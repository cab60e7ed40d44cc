"""Layering rules from DESIGN.md that a refactoring could silently break."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import omnipost_tui

ROOT = Path(omnipost_tui.__file__).resolve().parent.parent

# Runs in a fresh interpreter: imports every module of the package except the TUI (without
# importing the TUI package on the way, which pkgutil.walk_packages would do), then reports
# what got imported.
IMPORT_ALL = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    import omnipost_tui

    SKIP = "omnipost_tui.tui"
    # Alembic's env script runs only inside alembic (it reads alembic's context at import).
    SCRIPTS = {"omnipost_tui.migrations.env"}
    imported, failed = [], {}

    def walk(package):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            name = info.name
            if name == SKIP or name.startswith(SKIP + ".") or name in SCRIPTS:
                continue
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                failed[name] = repr(exc)
                continue
            imported.append(name)
            if info.ispkg:
                walk(module)

    walk(omnipost_tui)
    print(json.dumps({
        "imported": imported,
        "failed": failed,
        "textual": sorted(m for m in sys.modules if m.split(".")[0] == "textual"),
        "tui_loaded": sorted(m for m in sys.modules if m == SKIP or m.startswith(SKIP + ".")),
    }))
    """
)


def import_everything_but_the_tui(extra: str = "") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL.replace("SKIP = ", extra + "\nSKIP = ", 1)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def report() -> dict:
    return import_everything_but_the_tui()


def test_every_core_module_imports(report):
    assert report["failed"] == {}
    # The walk really covered the package, not just its top.
    for name in (
        "omnipost_tui.cli",
        "omnipost_tui.db",
        "omnipost_tui.models",
        "omnipost_tui.migrations.versions.0002_publishing_engine",
        "omnipost_tui.services.variants",
        "omnipost_tui.services.publishing",
        "omnipost_tui.engine.worker",
        "omnipost_tui.connectors.facebook",
        "omnipost_tui.connectors.linkedin",
        "omnipost_tui.sandbox.server",
    ):
        assert name in report["imported"]
    assert len(report["imported"]) >= 30


def test_core_never_imports_textual(report):
    assert report["textual"] == [], f"core modules pulled in textual: {report['textual'][:5]}"
    assert report["tui_loaded"] == []


def test_the_check_would_notice_textual():
    # Guard against a check that cannot fail: import textual the way a careless module would.
    if subprocess.run([sys.executable, "-c", "import textual"], capture_output=True).returncode:
        pytest.skip("textual is not installed")
    report = import_everything_but_the_tui(extra="import textual")
    assert "textual" in report["textual"]

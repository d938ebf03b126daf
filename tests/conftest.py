"""Shared test fixtures: environment hygiene for every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from textgate import aws, secrets
from textgate.settings import GIVEN, get_settings


def given_setting_names() -> list[str]:
    """The names a function is given only when it uses them (tables, queues, secrets, the bus, Ogangi's URL)."""
    return sorted(GIVEN)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Settings, clients and secrets are cached per container; a test is a fresh container."""
    get_settings.cache_clear()
    aws.reset()
    secrets.clear_cache()
    yield
    get_settings.cache_clear()
    aws.reset()
    secrets.clear_cache()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Forget the figures of an earlier run (only the controller, not each xdist worker)."""
    import shutil
    from pathlib import Path

    if not hasattr(session.config, "workerinput"):
        shutil.rmtree(Path(__file__).resolve().parents[1] / ".test-reports", ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures a suite wrote (the fault-injection counts), also when it ran on an xdist worker."""
    from pathlib import Path

    reports = Path(__file__).resolve().parents[1] / ".test-reports"
    for report in sorted(reports.glob("*.txt")) if reports.exists() else []:
        terminalreporter.write_sep("-", report.stem)
        terminalreporter.write_line(report.read_text().rstrip())

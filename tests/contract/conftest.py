"""Contract tier: real provider clients against sandbox HTTP servers that check requests as providers do.

The fixtures every file uses: `serving` starts sandboxes and stops them after the test, `configure` gives the
container the settings a test names (the others at their defaults), as a cold start reads them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from textgate.providers import transport
from textgate.settings import GIVEN, Settings, get_settings
from textgate_local.sandboxes.base import SandboxApp, SandboxServer

Serve = Callable[..., SandboxServer]
Configure = Callable[..., Settings]


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    transport.reset_sessions()
    yield
    transport.reset_sessions()


@pytest.fixture
def serving() -> Iterator[Serve]:
    started: list[SandboxServer] = []

    def serve(app: SandboxApp, **kwargs: float) -> SandboxServer:
        started.append(SandboxServer(app, **kwargs).start())
        return started[-1]

    yield serve
    for server in started:
        server.stop()


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    def settings(**values: str) -> Settings:
        for name in {*GIVEN, *(info.alias for info in Settings.model_fields.values() if info.alias)}:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return get_settings()

    yield settings
    get_settings.cache_clear()

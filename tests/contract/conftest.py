"""Contract tier: real provider clients against sandbox HTTP servers that check requests as providers do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from textgate.providers import transport
from textgate_local.sandboxes.base import SandboxServer


@pytest.fixture(autouse=True)
def fresh_sessions() -> Iterator[None]:
    transport.reset_sessions()
    yield
    transport.reset_sessions()


def serve(app: object, **kwargs: object) -> SandboxServer:
    return SandboxServer(app, **kwargs).start()  # type: ignore[arg-type]

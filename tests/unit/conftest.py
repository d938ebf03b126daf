"""Unit tier: pure logic, no network. Settings get harmless values."""

from __future__ import annotations

import pytest
from conftest import given_setting_names


@pytest.fixture
def unit_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    environment = dict.fromkeys(given_setting_names(), "dummy") | {"OGANGI_BASE_URL": "http://127.0.0.1:9"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment

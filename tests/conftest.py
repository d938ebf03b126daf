"""Shared test fixtures: environment hygiene for every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from textgate import aws, secrets
from textgate.settings import Settings, get_settings


def required_setting_names() -> list[str]:
    return [info.alias or name for name, info in Settings.model_fields.items() if info.is_required()]


@pytest.fixture
def dummy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every required setting present with a harmless value; tests override what they use."""
    for name in required_setting_names():
        monkeypatch.setenv(name, "dummy")
    monkeypatch.setenv("OGANGI_BASE_URL", "http://127.0.0.1:9")


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

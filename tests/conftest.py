"""Shared test fixtures: environment hygiene for every tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from textgate import aws, secrets
from textgate.settings import get_settings


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

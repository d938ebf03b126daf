"""Unit tier: pure logic, no network. Settings get harmless values."""

from __future__ import annotations

import pytest

UNIT_ENVIRONMENT = {
    "OPERATIONS_TABLE": "ops",
    "IDEMPOTENCY_TABLE": "idem",
    "CALLBACKS_TABLE": "cb",
    "SUPPRESSION_TABLE": "supp",
    "LIMITS_TABLE": "limits",
    "EVENT_BUS_NAME": "textgate",
    "OGANGI_QUEUE_URL": "q1",
    "CONTACTATONCE_QUEUE_URL": "q2",
    "INTERACT_QUEUE_URL": "q3",
    "PROTEXTING_QUEUE_URL": "q4",
    "OGANGI_SECRET_ID": "s1",
    "CONTACTATONCE_SECRET_ID": "s2",
    "INTERACT_SECRET_ID": "s3",
    "PROTEXTING_SECRET_ID": "s4",
    "SUMOTEXT_SECRET_ID": "s5",
    "PIN_KEY_SECRET_ID": "s6",
    "OGANGI_BASE_URL": "http://127.0.0.1:9",
}


@pytest.fixture
def unit_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in UNIT_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return UNIT_ENVIRONMENT

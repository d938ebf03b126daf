"""Operations started by events on the project's bus, through the local stack's EventBridge rule."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import boto3

from e2e.conftest import Stack


def put_event(stack: Stack, detail_type: str, detail: dict[str, Any], source: str = "billing.service") -> None:
    events = boto3.client(
        "events",
        endpoint_url=stack.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    answer = events.put_events(
        Entries=[
            {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": "textgate"}
        ]
    )
    assert answer["FailedEntryCount"] == 0


def acted_with(stack: Stack, needle: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        acted = [entry for entry in stack.sandbox("ogangi")["acted"] if needle in entry]
        if acted:
            time.sleep(1.5)  # give a duplicate the chance to show itself
            return [entry for entry in stack.sandbox("ogangi")["acted"] if needle in entry]
        time.sleep(0.2)
    return []


def test_an_event_starts_an_sms_and_a_repeated_key_acts_once(stack: Stack) -> None:
    text = f"event {uuid.uuid4().hex[:8]}"
    detail = {"to": "+13056708084", "text": text, "idempotency_key": f"k-{text}"}
    put_event(stack, "ogangi.send_sms", detail)
    put_event(stack, "ogangi.send_sms", detail)
    assert acted_with(stack, text) == [f"sendMT:13056708084:{text}"]


def test_an_invalid_event_queues_nothing(stack: Stack) -> None:
    text = f"bad {uuid.uuid4().hex[:8]}"
    source = f"shop.{uuid.uuid4().hex[:8]}"
    put_event(stack, "ogangi.send_sms", {"to": "12", "text": text}, source=source)
    assert acted_with(stack, text, timeout=3) == []
    refusals = [json.loads(line) for line in stack.log_path.read_text().splitlines() if source in line]
    assert any(entry["message"] == "trigger refused: validation_error" for entry in refusals), refusals

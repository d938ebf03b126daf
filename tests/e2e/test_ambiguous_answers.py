"""Through the local stack: a provider that acts and then answers like a failing gateway (502, 504, an HTML 500
page, an answer cut off) leaves its operation `unknown` after one attempt, and the provider acted exactly once:
the operation is never sent again.

Each test turns one fault on for one provider's sandbox (every call fails that way) and off again; the e2e tests
run one at a time, and each waits for its own operations to end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.conftest import Stack

SENDS: dict[str, tuple[str, str]] = {
    # provider -> (path, the body field that carries the marker into the sandbox's `acted` entry)
    "ogangi": ("/v1/ogangi/sms", "text"),
    "contactatonce": ("/v1/contactatonce/conversations", "consumer_question"),
    "interact": ("/v1/interact/campaigns/gateway-faults/sms", "jp_token"),
    "protexting": ("/v1/protexting/opt-ins", "cta_message"),
}
BODIES: dict[str, dict[str, Any]] = {
    "ogangi": {"to": "+13056708084"},
    "contactatonce": {"merchant_id": 123, "consumer_phone": "+13056708084"},
    "interact": {"caller_id": "+13056708084"},
    "protexting": {"phone_number": "+13056708084", "group_ids": [1]},
}
LABELS = {"ogangi": "Ogangi", "contactatonce": "ContactAtOnce", "interact": "Interact", "protexting": "ProTexting"}


@pytest.fixture
def faulty(stack: Stack, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    provider, fault = request.param
    answer = stack.session.post(
        f"{stack.url}/_sandbox/{provider}/faults", json={"rate": 1.0, "kinds": [fault]}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    try:
        yield provider, fault
    finally:
        stack.session.delete(f"{stack.url}/_sandbox/{provider}/faults", timeout=10)


CASES = [
    (provider, fault)
    for provider in SENDS
    for fault in ("http_502_after", "http_504_after", "html_500_after", "cut_after")
]


@pytest.mark.parametrize("faulty", CASES, indirect=True, ids=[f"{p}-{f}" for p, f in CASES])
def test_acted_then_an_ambiguous_answer_is_unknown_and_never_sent_again(stack: Stack, faulty: tuple[str, str]) -> None:
    provider, fault = faulty
    marker = f"gw{uuid.uuid4().hex[:10]}"
    path, field = SENDS[provider]
    answer = stack.call("POST", path, json={**BODIES[provider], field: marker})
    assert answer.status_code == 202, answer.text
    done = stack.wait_for(answer.json()["id"])
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["retryable"] is False
    if fault == "cut_after":
        assert done["error"]["code"] == "provider_no_answer"
    else:
        status = fault[len("http_") : len("http_") + 3] if fault.startswith("http_") else "500"
        assert done["error"]["code"] == "provider_ambiguous_answer"
        assert done["error"]["message"].startswith(f"{LABELS[provider]} answered HTTP {status}: an HTML page: ")
    time.sleep(1.5)  # a second attempt, were there one, would have been made by now
    acted = [entry for entry in stack.sandbox(provider)["acted"] if entry.endswith(f":{marker}")]
    assert len(acted) == 1, acted
    assert stack.call("GET", f"/v1/operations/{done['id']}").json()["status"] == "unknown"

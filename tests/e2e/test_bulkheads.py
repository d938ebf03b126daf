"""Bulkheads: a provider that hangs holds only its own queue; the others keep delivering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from e2e.conftest import Stack, start_stack, stop_stack

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]


@pytest.fixture(scope="module")
def hanging_ogangi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, stack = start_stack(
        # Ogangi hangs far longer than the others may take, even on a loaded machine.
        {"PROVIDER_TIMEOUT_SECONDS": "20", "TEXTGATE_SANDBOX_SLOW_SECONDS": "25"},
        log_name="bulkheads.log",
        tmp=tmp_path_factory.mktemp("bulkheads"),
    )
    try:
        answer = stack.session.post(
            f"{stack.url}/_sandbox/ogangi/faults", json={"rate": 1.0, "kinds": ["slow_before"]}, timeout=10
        )
        assert answer.status_code == 200
        yield stack
    finally:
        stop_stack(process)


def test_a_hanging_provider_does_not_delay_the_others(hanging_ogangi: Stack) -> None:
    stack = hanging_ogangi
    stuck = [
        stack.call("POST", "/v1/ogangi/sms", json={"to": "+13056708084", "text": f"hang {n}"}).json()["id"]
        for n in range(12)
    ]
    marker = uuid.uuid4().hex[:8]
    others = [
        stack.call(
            "POST",
            "/v1/protexting/opt-ins",
            json={"phone_number": "+13056708084", "group_ids": [1], "cta_message": marker},
        ).json()["id"],
        stack.call(
            "POST",
            "/v1/contactatonce/conversations",
            json={"merchant_id": 1, "consumer_phone": "+13056708084", "consumer_question": marker},
        ).json()["id"],
        stack.call(
            "POST", f"/v1/interact/campaigns/c-{marker}/sms", json={"caller_id": "+13056708084", "jp_token": marker}
        ).json()["id"],
    ]
    for operation_id in others:
        assert stack.wait_for(operation_id, timeout=15)["status"] == "succeeded"
    # The other providers finished while every Ogangi call was still hanging.
    ogangi = [stack.call("GET", f"/v1/operations/{op_id}").json()["status"] for op_id in stuck]
    assert all(status in ("queued", "sending") for status in ogangi), ogangi

"""Which operations text a handset, and which number: the one answer accepting and delivering both use."""

from __future__ import annotations

from typing import Any

import pytest

from textgate.logic.recipients import Handset, handset, texted_handset
from textgate.registry import OPERATIONS, OperationName

NUMBER = "+13056708084"


@pytest.mark.parametrize(
    ("operation", "payload", "expected"),
    [
        ("ogangi.send_sms", {"to": NUMBER, "text": "hi"}, Handset(NUMBER, "to", True)),
        ("ogangi.send_pin", {"to": NUMBER, "carrier": "Movistar"}, Handset(NUMBER, "to", True)),
        ("ogangi.fire_message", {"mobile": NUMBER, "text": "JOIN"}, Handset(NUMBER, "mobile", True)),
        ("interact.send_campaign_sms", {"caller_id": NUMBER}, Handset(NUMBER, "caller_id", True)),
        ("protexting.opt_in", {"phone_number": NUMBER, "cta_message": "Y?"}, Handset(NUMBER, "phone_number", True)),
        ("protexting.opt_in", {"phone_number": NUMBER, "confirm_message": "Hi"}, Handset(NUMBER, "phone_number", True)),
        (
            "protexting.opt_in",
            {"phone_number": NUMBER, "send_cta_message": True},
            Handset(NUMBER, "phone_number", True),
        ),
        # Seed 003: with SendCTAMessage 0 or absent, the CTA still goes to a contact not yet opted in.
        (
            "protexting.opt_in",
            {"phone_number": NUMBER, "send_cta_message": False, "cta_message": None},
            Handset(NUMBER, "phone_number", True),
        ),
        ("protexting.opt_in", {"phone_number": NUMBER, "group_ids": [1]}, Handset(NUMBER, "phone_number", True)),
        ("contactatonce.initiate_conversation", {"consumer_phone": NUMBER}, None),
        ("ogangi.send_sms", {"text": "no number"}, None),
    ],
)
def test_the_handset_of_each_operation(
    operation: OperationName, payload: dict[str, Any], expected: Handset | None
) -> None:
    assert handset(operation, payload) == expected
    assert texted_handset(operation, payload) == (expected if expected is not None and expected.texted else None)


def test_every_sending_operation_is_known() -> None:
    # A provider operation that texts a handset must say so in its row, or the list and the limit would miss it.
    assert {name for name, row in OPERATIONS.items() if row.texts_handset} == {
        "ogangi.send_sms",
        "ogangi.send_pin",
        "ogangi.fire_message",
        "interact.send_campaign_sms",
        "protexting.opt_in",
    }

"""What is stored is what is sent: every acceptor writes its operation's payload model, every executor reads it."""

from __future__ import annotations

from typing import Any

import pytest

from textgate.payloads import (
    ContactAtOnceConversation,
    InteractCampaignSms,
    OgangiFireMessage,
    OgangiPin,
    OgangiSms,
    Payload,
    ProTextingOptIn,
    Unreadable,
    read,
)


@pytest.mark.parametrize(
    "payload",
    [
        OgangiSms(to="+13056708084", text="Hola", sender="19893653744", carrier="Movistar"),
        OgangiSms(to="+13056708084", text="Hola", sender="19893653744", carrier_id="434", flags="x"),
        OgangiPin(to="+13056708084", carrier="Movistar", text="Code", length=6, sender="1989"),
        OgangiFireMessage(mobile="+13056708084", text="JOIN"),
        ContactAtOnceConversation(consumer_phone="+13056708084", merchant_id=1, region="eu"),
        InteractCampaignSms(campaign_id="c", caller_id="+972544696388", jp_token="t", sender="12345"),
        ProTextingOptIn(phone_number="+16461234567", group_ids=[1], send_cta_message=True),
    ],
    ids=lambda payload: type(payload).__name__,
)
def test_a_stored_payload_reads_back_as_it_was_written(payload: Payload) -> None:
    stored = payload.stored()
    assert read(type(payload), stored) == payload


def test_the_sender_is_stored_under_its_request_name() -> None:
    assert OgangiSms(to="+1", text="t", sender="1989").stored()["from"] == "1989"


def test_an_sms_accepted_before_carrier_id_existed_is_sent_as_it_was_accepted() -> None:
    legacy: dict[str, Any] = {"to": "+13056708084", "text": "t", "from": "1", "carrier": "434", "flags": "f"}
    sms = read(OgangiSms, legacy)
    assert (sms.carrier, sms.carrier_id, sms.flags) == (None, "434", "f")
    assert read(OgangiSms, {**legacy, "flags": None}).carrier == "434"


def test_a_payload_that_cannot_be_read_says_which_fields() -> None:
    with pytest.raises(Unreadable, match=r"OgangiPin payload cannot be read \(from, length\)"):
        read(OgangiPin, {"to": "+1", "carrier": "c", "text": "t", "length": "six"})

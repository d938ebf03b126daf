"""`status_callback` on every async request: validated at the edge (a 422 on the field), stored on the record,
shown as its delivery state, never as the URL."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from textgate.dal import operations as records
from textgate.errors import ValidationFailed
from textgate.models import Operation
from textgate.schemas.contactatonce import InitiateConversationRequest
from textgate.schemas.interact import SendCampaignSmsRequest
from textgate.schemas.ogangi import FireMessageRequest, SendPinRequest, SendSmsRequest
from textgate.schemas.protexting import OptInRequest
from textgate.validation import validate

BODIES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (SendSmsRequest, {"to": "+13056708084", "text": "Hello"}),
    (SendPinRequest, {"to": "+13056708084", "text": "Code", "carrier": "Movistar"}),
    (FireMessageRequest, {"mobile": "+13056708084", "text": "Hi"}),
    (InitiateConversationRequest, {"merchant_id": 1, "consumer_phone": "+13056708084"}),
    (SendCampaignSmsRequest, {"caller_id": "+13056708084", "jp_token": "t"}),
    (OptInRequest, {"phone_number": "+16461234567", "group_ids": [1]}),
]
FORGED = [
    "https://2130706433/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://169.254.169.254/",
    "http://93.184.215.14/",
    "https://u:p@93.184.215.14/",
    "https://93.184.215.14/#x",
]


@pytest.mark.parametrize(("model", "body"), BODIES, ids=lambda value: getattr(value, "__name__", ""))
def test_every_async_request_takes_a_public_https_callback(
    model: type[BaseModel], body: dict[str, Any], unit_settings: dict[str, str]
) -> None:
    accepted = validate(model, {**body, "status_callback": "https://93.184.215.14/hooks?client=7"})
    assert accepted.status_callback == "https://93.184.215.14/hooks?client=7"
    assert validate(model, body).status_callback is None
    for url in FORGED:
        with pytest.raises(ValidationFailed) as refused:
            validate(model, {**body, "status_callback": url})
        assert [error["field"] for error in refused.value.errors] == ["status_callback"]
        assert url not in str(refused.value.problem())


def test_allowed_hosts_come_from_the_settings(unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"to": "+13056708084", "text": "Hello", "status_callback": "http://127.0.0.1:8099/hook"}
    with pytest.raises(ValidationFailed):
        validate(SendSmsRequest, body)
    monkeypatch.setenv("STATUS_CALLBACK_ALLOWED_HOSTS", " 127.0.0.1 , example.invalid")
    from textgate.settings import get_settings

    get_settings.cache_clear()
    assert validate(SendSmsRequest, body).status_callback == "http://127.0.0.1:8099/hook"


def test_the_record_keeps_the_url_and_shows_only_the_delivery_state(unit_settings: dict[str, str]) -> None:
    url = "https://93.184.215.14/hooks?token=callers-own-secret"
    operation = Operation.new(operation="ogangi.send_sms", client="c", payload={}, status_callback=url)
    read_back = records.from_item(records.to_item(operation))
    assert read_back.status_callback is not None and read_back.status_callback.url == url
    assert read_back.public()["status_callback"] == {"status": "pending", "attempts": 0, "last_status_code": None}
    assert "callers-own-secret" not in str(read_back.public())
    plain = Operation.new(operation="ogangi.send_sms", client="c", payload={})
    assert "status_callback" not in records.from_item(records.to_item(plain)).public()

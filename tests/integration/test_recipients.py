"""What protects a recipient, against moto: the suppression list on every path that texts a handset, the daily
limit per recipient over all clients, and PINs per client and recipient."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from textgate.dal import limits
from textgate.dal import operations as records
from textgate.errors import ApiError, ServiceUnavailable
from textgate.logic import contactatonce, interact, ogangi, operations, opt_outs, pins, protexting, recipients
from textgate.models import Operation
from textgate.schemas.contactatonce import InitiateConversationRequest
from textgate.schemas.interact import SendCampaignSmsRequest
from textgate.schemas.ogangi import FireMessageRequest, SendPinRequest, SendSmsRequest
from textgate.schemas.protexting import OptInRequest

_numbers = itertools.count(2000)


def new_phone() -> str:
    return f"+1305556{next(_numbers):04d}"


def daily_count(number: str) -> int:
    from textgate import aws
    from textgate.settings import get_settings

    item = (
        aws.dynamodb()
        .get_item(TableName=get_settings().limits_table, Key={"key": {"S": recipients.daily_key(number)}})
        .get("Item")
    )
    return len(item["times"]["L"]) if item else 0


# Every path that texts a handset: (name, the field that names it, accept(number) -> Operation).
TEXTING_PATHS: list[tuple[str, str, Callable[[str], Operation]]] = [
    (
        "sms",
        "to",
        lambda n: ogangi.accept_sms("c", SendSmsRequest.model_validate({"to": n, "text": "hi", "from": "1"})),
    ),
    (
        "pin",
        "to",
        lambda n: pins.accept_pin(
            "c", SendPinRequest.model_validate({"to": n, "text": "code", "carrier": "Movistar", "from": "1"})
        ),
    ),
    ("fire_message", "mobile", lambda n: ogangi.accept_fire_message("c", FireMessageRequest(mobile=n, text="JOIN"))),
    (
        "interact",
        "caller_id",
        lambda n: interact.accept_campaign_sms(
            "c", "camp", SendCampaignSmsRequest.model_validate({"caller_id": n, "jp_token": "t"})
        ),
    ),
    (
        "protexting_cta",
        "phone_number",
        lambda n: protexting.accept_opt_in("c", OptInRequest(phone_number=n, group_ids=[1], cta_message="Reply Y")),
    ),
    (
        "protexting_confirm",
        "phone_number",
        lambda n: protexting.accept_opt_in("c", OptInRequest(phone_number=n, group_ids=[1], confirm_message="Welcome")),
    ),
    (
        "protexting_forced_cta",
        "phone_number",
        lambda n: protexting.accept_opt_in("c", OptInRequest(phone_number=n, group_ids=[1], send_cta_message=True)),
    ),
    # Seed 003: with SendCTAMessage 0 or absent the CTA still goes to a contact not yet opted in (or opted out).
    (
        "protexting_bare",
        "phone_number",
        lambda n: protexting.accept_opt_in("c", OptInRequest(phone_number=n, group_ids=[1])),
    ),
    (
        "protexting_cta_off",
        "phone_number",
        lambda n: protexting.accept_opt_in("c", OptInRequest(phone_number=n, group_ids=[1], send_cta_message=False)),
    ),
]


@pytest.fixture
def created(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[Operation]:
    """Every operation record written: a refused request must write none."""
    seen: list[Operation] = []
    real = records.create

    def spy(operation: Operation) -> Operation:
        seen.append(operation)
        return real(operation)

    monkeypatch.setattr(records, "create", spy)
    return seen


@pytest.mark.parametrize(("name", "field", "accept"), TEXTING_PATHS, ids=[path[0] for path in TEXTING_PATHS])
def test_every_path_that_texts_a_handset_refuses_an_opted_out_number(
    created: list[Operation], name: str, field: str, accept: Callable[[str], Operation]
) -> None:
    number = new_phone()
    opt_outs.set_opted_out(number, True, source="api", changed_by="c")
    with pytest.raises(ApiError) as refused:
        accept(number)
    assert (refused.value.status, refused.value.code) == (422, "recipient_opted_out")
    assert refused.value.errors == [{"field": field, "message": "is on the suppression list"}]
    assert created == [] and daily_count(number) == 0


@pytest.mark.parametrize(("name", "field", "accept"), TEXTING_PATHS, ids=[path[0] for path in TEXTING_PATHS])
def test_every_path_that_texts_a_handset_counts_against_the_daily_limit(
    created: list[Operation], name: str, field: str, accept: Callable[[str], Operation]
) -> None:
    number = new_phone()
    accept(number)
    assert daily_count(number) == 1 and len(created) == 1


def test_paths_that_text_nobody_ignore_the_list_and_the_limit(created: list[Operation]) -> None:
    number = new_phone()
    opt_outs.set_opted_out(number, True, source="api", changed_by="c")
    # The consumer starts a ContactAtOnce conversation from a web site; no SMS is sent.
    contactatonce.accept_conversation(
        "c", InitiateConversationRequest.model_validate({"merchant_id": 1, "consumer_phone": number})
    )
    assert len(created) == 1 and daily_count(number) == 0


def test_the_daily_limit_holds_under_concurrency(created: list[Operation], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECIPIENT_DAILY_LIMIT", "10")
    number = new_phone()
    start = threading.Barrier(20)

    def send(n: int) -> Any:
        if n < 20:
            start.wait(10)
        try:
            return ogangi.accept_sms(
                f"client-{n % 3}", SendSmsRequest.model_validate({"to": number, "text": "hi", "from": "1"})
            )
        except ApiError as error:
            return error

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(100)))
    accepted = [answer for answer in answers if isinstance(answer, Operation)]
    refused = [answer for answer in answers if isinstance(answer, ApiError)]
    assert len(accepted) == 10 and len(created) == 10 and daily_count(number) == 10
    assert {(error.status, error.code) for error in refused} == {(429, "recipient_limit_reached")}
    assert len(refused) == 90
    assert all(86_000 < int(error.headers["Retry-After"]) <= 86_400 for error in refused)
    # Other recipients are not affected.
    ogangi.accept_sms("client-0", SendSmsRequest.model_validate({"to": new_phone(), "text": "hi", "from": "1"}))


def test_a_request_refused_after_counting_gives_its_slot_back(
    created: list[Operation], monkeypatch: pytest.MonkeyPatch
) -> None:
    number = new_phone()

    def no_queue(provider: str, operation_id: str, delay_seconds: float = 0) -> None:
        raise RuntimeError("the queue is down")

    monkeypatch.setattr(operations.queue, "enqueue", no_queue)
    with pytest.raises(ServiceUnavailable):
        ogangi.accept_sms("c", SendSmsRequest.model_validate({"to": number, "text": "hi", "from": "1"}))
    assert daily_count(number) == 0


def test_a_pin_refused_by_the_daily_limit_uses_none_of_the_clients_pins(
    created: list[Operation], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECIPIENT_DAILY_LIMIT", "1")
    number = new_phone()
    ogangi.accept_sms("c", SendSmsRequest.model_validate({"to": number, "text": "hi", "from": "1"}))
    request = SendPinRequest.model_validate({"to": number, "text": "code", "carrier": "Movistar", "from": "1"})
    with pytest.raises(ApiError) as refused:
        pins.accept_pin("c", request)
    assert refused.value.code == "recipient_limit_reached"
    from textgate import aws
    from textgate.settings import get_settings

    key = limits.key("pin", "c", number)
    item = aws.dynamodb().get_item(TableName=get_settings().limits_table, Key={"key": {"S": key}}).get("Item")
    assert item is None or item["times"]["L"] == []


def test_pins_are_limited_per_client_and_recipient(created: list[Operation]) -> None:
    number = new_phone()

    def pin(client: str) -> Operation:
        request = SendPinRequest.model_validate({"to": number, "text": "code", "carrier": "Movistar", "from": "1"})
        return pins.accept_pin(client, request)

    for _ in range(5):
        pin("noisy-client")
    with pytest.raises(ApiError) as refused:
        pin("noisy-client")
    assert (refused.value.status, refused.value.code) == (429, "too_many_requests")
    assert 3500 < int(refused.value.headers["Retry-After"]) <= 3600
    # Another client's verifications to the same person still go out.
    assert pin("bank").operation == "ogangi.send_pin"

"""ProTexting client against the ProTexting sandbox: the request it sees, and every documented answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from contract.conftest import Configure, Serve
from textgate import secrets
from textgate.executors import NotAttempted
from textgate.executors import protexting as executor
from textgate.logic import operations
from textgate.logic import protexting as logic
from textgate.models import Operation
from textgate.payloads import Payload
from textgate.providers.outcome import ProviderOutcome, Verdict
from textgate.providers.protexting import ProTextingClient, ProTextingCredentials
from textgate.schemas.protexting import OptInRequest
from textgate_local.sandboxes import protexting as sandbox
from textgate_local.sandboxes.base import Fault, RecordedRequest, SandboxAnswer, SandboxServer

TOKEN = "tok-Secret-0123456789"
NUMBER = "16461234567"


@pytest.fixture
def server(serving: Serve) -> SandboxServer:
    return serving(sandbox.ProTextingSandbox(access_token=TOKEN, slow_seconds=1.5))


@pytest.fixture
def client(server: SandboxServer) -> ProTextingClient:
    return ProTextingClient(server.url, ProTextingCredentials(TOKEN), (1.0, 1.0))


def body_of(request: RecordedRequest) -> dict[str, Any]:
    data = json.loads(request.body.decode("utf-8"))
    assert isinstance(data, dict)
    return data


def assert_no_token(outcome: ProviderOutcome) -> None:
    assert TOKEN not in repr(outcome)
    assert TOKEN not in json.dumps(outcome.result or {}, ensure_ascii=False)


# -- what the provider sees ---------------------------------------------------------------------------------


def test_minimal_request_is_what_the_seed_shows(client: ProTextingClient, server: SandboxServer) -> None:
    outcome = client.opt_in(phone_number=NUMBER, group_ids=[1])
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/v1/contacts-opt-in/create"
    assert request.query == {"access_token": [TOKEN]}
    assert request.header("Accept") == "application/json"
    assert request.header("Content-Type") == "application/json"
    # Only the required fields: absent optional fields are left out, never sent as null.
    assert body_of(request) == {"PhoneNumber": NUMBER, "GroupIds": [1]}
    assert server.acted == [f"optin:{NUMBER}:1:"]


def test_every_field_is_sent_and_unicode_is_byte_exact(client: ProTextingClient, server: SandboxServer) -> None:
    cta, confirm = "Olá 👋 reply YES", "Merci ✓ — 你好"
    outcome = client.opt_in(
        phone_number=NUMBER, group_ids=[3, 7], cta_message=cta, confirm_message=confirm, send_cta_message=True
    )
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert body_of(request) == {
        "PhoneNumber": NUMBER,
        "GroupIds": [3, 7],
        "CTAMessage": cta,
        "ConfirmMessage": confirm,
        "SendCTAMessage": 1,
    }
    assert cta.encode("utf-8") in request.body and confirm.encode("utf-8") in request.body
    assert server.acted == [f"optin:{NUMBER}:3,7:{cta}"]


@pytest.mark.parametrize(("flag", "wire"), [(True, 1), (False, 0)])
def test_send_cta_message_is_an_int_zero_or_one(
    client: ProTextingClient, server: SandboxServer, flag: bool, wire: int
) -> None:
    assert client.opt_in(phone_number=NUMBER, group_ids=[1], send_cta_message=flag).verdict is Verdict.SUCCEEDED
    sent = body_of(server.requests[0])["SendCTAMessage"]
    assert type(sent) is int and sent == wire  # 1, not true


def test_the_sandbox_refuses_what_provider_would(client: ProTextingClient, server: SandboxServer) -> None:
    outcome = client.opt_in(phone_number="+" + NUMBER, group_ids=[])
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "provider_validation_error"
    assert outcome.message == (
        "PhoneNumber: Phone Number is not a valid mobile number.; GroupIds: Group Ids cannot be blank."
    )
    assert server.acted == []


# -- 201 ------------------------------------------------------------------------------------------------------


def test_created_with_a_contact(client: ProTextingClient) -> None:
    outcome = client.opt_in(phone_number=NUMBER, group_ids=[1])
    assert outcome.http_status == 201 and outcome.result is not None
    contact = outcome.result["contact"]
    assert (contact["Id"], contact["Number"], contact["OptedOut"], contact["GroupIds"]) == (1, NUMBER, 0, [1])
    assert outcome.result["provider_status"] == "created"
    assert outcome.result["rate_limit"] == {"limit": 60, "remaining": 59, "reset": 60}
    assert outcome.pause_for is None


def test_created_with_a_message(client: ProTextingClient) -> None:
    outcome = client.opt_in(phone_number=sandbox.MESSAGE_SHAPE_NUMBER, group_ids=[1])
    assert outcome.verdict is Verdict.SUCCEEDED
    assert outcome.result == {
        "provider_status": "created",
        "description": sandbox.CREATED_MESSAGE,
        "rate_limit": {"limit": 60, "remaining": 59, "reset": 60},
    }


# -- what reaches the handset (seed 003) ---------------------------------------------------------------------


def test_a_bare_opt_in_texts_a_contact_not_yet_opted_in(client: ProTextingClient, server: SandboxServer) -> None:
    # SendCTAMessage absent: "the CTA will be triggered ONLY if the contact is NOT opt-in OR is with opt-out status".
    assert client.opt_in(phone_number=NUMBER, group_ids=[1]).verdict is Verdict.SUCCEEDED
    assert server.app.messages[NUMBER] == [{"kind": "cta", "text": sandbox.DEFAULT_CTA}]  # type: ignore[attr-defined]


def test_send_cta_message_zero_still_texts_a_new_contact_but_not_an_opted_in_one(
    client: ProTextingClient, server: SandboxServer
) -> None:
    texts: dict[str, list[dict[str, Any]]] = server.app.messages  # type: ignore[attr-defined]
    assert client.opt_in(phone_number=NUMBER, group_ids=[1], cta_message="Join?", send_cta_message=False).verdict is (
        Verdict.SUCCEEDED
    )
    assert texts[NUMBER] == [{"kind": "cta", "text": "Join?"}]
    # Now opted in: 0 sends nothing more, 1 sends the CTA again ("ALWAYS send the CTA").
    client.opt_in(phone_number=NUMBER, group_ids=[2], cta_message="Again?", send_cta_message=False)
    assert len(texts[NUMBER]) == 1
    client.opt_in(phone_number=NUMBER, group_ids=[2], cta_message="Forced", send_cta_message=True)
    assert texts[NUMBER][-1] == {"kind": "cta", "text": "Forced"}


def test_a_contact_with_opt_out_status_is_texted_not_refused(client: ProTextingClient, server: SandboxServer) -> None:
    # The seed's own words: the CTA goes to a contact "with opt-out status"; nothing in it answers "opted out".
    number = sandbox.OPTED_OUT_CONTACT_NUMBER
    for _ in range(2):
        outcome = client.opt_in(phone_number=number, group_ids=[1], send_cta_message=False)
        assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
        assert outcome.result["contact"]["OptedOut"] == 1
    assert [text["kind"] for text in server.app.messages[number]] == ["cta", "cta"]  # type: ignore[attr-defined]


# -- 422 ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (sandbox.FORBIDDEN_WORDS_NUMBER, "forbidden_words"),
        (sandbox.NO_CREDIT_NUMBER, "insufficient_credit"),
        (sandbox.APP_NOT_ACTIVATED_NUMBER, "app_not_activated"),
        (sandbox.INVALID_IP_NUMBER, "ip_not_allowed"),
        (sandbox.SAME_CONTENT_NUMBER, "duplicate_content"),
        (sandbox.SENDER_BLOCKED_NUMBER, "sender_blocked"),
        (sandbox.SENDER_BLOCKED_CARRIER_NUMBER, "sender_blocked"),
        (sandbox.GLOBALLY_OPTED_OUT_NUMBER, "recipient_opted_out"),
        (sandbox.GLOBALLY_BLOCKED_NUMBER, "globally_blocked"),
    ],
)
def test_business_refusals_are_final_with_the_providers_words(
    client: ProTextingClient, server: SandboxServer, number: str, code: str
) -> None:
    outcome = client.opt_in(phone_number=number, group_ids=[1])
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, code, 422)
    assert outcome.message == sandbox.BUSINESS_ERRORS[number][1]
    assert server.acted == []


def test_validation_list_is_final_and_names_each_field(client: ProTextingClient) -> None:
    outcome = client.opt_in(phone_number=sandbox.VALIDATION_NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, "provider_validation_error", 422)
    assert outcome.message == f"PhoneNumber: {sandbox.VALIDATION_MESSAGE}"


# -- auth and rate limits -------------------------------------------------------------------------------------


def test_wrong_token_is_unauthorized_and_never_echoed(server: SandboxServer) -> None:
    wrong = ProTextingClient(server.url, ProTextingCredentials("wrong-" + TOKEN), (1.0, 1.0))
    outcome = wrong.opt_in(phone_number=NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, "unauthorized", 401)
    assert outcome.message == sandbox.UNAUTHORIZED_MESSAGE
    assert_no_token(outcome)
    assert server.acted == []


def test_spent_allowance_pauses_then_429_is_rate_limited(serving: Serve) -> None:
    running = serving(sandbox.ProTextingSandbox(access_token=TOKEN, rate_limit=2, window_seconds=30))
    try:
        client = ProTextingClient(running.url, ProTextingCredentials(TOKEN), (1.0, 1.0))
        first = client.opt_in(phone_number=NUMBER, group_ids=[1])
        assert first.verdict is Verdict.SUCCEEDED and first.pause_for is None
        last = client.opt_in(phone_number=NUMBER, group_ids=[2])
        assert last.verdict is Verdict.SUCCEEDED
        assert last.result is not None and last.result["rate_limit"]["remaining"] == 0
        assert last.pause_for is not None and last.pause_for == last.result["rate_limit"]["reset"]
        assert 0 < last.pause_for <= 30
        refused = client.opt_in(phone_number=NUMBER, group_ids=[3])
        assert (refused.verdict, refused.code, refused.http_status) == (Verdict.RATE_LIMITED, "rate_limited", 429)
        # Same window: the wait it names is the reset of the last answer, give or take a second.
        assert refused.retry_after is not None and refused.retry_after == refused.pause_for
        assert 0 < refused.retry_after <= 30 and abs(refused.retry_after - last.pause_for) <= 1
        assert len(running.acted) == 2  # the refused call did nothing
    finally:
        running.stop()


def test_injected_429_waits_for_the_reset_header(client: ProTextingClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RATE_LIMIT
    outcome = client.opt_in(phone_number=NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.retry_after, outcome.pause_for) == (Verdict.RATE_LIMITED, 60.0, 60.0)
    assert outcome.message == "Rate limit exceeded."
    assert server.acted == []


@dataclass
class Canned:
    """An app that answers one fixed thing, for answers the sandbox never gives on its own."""

    answer: SandboxAnswer
    name: str = "canned"

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        return self.answer

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        return self.answer


AnswerWith = Callable[[SandboxAnswer], ProviderOutcome]


@pytest.fixture(scope="module")
def canned() -> Iterator[SandboxServer]:
    running = SandboxServer(Canned(SandboxAnswer(500))).start()  # type: ignore[arg-type]
    yield running
    running.stop()


@pytest.fixture
def outcome_of(canned: SandboxServer) -> AnswerWith:
    """The outcome of one opt-in call answered with `answer`."""

    def call(answer: SandboxAnswer) -> ProviderOutcome:
        canned.app.answer = answer  # type: ignore[attr-defined]
        client = ProTextingClient(canned.url, ProTextingCredentials(TOKEN), (1.0, 1.0))
        return client.opt_in(phone_number=NUMBER, group_ids=[1])

    return call


TOO_MANY = json.dumps(
    {"name": "Too Many Requests", "message": "Rate limit exceeded.", "code": 0, "status": 429}
).encode()


@pytest.mark.parametrize("reset", [None, "soon", "-5", "99999999"])
def test_429_without_a_usable_reset_waits_a_minute(reset: str | None, outcome_of: AnswerWith) -> None:
    headers = {"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "0"}
    if reset is not None:
        headers["X-Rate-Limit-Reset"] = reset
    outcome = outcome_of(SandboxAnswer(429, TOO_MANY, headers))
    assert (outcome.verdict, outcome.retry_after, outcome.pause_for) == (Verdict.RATE_LIMITED, 60.0, 60.0)


def test_429_without_remaining_sets_no_pause(outcome_of: AnswerWith) -> None:
    outcome = outcome_of(SandboxAnswer(429, TOO_MANY, {"X-Rate-Limit-Reset": "7"}))
    assert (outcome.verdict, outcome.retry_after, outcome.pause_for) == (Verdict.RATE_LIMITED, 7.0, None)


def test_spent_allowance_on_a_refusal_still_pauses(outcome_of: AnswerWith) -> None:
    body = json.dumps(
        {"name": "Unprocessable entity", "message": "The contact is opted out.", "code": 1, "status": 422}
    ).encode()
    outcome = outcome_of(SandboxAnswer(422, body, {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "12"}))
    assert (outcome.verdict, outcome.code, outcome.pause_for) == (Verdict.REJECTED, "recipient_opted_out", 12.0)


def test_a_token_echoed_by_the_provider_is_scrubbed(outcome_of: AnswerWith) -> None:
    body = json.dumps(
        {"name": "Unprocessable entity", "message": f"bad token {TOKEN} here", "code": 99, "status": 422}
    ).encode()
    outcome = outcome_of(SandboxAnswer(422, body))
    assert (outcome.verdict, outcome.code) == (Verdict.REJECTED, "provider_rejected")
    assert outcome.message == "ProTexting refused the request (code 99): bad token [redacted] here"
    echoed = outcome_of(SandboxAnswer(201, json.dumps({"message": f"ok {TOKEN}"}).encode()))
    assert echoed.result is not None and echoed.result["description"] == "ok [redacted]"


def test_a_one_item_list_of_contacts_is_a_contact(outcome_of: AnswerWith) -> None:
    outcome = outcome_of(SandboxAnswer(201, json.dumps([{"Id": 9, "Number": NUMBER}]).encode()))
    assert outcome.result == {"contact": {"Id": 9, "Number": NUMBER}, "provider_status": "created"}


@pytest.mark.parametrize("body", [b"", b"null", b'{"Number": "16461234567"}', b"[]", b"<response/>"])
def test_unreadable_success_is_unknown(body: bytes, outcome_of: AnswerWith) -> None:
    outcome = outcome_of(SandboxAnswer(201, body))
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_malformed_answer")


def test_other_client_errors_are_final(outcome_of: AnswerWith) -> None:
    outcome = outcome_of(SandboxAnswer(403, json.dumps({"name": "Forbidden", "message": "Nope."}).encode()))
    assert (outcome.verdict, outcome.code, outcome.message) == (
        Verdict.REJECTED,
        "provider_rejected",
        "ProTexting answered HTTP 403: Nope.",
    )


# -- faults ---------------------------------------------------------------------------------------------------


def test_http_503_is_transient(client: ProTextingClient, server: SandboxServer) -> None:
    outcome = client.opt_in(phone_number=sandbox.HTTP_503_NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.TRANSIENT, "provider_error", 503)
    assert server.acted == []


def test_slow_answer_is_unknown_never_retried(client: ProTextingClient) -> None:
    outcome = client.opt_in(phone_number=sandbox.SLOW_NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_timeout")


def test_malformed_answer_after_acting_is_unknown(client: ProTextingClient, server: SandboxServer) -> None:
    outcome = client.opt_in(phone_number=sandbox.MALFORMED_NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.UNKNOWN, "provider_malformed_answer", 201)
    assert server.acted == [f"optin:{sandbox.MALFORMED_NUMBER}:1:"]


def test_reset_after_acting_is_unknown(client: ProTextingClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RESET_AFTER
    assert client.opt_in(phone_number=NUMBER, group_ids=[1]).verdict is Verdict.UNKNOWN
    assert len(server.acted) == 1


def test_connection_refused_is_transient() -> None:
    closed = ProTextingClient("http://127.0.0.1:9", ProTextingCredentials(TOKEN), (0.5, 0.5))
    outcome = closed.opt_in(phone_number=NUMBER, group_ids=[1])
    assert (outcome.verdict, outcome.code) == (Verdict.TRANSIENT, "provider_unreachable")
    assert_no_token(outcome)


def test_no_outcome_ever_holds_the_token(client: ProTextingClient, server: SandboxServer) -> None:
    numbers = [
        NUMBER,
        sandbox.MESSAGE_SHAPE_NUMBER,
        sandbox.VALIDATION_NUMBER,
        sandbox.HTTP_503_NUMBER,
        sandbox.MALFORMED_NUMBER,
        sandbox.SLOW_NUMBER,
        *sandbox.BUSINESS_ERRORS,
    ]
    for number in numbers:
        assert_no_token(client.opt_in(phone_number=number, group_ids=[1]))
    assert TOKEN not in repr(ProTextingCredentials(TOKEN)) and TOKEN not in repr(client)


# -- from the HTTP body to the wire, through logic and executor -----------------------------------------------


@pytest.fixture
def settings(configure: Configure, server: SandboxServer) -> None:
    configure(PROTEXTING_SECRET_ID="protexting-secret", PROTEXTING_BASE_URL=server.url, PROVIDER_TIMEOUT_SECONDS="2")


def accepted(monkeypatch: pytest.MonkeyPatch, body: dict[str, Any]) -> Operation:
    def accept(*, client: str, operation: str, payload: Payload, **when: Any) -> Operation:
        return Operation.new(operation=operation, client=client, payload=payload.stored())

    monkeypatch.setattr(operations, "accept", accept)
    return logic.accept_opt_in("client-a", OptInRequest.model_validate(body))


@pytest.mark.usefixtures("settings")
def test_an_accepted_opt_in_is_executed_as_the_provider_expects(
    monkeypatch: pytest.MonkeyPatch, server: SandboxServer
) -> None:
    asked: list[str] = []

    def get_secret(secret_id: str) -> dict[str, Any]:
        asked.append(secret_id)
        return {"access_token": TOKEN}

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    operation = accepted(
        monkeypatch,
        {
            "phone_number": "(305) 670-8084",
            "country": "us",
            "group_ids": [5],
            "cta_message": "Join?",
            "send_cta_message": False,
        },
    )
    assert (operation.operation, operation.provider) == ("protexting.opt_in", "protexting")
    outcome = executor.opt_in(operation)
    assert outcome.verdict is Verdict.SUCCEEDED
    assert asked == ["protexting-secret"]
    assert body_of(server.requests[0]) == {
        "PhoneNumber": "13056708084",
        "GroupIds": [5],
        "CTAMessage": "Join?",
        "SendCTAMessage": 0,
    }


@pytest.mark.usefixtures("settings")
@pytest.mark.parametrize("secret", [None, {}, {"access_token": ""}])
def test_unreadable_credentials_mean_nothing_was_attempted(
    monkeypatch: pytest.MonkeyPatch, server: SandboxServer, secret: dict[str, str] | None
) -> None:
    def get_secret(secret_id: str) -> dict[str, Any]:
        if secret is None:
            raise secrets.SecretUnavailable(f"secret {secret_id} could not be read")
        return secret

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    operation = accepted(monkeypatch, {"phone_number": "+13056708084", "group_ids": [1]})
    with pytest.raises(NotAttempted):
        executor.opt_in(operation)
    assert server.requests == []

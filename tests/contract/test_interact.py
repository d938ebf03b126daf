"""Interact client against the Interact sandbox: the path, headers and JSON body, and every documented answer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from contract.conftest import Configure, Serve
from textgate import secrets
from textgate.executors import NotAttempted
from textgate.executors import interact as executor
from textgate.models import Operation
from textgate.providers import transport
from textgate.providers.interact import InteractClient, InteractCredentials, interpret
from textgate.providers.outcome import Verdict
from textgate_local.sandboxes import interact as sandbox
from textgate_local.sandboxes.base import Fault, SandboxServer

KEY = "53736e07e4b05772e6475c2d"
CREDENTIALS = InteractCredentials(account_id="12345678", tenant_id="tenant-7", application_key=KEY)
PATH = "/interact/version/3/account/12345678/resources/campaign/sms/"
CALLER = "+972544696388"


@pytest.fixture
def app() -> sandbox.InteractSandbox:
    return sandbox.InteractSandbox(account_id="12345678", tenant_id="tenant-7", application_key=KEY, slow_seconds=1.5)


@pytest.fixture
def server(app: sandbox.InteractSandbox, serving: Serve) -> SandboxServer:
    return serving(app)


@pytest.fixture
def client(server: SandboxServer) -> InteractClient:
    return InteractClient(server.url, CREDENTIALS, (1.0, 1.0))


def send(client: InteractClient, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {"campaign_id": "campaign1", "caller_id": CALLER, "jp_token": "Aejhib7"}
    return client.send_campaign_sms(**{**arguments, **kwargs})


# -- what Interact sees ---------------------------------------------------------------------------------------


def test_posts_json_to_the_syntax_line_path_with_the_security_headers(
    client: InteractClient, server: SandboxServer
) -> None:
    outcome = send(client)
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == PATH + "campaign1"  # no /callerid/ suffix
    assert request.query == {}
    assert request.header("Tenant-Id") == "tenant-7"
    assert request.header("Application-Key") == KEY
    assert request.header("Content-Type") == "application/json"
    assert "environment-name" not in request.headers
    # Optional fields are left out, not sent as null.
    assert json.loads(request.body) == {"callerId": CALLER, "jpToken": "Aejhib7"}
    assert server.acted == [f"sms:campaign1:{CALLER}:Aejhib7"]


def test_environment_name_is_sent_when_configured(server: SandboxServer) -> None:
    server.app.environment_name = "production"  # type: ignore[attr-defined]
    with_environment = InteractCredentials("12345678", "tenant-7", KEY, environment_name="production")
    outcome = send(InteractClient(server.url, with_environment, (1.0, 1.0)))
    assert outcome.verdict is Verdict.SUCCEEDED
    assert server.requests[0].header("Environment-Name") == "production"


def test_from_and_additional_params_object_become_a_query_string(client: InteractClient, server: SandboxServer) -> None:
    outcome = send(client, sender="+12125551234", additional_params={"var1": "value1", "var2": "a b&c"})
    assert outcome.verdict is Verdict.SUCCEEDED
    body = json.loads(server.requests[0].body)
    assert body == {
        "callerId": CALLER,
        "jpToken": "Aejhib7",
        "from": "+12125551234",
        "additionalParams": "var1=value1&var2=a+b%26c",
    }


def test_additional_params_string_passes_through_untouched(client: InteractClient, server: SandboxServer) -> None:
    send(client, additional_params="var1=value1&var2=value")
    assert json.loads(server.requests[0].body)["additionalParams"] == "var1=value1&var2=value"


def test_unicode_is_sent_as_utf8_json_byte_for_byte(client: InteractClient, server: SandboxServer) -> None:
    outcome = send(client, jp_token="Aéj👋", additional_params="greeting=Olá 👋")
    assert outcome.verdict is Verdict.SUCCEEDED
    raw = server.requests[0].body
    assert "greeting=Olá 👋".encode() in raw and "Aéj👋".encode() in raw
    assert json.loads(raw.decode("utf-8"))["jpToken"] == "Aéj👋"


def test_campaign_id_is_one_percent_encoded_path_segment(client: InteractClient, server: SandboxServer) -> None:
    outcome = send(client, campaign_id="camp 1/ñ")
    assert outcome.verdict is Verdict.SUCCEEDED
    assert server.requests[0].path == PATH + "camp%201%2F%C3%B1"
    assert server.acted == [f"sms:camp 1/ñ:{CALLER}:Aejhib7"]


# -- what comes back ----------------------------------------------------------------------------------------


def test_placed_answer_gives_the_message_sid(client: InteractClient) -> None:
    outcome = send(client)
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.http_status == 200
    assert outcome.result is not None
    sid = outcome.result["message_sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    assert outcome.result["provider_status"] == "placed"
    assert outcome.result["description"] == f"Placed campaign {{campaign1}} in SMS queue messageSid: {sid}"


def test_wrong_application_key_is_unauthorized_and_the_key_never_repeated(server: SandboxServer) -> None:
    wrong = InteractCredentials("12345678", "tenant-7", "not-the-key-0123")
    outcome = send(InteractClient(server.url, wrong, (1.0, 1.0)))
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "unauthorized" and outcome.http_status == 401
    assert outcome.message == (
        "Request is unauthorized, missing or wrong credentials "
        "(Unauthenticated-Reason: Invalid Application-Key [redacted])"
    )
    assert "not-the-key-0123" not in repr(outcome) and "not-the-key-0123" not in repr(wrong)
    assert server.acted == []


@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        (InteractCredentials("12345678", "other-tenant", KEY), "Invalid Tenant-Id other-tenant"),
        (InteractCredentials("99999999", "tenant-7", KEY), "Unknown account"),
        (InteractCredentials("12345678", "tenant-7", KEY, "staging"), "Unknown environment"),
    ],
)
def test_other_wrong_security_values_are_unauthorized(
    server: SandboxServer, credentials: InteractCredentials, reason: str
) -> None:
    outcome = send(InteractClient(server.url, credentials, (1.0, 1.0)))
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "unauthorized"
    assert outcome.message is not None and outcome.message.endswith(f"(Unauthenticated-Reason: {reason})")
    assert server.acted == []


def test_missing_environment_name_is_unauthorized(client: InteractClient, server: SandboxServer) -> None:
    server.app.environment_name = "production"  # type: ignore[attr-defined]
    outcome = send(client)
    assert outcome.code == "unauthorized"
    assert outcome.message is not None and "Missing Environment-Name header" in outcome.message


def test_unauthorized_json_message_is_read_when_the_body_is_proper_json() -> None:
    answer = transport.HttpAnswer(401, {}, b'{"code":"0x7000000","message":"Bad key ' + KEY.encode() + b'"}')
    outcome = interpret(answer).without(KEY)
    assert outcome.verdict is Verdict.REJECTED and outcome.message == "Bad key [redacted]"


@pytest.mark.parametrize(
    ("field", "value", "parameter"),
    [("caller_id", "not-a-number", "callerId"), ("jp_token", "", "jpToken"), ("sender", "x", "from")],
)
def test_invalid_parameter_is_a_final_rejection_in_the_providers_words(
    client: InteractClient, server: SandboxServer, field: str, value: str, parameter: str
) -> None:
    outcome = send(client, **{field: value})
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "invalid_parameter"
    assert outcome.message == f"missing or invalid parameter {parameter}"
    assert outcome.http_status == 400 and server.acted == []


def test_expired_token_is_final(client: InteractClient) -> None:
    outcome = send(client, jp_token=sandbox.EXPIRED_TOKEN)
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "token_expired"
    assert outcome.message == "Token expired" and outcome.http_status == 403


def test_missing_campaign_is_final(client: InteractClient) -> None:
    outcome = send(client, campaign_id=sandbox.MISSING_CAMPAIGN)
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "campaign_not_found"
    assert outcome.message == "Campaign missing-campaign was not found"


def test_a_404_that_is_not_about_the_campaign_is_not_campaign_not_found(server: SandboxServer) -> None:
    misconfigured = InteractClient(server.url + "/api", CREDENTIALS, (1.0, 1.0))
    outcome = send(misconfigured)
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "provider_rejected"
    assert outcome.http_status == 404


def test_telephony_not_defined_is_a_configuration_error_never_retried(client: InteractClient) -> None:
    outcome = send(client, campaign_id=sandbox.NO_TELEPHONY_CAMPAIGN)
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "telephony_not_configured"
    assert outcome.message == sandbox.TELEPHONY_NOT_DEFINED and outcome.http_status == 500


def test_general_exception_is_unknown_after_one_call(client: InteractClient, server: SandboxServer) -> None:
    # "Internal error from the X-Platform Server": the campaign may be placed already (the sandbox places it).
    outcome = send(client, campaign_id=sandbox.FLAKY_CAMPAIGN)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_internal_error"
    assert outcome.message == "Interact answered HTTP 500: exception"
    assert len(server.requests) == 1 and len(server.acted) == 1


# A 500 that is not the documented `exception` is unknown: see test_ambiguous_answers.py.
@pytest.mark.parametrize(("fault", "status"), [(Fault.HTTP_503, 503)])
def test_server_errors_are_transient(client: InteractClient, server: SandboxServer, fault: Fault, status: int) -> None:
    server.fault_plan = lambda request: fault
    outcome = send(client)
    assert outcome.verdict is Verdict.TRANSIENT and outcome.code == "provider_error"
    assert outcome.http_status == status


def test_429_with_retry_after_seconds_is_rate_limited(client: InteractClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RATE_LIMIT
    outcome = send(client)
    assert outcome.verdict is Verdict.RATE_LIMITED and outcome.retry_after == 2.0


def test_429_with_retry_after_date_is_rate_limited(client: InteractClient, server: SandboxServer) -> None:
    server.app.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)  # type: ignore[attr-defined]
    server.fault_plan = lambda request: Fault.RATE_LIMIT
    outcome = send(client)
    assert outcome.verdict is Verdict.RATE_LIMITED
    assert outcome.retry_after is not None and 55 <= outcome.retry_after <= 60


def test_429_without_retry_after_is_transient(client: InteractClient, server: SandboxServer) -> None:
    server.app.retry_after = None  # type: ignore[attr-defined]
    server.fault_plan = lambda request: Fault.RATE_LIMIT
    outcome = send(client)
    assert outcome.verdict is Verdict.TRANSIENT and outcome.code == "rate_limited" and outcome.http_status == 429


def test_slow_answer_is_unknown_never_retried(client: InteractClient) -> None:
    outcome = send(client, caller_id=sandbox.SLOW_CALLER)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_timeout"


def test_placed_answer_without_message_sid_is_unknown(client: InteractClient, server: SandboxServer) -> None:
    outcome = send(client, caller_id=sandbox.MALFORMED_CALLER)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_malformed_answer"
    assert len(server.acted) == 1


def test_connection_refused_is_transient() -> None:
    closed = InteractClient("http://127.0.0.1:9", CREDENTIALS, (0.5, 0.5))
    outcome = send(closed)
    assert outcome.verdict is Verdict.TRANSIENT and outcome.code == "provider_unreachable"


def test_reset_after_acting_is_unknown(client: InteractClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RESET_AFTER
    outcome = send(client)
    assert outcome.verdict is Verdict.UNKNOWN
    assert len(server.acted) == 1


# -- credentials and the executor ---------------------------------------------------------------------------


def test_credentials_come_from_the_secret_and_hide_the_key() -> None:
    read = InteractCredentials.from_secret({"account_id": 12345678, "tenant_id": "t", "application_key": KEY})
    assert read == InteractCredentials("12345678", "t", KEY, "")
    assert KEY not in repr(read)
    with pytest.raises(KeyError):
        InteractCredentials.from_secret({"account_id": "1", "tenant_id": "t", "application_key": ""})


@pytest.fixture
def settings_for(configure: Configure, server: SandboxServer) -> None:
    configure(INTERACT_SECRET_ID="interact-secret", INTERACT_BASE_URL=server.url, PROVIDER_TIMEOUT_SECONDS="2")


def operation(**payload: Any) -> Operation:
    stored = {
        "campaign_id": "campaign1",
        "caller_id": CALLER,
        "jp_token": "Aejhib7",
        "from": None,
        "additional_params": None,
        **payload,
    }
    return Operation.new(operation="interact.send_campaign_sms", client="c", payload=stored)


@pytest.mark.usefixtures("settings_for")
def test_executor_sends_the_stored_payload(monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> None:
    read: list[str] = []

    def get_secret(secret_id: str) -> dict[str, Any]:
        read.append(secret_id)
        return {"account_id": "12345678", "tenant_id": "tenant-7", "application_key": KEY, "environment_name": ""}

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    outcome = executor.send_campaign_sms(operation(**{"from": "+12125551234", "additional_params": {"var1": "value1"}}))
    assert outcome.verdict is Verdict.SUCCEEDED
    assert read == ["interact-secret"]
    [request] = server.requests
    assert request.path == PATH + "campaign1"
    assert json.loads(request.body) == {
        "callerId": CALLER,
        "jpToken": "Aejhib7",
        "from": "+12125551234",
        "additionalParams": "var1=value1",
    }


@pytest.mark.usefixtures("settings_for")
@pytest.mark.parametrize(
    "failure",
    [
        secrets.SecretUnavailable("secret interact-secret could not be read"),
        {"account_id": "12345678", "tenant_id": "tenant-7"},
    ],
)
def test_executor_without_credentials_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, server: SandboxServer, failure: Exception | dict[str, str]
) -> None:
    def get_secret(secret_id: str) -> dict[str, str]:
        if isinstance(failure, Exception):
            raise failure
        return failure

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    with pytest.raises(NotAttempted):
        executor.send_campaign_sms(operation())
    assert server.requests == []


@pytest.mark.parametrize("sender", ["+12121234567", "12345", "123", "12345678"])
def test_the_seeds_own_sender_and_short_codes_are_placed(
    client: InteractClient, server: SandboxServer, sender: str
) -> None:
    # Seed 002's body: `from` +12121234567 with additionalParams var1=value1&var2=value; or a short code.
    outcome = send(client, sender=sender, additional_params="var1=value1&var2=value")
    assert outcome.verdict is Verdict.SUCCEEDED
    assert json.loads(server.requests[0].body)["from"] == sender

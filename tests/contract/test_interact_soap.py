"""Interact over SOAP against the Interact sandbox: the seed's envelope, and every documented answer.

The seed's own samples (request and answers) are used verbatim where the seed gives them.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from xml.etree.ElementTree import canonicalize

import pytest
import requests
from defusedxml import ElementTree

from contract.conftest import Configure, Serve
from textgate import secrets
from textgate.executors import interact as executor
from textgate.models import Operation
from textgate.providers import transport
from textgate.providers.interact import InteractCredentials
from textgate.providers.interact_soap import AGENT_NS, ENVELOPE_NS, SOAP_PATH, InteractSoapClient, envelope, interpret
from textgate.providers.outcome import Verdict
from textgate.settings import Settings
from textgate_local.sandboxes import interact as sandbox
from textgate_local.sandboxes.base import Fault, SandboxServer

KEY = "53736e07e4b05772e6475c2d"
CREDENTIALS = InteractCredentials(account_id="12345678", tenant_id="tenant-7", application_key=KEY)
CALLER = "+972548120901"  # the seed's SOAP sample

# Seed 002, "Invoking the Method Using SOAP", sample request, byte for byte (campaign id "camp 1").
SEED_REQUEST = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:soap="http://com/jacada/interact/agent/soap"> <soapenv:Header/> <soapenv:Body> '
    "<soap:CampaignSMSRequest> <soap:campaignId>camp 1</soap:campaignId> <!--Optional:--> "
    "<soap:additionalParams>Variable1=Value1</soap:additionalParams> <soap:callerId>+972548120901</soap:callerId> "
    "<!--Optional:--> <soap:from></soap:from> <!--Optional:--> "
    "<soap:sendFromMasterAccount>false</soap:sendFromMasterAccount> <!--Optional:--> "
    "<soap:jpToken>Aejhib7</soap:jpToken> </soap:CampaignSMSRequest> </soapenv:Body> </soapenv:Envelope>"
)
_ENVELOPE = '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"> <SOAP-ENV:Header/> '
# The seed's answer samples ("<campaign id>" filled in).
SEED_SUCCESS = (
    _ENVELOPE + '<SOAP-ENV:Body> <ns2:CampaignSMSResponse xmlns:ns2="http://com/jacada/interact/agent/soap"> '
    "<ns2:message>message: Campaign camp1 was sent to queue messageSid: SM625ccff7281943868a579ba00330cf20"
    "</ns2:message> </ns2:CampaignSMSResponse> </SOAP-ENV:Body> </SOAP-ENV:Envelope>"
)
SEED_UNAUTHORIZED = (
    _ENVELOPE + "<SOAP-ENV:Body> <SOAP-ENV:Fault> <faultcode>0x7000000</faultcode> <faultstring>Request is "
    "unauthorized, missing or wrong credentials</faultstring> </SOAP-ENV:Fault> </SOAP-ENV:Body> </SOAP-ENV:Envelope>"
)


def seed_error(text: str) -> str:
    return (
        _ENVELOPE + '<SOAP-ENV:Body> <ns2:GetInteractionUniqueIdResponse xmlns:ns2="http://com/jacada/interact/agent/'
        f'soap"> <ns2:uniqueId>{text}</ns2:uniqueId> </ns2:GetInteractionUniqueIdResponse> </SOAP-ENV:Body> '
        "</SOAP-ENV:Envelope>"
    )


@pytest.fixture
def app() -> sandbox.InteractSandbox:
    return sandbox.InteractSandbox(account_id="12345678", tenant_id="tenant-7", application_key=KEY, slow_seconds=1.5)


@pytest.fixture
def server(app: sandbox.InteractSandbox, serving: Serve) -> SandboxServer:
    return serving(app)


@pytest.fixture
def client(server: SandboxServer) -> InteractSoapClient:
    return InteractSoapClient(server.url, CREDENTIALS, (1.0, 1.0))


def send(client: InteractSoapClient, **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {"campaign_id": "campaign1", "caller_id": CALLER, "jp_token": "Aejhib7"}
    return client.send_campaign_sms(**{**arguments, **kwargs})


def post_raw(server: SandboxServer, body: str, **headers: str) -> requests.Response:
    sent = {"Tenant-Id": "tenant-7", "Application-Key": KEY, "Content-Type": "text/xml; charset=utf-8", **headers}
    return requests.post(server.url + SOAP_PATH, data=body.encode(), headers=sent, timeout=5)


# -- what Interact sees ---------------------------------------------------------------------------------------


def test_envelope_is_the_seeds_sample_with_these_values() -> None:
    # The seed's sample values, with its empty `from`: the same document as the seed's, in canonical form
    # (C14N drops its comments and, with strip_text, the whitespace between elements).
    written = envelope(
        campaign_id="camp 1", caller_id=CALLER, jp_token="Aejhib7", sender="", additional_params="Variable1=Value1"
    )
    assert canonicalize(written.decode(), strip_text=True) == canonicalize(SEED_REQUEST, strip_text=True)
    # And what goes out on the wire: the seed's prefixes, no declaration, the optional `from` left out when absent.
    assert envelope(campaign_id="camp 1", caller_id=CALLER, jp_token="Aejhib7").decode() == (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:soap="http://com/jacada/interact/agent/soap"><soapenv:Header /><soapenv:Body>'
        "<soap:CampaignSMSRequest><soap:campaignId>camp 1</soap:campaignId><soap:callerId>+972548120901"
        "</soap:callerId><soap:sendFromMasterAccount>false</soap:sendFromMasterAccount><soap:jpToken>Aejhib7"
        "</soap:jpToken></soap:CampaignSMSRequest></soapenv:Body></soapenv:Envelope>"
    )


def test_envelope_parses_to_the_seeds_namespaces_and_order() -> None:
    written = envelope(
        campaign_id="c<&>1",
        caller_id=CALLER,
        jp_token="tök",
        sender="12345",
        additional_params={"a": "x y", "b": "1&2"},
        send_from_master_account=True,
    )
    root = ElementTree.fromstring(written)
    assert root.tag == f"{{{ENVELOPE_NS}}}Envelope"
    assert [child.tag for child in root] == [f"{{{ENVELOPE_NS}}}Header", f"{{{ENVELOPE_NS}}}Body"]
    [request] = list(root[1])
    assert request.tag == f"{{{AGENT_NS}}}CampaignSMSRequest"
    assert [(child.tag.split("}")[1], child.text) for child in request] == [
        ("campaignId", "c<&>1"),  # escaped by the XML writer, read back whole
        ("additionalParams", "a=x+y&b=1%262"),
        ("callerId", CALLER),
        ("from", "12345"),
        ("sendFromMasterAccount", "true"),
        ("jpToken", "tök"),
    ]


def test_posts_the_envelope_to_the_soap_path_with_the_security_headers(
    client: InteractSoapClient, server: SandboxServer
) -> None:
    outcome = send(client)
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.method == "POST" and request.path == "/interact/version/2/agent/soap" and request.query == {}
    assert request.header("Tenant-Id") == "tenant-7"
    assert request.header("Application-Key") == KEY
    assert request.header("Content-Type") == "text/xml; charset=utf-8"
    assert "environment-name" not in request.headers
    assert request.body == envelope(campaign_id="campaign1", caller_id=CALLER, jp_token="Aejhib7")
    assert server.acted == [f"sms:campaign1:{CALLER}:Aejhib7"]


def test_environment_name_is_sent_when_configured(server: SandboxServer) -> None:
    server.app.environment_name = "production"  # type: ignore[attr-defined]
    with_environment = InteractCredentials("12345678", "tenant-7", KEY, environment_name="production")
    assert send(InteractSoapClient(server.url, with_environment, (1.0, 1.0))).verdict is Verdict.SUCCEEDED
    assert server.requests[0].header("Environment-Name") == "production"


def test_send_from_master_account_reaches_interact(client: InteractSoapClient, server: SandboxServer) -> None:
    outcome = send(client, sender="12345", send_from_master_account=True)
    assert outcome.verdict is Verdict.SUCCEEDED
    assert server.acted == [f"sms:campaign1:{CALLER}:Aejhib7:master"]


def test_characters_xml_cannot_carry_are_refused_before_sending(
    client: InteractSoapClient, server: SandboxServer
) -> None:
    outcome = send(client, additional_params="a=\x01")
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "invalid_request"
    assert server.requests == []


# -- the sandbox checks the envelope as the seed shows it ----------------------------------------------------


def test_the_seeds_own_sample_request_is_accepted(server: SandboxServer) -> None:
    answer = post_raw(server, SEED_REQUEST)
    assert answer.status_code == 200
    outcome = interpret(transport.HttpAnswer(answer.status_code, {}, answer.content))
    assert outcome.verdict is Verdict.SUCCEEDED
    assert server.acted == ["sms:camp 1:+972548120901:Aejhib7"]


@pytest.mark.parametrize(
    ("body", "faultcode"),
    [
        # SOAP 1.2's envelope namespace: not the seed's SOAP 1.1.
        (SEED_REQUEST.replace(ENVELOPE_NS, "http://www.w3.org/2003/05/soap-envelope"), "SOAP-ENV:VersionMismatch"),
        (SEED_REQUEST.replace(AGENT_NS, "http://com/jacada/interact/soap"), "SOAP-ENV:Client"),  # another service
        (SEED_REQUEST.replace("CampaignSMSRequest", "CampaignSmsRequest"), "SOAP-ENV:Client"),
        (  # jpToken before callerId: out of the seed's order
            SEED_REQUEST.replace("<soap:callerId>+972548120901</soap:callerId>", "").replace(
                "</soap:CampaignSMSRequest>", "<soap:callerId>+972548120901</soap:callerId></soap:CampaignSMSRequest>"
            ),
            "SOAP-ENV:Client",
        ),
        (SEED_REQUEST.replace("<soap:from></soap:from>", "<from>1</from>"), "SOAP-ENV:Client"),  # unqualified
        ("<not-xml", "SOAP-ENV:Client"),
    ],
)
def test_a_request_that_is_not_the_seeds_envelope_is_a_fault(server: SandboxServer, body: str, faultcode: str) -> None:
    answer = post_raw(server, body)
    assert answer.status_code == 500
    fault = ElementTree.fromstring(answer.content).find(f"{{{ENVELOPE_NS}}}Body/{{{ENVELOPE_NS}}}Fault")
    assert fault is not None and fault.findtext("faultcode") == faultcode
    assert server.acted == []
    outcome = interpret(transport.HttpAnswer(answer.status_code, {}, answer.content))
    # A Client fault: refused, nothing placed. VersionMismatch is not documented: it does not say.
    expected = Verdict.REJECTED if faultcode.endswith("Client") else Verdict.UNKNOWN
    assert outcome.verdict is expected


def test_a_json_body_is_not_soap(server: SandboxServer) -> None:
    answer = post_raw(server, "{}", **{"Content-Type": "application/json"})
    assert answer.status_code == 415 and server.acted == []


# -- the seed's answers, read as the seed means them ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "verdict", "code", "message"),
    [
        (seed_error("Missing or invalid parameter callerId"), Verdict.REJECTED, "invalid_parameter", None),
        (seed_error("Campaign camp1 was not found"), Verdict.REJECTED, "campaign_not_found", None),
        (seed_error(sandbox.TELEPHONY_NOT_DEFINED), Verdict.REJECTED, "telephony_not_configured", None),
        (seed_error("Token expired"), Verdict.REJECTED, "token_expired", None),
        (seed_error("exception"), Verdict.UNKNOWN, "provider_internal_error", "Interact answered: exception"),
        (seed_error("Something else went wrong"), Verdict.REJECTED, "provider_rejected", None),
        (SEED_UNAUTHORIZED, Verdict.REJECTED, "unauthorized", "Request is unauthorized, missing or wrong credentials"),
    ],
)
def test_the_seeds_answers_at_http_200(body: str, verdict: Verdict, code: str, message: str | None) -> None:
    outcome = interpret(transport.HttpAnswer(200, {}, body.encode()))
    assert (outcome.verdict, outcome.code) == (verdict, code)
    if message is not None:
        assert outcome.message == message


def test_the_seeds_success_gives_the_message_sid() -> None:
    outcome = interpret(transport.HttpAnswer(200, {}, SEED_SUCCESS.encode()))
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["message_sid"] == "SM625ccff7281943868a579ba00330cf20"
    assert outcome.result["description"] == (
        "message: Campaign camp1 was sent to queue messageSid: SM625ccff7281943868a579ba00330cf20"
    )


@pytest.mark.parametrize(
    ("status", "body", "verdict", "code"),
    [
        (200, b"<html>proxy</html>", Verdict.UNKNOWN, "provider_malformed_answer"),
        (
            200,
            SEED_SUCCESS.replace("messageSid: SM625ccff7281943868a579ba00330cf20", "").encode(),
            Verdict.UNKNOWN,
            "provider_malformed_answer",
        ),
        (200, b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', Verdict.UNKNOWN, "provider_malformed_answer"),
        (500, b"<html>Internal Server Error</html>", Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (502, b"Bad Gateway", Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (504, b"Gateway Timeout", Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (503, b"Service Unavailable", Verdict.TRANSIENT, "provider_error"),
        (429, b"Too Many Requests", Verdict.TRANSIENT, "rate_limited"),
        (404, b"Not Found", Verdict.REJECTED, "provider_rejected"),
        (401, b"Unauthorized", Verdict.REJECTED, "unauthorized"),
        (
            500,
            SEED_UNAUTHORIZED.replace("0x7000000", "SOAP-ENV:Server")
            .replace("Request is unauthorized, missing or wrong credentials", "NullPointerException")
            .encode(),
            Verdict.UNKNOWN,
            "provider_fault",
        ),
    ],
)
def test_answers_without_a_documented_envelope(status: int, body: bytes, verdict: Verdict, code: str) -> None:
    outcome = interpret(transport.HttpAnswer(status, {}, body))
    assert (outcome.verdict, outcome.code, outcome.http_status) == (verdict, code, status)


# -- the client against the sandbox: every documented failure, for the REST sandbox's reserved values -------


def test_success_gives_the_message_sid(client: InteractSoapClient) -> None:
    outcome = send(client)
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert re.fullmatch(r"SM[0-9a-f]{32}", outcome.result["message_sid"])
    assert outcome.result["provider_status"] == "placed"


def test_wrong_application_key_is_a_fault_and_the_key_never_repeated(server: SandboxServer) -> None:
    wrong = InteractCredentials("12345678", "tenant-7", "not-the-key-0123")
    outcome = send(InteractSoapClient(server.url, wrong, (1.0, 1.0)))
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "unauthorized"
    assert outcome.message == (
        "Request is unauthorized, missing or wrong credentials "
        "(Unauthenticated-Reason: Invalid Application-Key [redacted])"
    )
    assert "not-the-key-0123" not in repr(outcome)
    assert server.acted == []


def test_missing_environment_name_is_unauthorized(client: InteractSoapClient, server: SandboxServer) -> None:
    server.app.environment_name = "production"  # type: ignore[attr-defined]
    outcome = send(client)
    assert outcome.code == "unauthorized" and outcome.message is not None
    assert "Missing Environment-Name header" in outcome.message


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"campaign_id": sandbox.MISSING_CAMPAIGN},
            (Verdict.REJECTED, "campaign_not_found", "Campaign missing-campaign was not found"),
        ),
        (
            {"campaign_id": sandbox.NO_TELEPHONY_CAMPAIGN},
            (Verdict.REJECTED, "telephony_not_configured", sandbox.TELEPHONY_NOT_DEFINED),
        ),
        ({"jp_token": sandbox.EXPIRED_TOKEN}, (Verdict.REJECTED, "token_expired", "Token expired")),
        (
            {"caller_id": "not-a-number"},
            (Verdict.REJECTED, "invalid_parameter", "Missing or invalid parameter callerId"),
        ),
        ({"sender": "x"}, (Verdict.REJECTED, "invalid_parameter", "Missing or invalid parameter from")),
    ],
)
def test_documented_failures(
    client: InteractSoapClient, server: SandboxServer, arguments: dict[str, str], expected: tuple[Any, ...]
) -> None:
    outcome = send(client, **arguments)
    assert (outcome.verdict, outcome.code, outcome.message) == expected
    assert server.acted == []


def test_the_general_exception_fault_is_unknown_after_one_call(
    client: InteractSoapClient, server: SandboxServer
) -> None:
    # The seed's "internal error from the X-Platform Server": the sandbox places the campaign, then faults.
    outcome = send(client, campaign_id=sandbox.FLAKY_CAMPAIGN)
    assert (outcome.verdict, outcome.code, outcome.message) == (
        Verdict.UNKNOWN,
        "provider_internal_error",
        "Interact answered: exception",
    )
    assert len(server.requests) == 1 and len(server.acted) == 1


def test_jp_token_is_optional_over_soap(client: InteractSoapClient, server: SandboxServer) -> None:
    # The seed's SOAP sample marks jpToken `<!--Optional:-->`: without one, the element is left out.
    outcome = client.send_campaign_sms(campaign_id="campaign1", caller_id=CALLER)
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert b"jpToken" not in request.body
    assert server.acted == [f"sms:campaign1:{CALLER}:"]


def test_slow_answer_is_unknown(client: InteractSoapClient, server: SandboxServer) -> None:
    outcome = send(client, caller_id=sandbox.SLOW_CALLER)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_timeout"
    deadline = time.monotonic() + 5
    while not server.acted and time.monotonic() < deadline:  # the sandbox notes it once its late answer is out
        time.sleep(0.05)
    assert len(server.acted) == 1


def test_answer_without_message_sid_is_unknown(client: InteractSoapClient, server: SandboxServer) -> None:
    outcome = send(client, caller_id=sandbox.MALFORMED_CALLER)
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_malformed_answer"
    assert len(server.acted) == 1


@pytest.mark.parametrize(
    ("fault", "verdict"),
    [
        (Fault.HTTP_503, Verdict.TRANSIENT),
        (Fault.HTTP_500, Verdict.UNKNOWN),  # plain text, no envelope: it does not say whether it acted
        (Fault.RESET_AFTER, Verdict.UNKNOWN),
        (Fault.MALFORMED, Verdict.UNKNOWN),
        (Fault.RATE_LIMIT, Verdict.RATE_LIMITED),
    ],
)
def test_transport_faults(client: InteractSoapClient, server: SandboxServer, fault: Fault, verdict: Verdict) -> None:
    server.fault_plan = lambda request: fault
    assert send(client).verdict is verdict


def test_connection_refused_is_transient() -> None:
    outcome = send(InteractSoapClient("http://127.0.0.1:9", CREDENTIALS, (0.5, 0.5)))
    assert outcome.verdict is Verdict.TRANSIENT and outcome.code == "provider_unreachable"


# -- the executor chooses the protocol from the settings -----------------------------------------------------


@pytest.fixture
def settings_for(configure: Configure, monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> Configure:
    """Settings for the executor against the sandbox, with what a test adds (`INTERACT_PROTOCOL`)."""
    secret = {"account_id": "12345678", "tenant_id": "tenant-7", "application_key": KEY, "environment_name": ""}
    monkeypatch.setattr(secrets, "get_secret", lambda secret_id: secret)

    def settings(**values: str) -> Settings:
        defaults = {"INTERACT_SECRET_ID": "interact-secret", "INTERACT_BASE_URL": server.url}
        return configure(**defaults, PROVIDER_TIMEOUT_SECONDS="2", **values)

    return settings


def operation(**payload: Any) -> Operation:
    stored = {"campaign_id": "campaign1", "caller_id": CALLER, "jp_token": "Aejhib7", "from": None,
              "additional_params": None, "send_from_master_account": False, **payload}  # fmt: skip
    return Operation.new(operation="interact.send_campaign_sms", client="c", payload=stored)


def test_executor_over_soap_sends_the_envelope(settings_for: Configure, server: SandboxServer) -> None:
    settings_for(INTERACT_PROTOCOL="soap")
    outcome = executor.send_campaign_sms(
        operation(**{"send_from_master_account": True, "additional_params": {"v": "1"}})
    )
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.path == SOAP_PATH
    assert request.body == envelope(
        campaign_id="campaign1", caller_id=CALLER, jp_token="Aejhib7", additional_params="v=1",
        send_from_master_account=True,
    )  # fmt: skip


def test_executor_over_rest_by_default(settings_for: Configure, server: SandboxServer) -> None:
    settings_for()
    outcome = executor.send_campaign_sms(operation())
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.path.startswith("/interact/version/3/account/12345678/")
    assert json.loads(request.body) == {"callerId": CALLER, "jpToken": "Aejhib7"}


def test_executor_over_rest_never_sends_a_master_account_operation(
    settings_for: Configure, server: SandboxServer
) -> None:
    # Accepted while the deployment spoke SOAP, delivered after it switched to REST: REST cannot say it.
    settings_for(INTERACT_PROTOCOL="rest")
    outcome = executor.send_campaign_sms(operation(send_from_master_account=True))
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "invalid_request"
    assert server.requests == []

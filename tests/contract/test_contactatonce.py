"""ContactAtOnce client against the ContactAtOnce sandbox: the XML it sends, regions, and every documented answer."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from contract.conftest import Configure, Serve
from textgate import secrets
from textgate.executors import NotAttempted
from textgate.executors import contactatonce as executor
from textgate.logic import contactatonce as logic
from textgate.logic import operations
from textgate.models import Operation
from textgate.providers import transport
from textgate.providers.contactatonce import (
    ContactAtOnceClient,
    ContactAtOnceCredentials,
    Conversation,
    interpret,
)
from textgate.providers.outcome import Verdict
from textgate.schemas.contactatonce import InitiateConversationRequest
from textgate_local.sandboxes import contactatonce as sandbox
from textgate_local.sandboxes.base import Fault, SandboxServer

PASSWORD = "s3cr&t<pw>"  # markup characters: they must be escaped, and never show up in an outcome
CREDENTIALS = ContactAtOnceCredentials(provider_id="77", username="acme", password=PASSWORD)
PATH = "/MobileTextConnectRestService.svc/InitiateMobileTextConversation"
NAMESPACE = "http://example.com/MobileTextConnect"


def app(**overrides: Any) -> sandbox.ContactAtOnceSandbox:
    return sandbox.ContactAtOnceSandbox(
        provider_id="77", username="acme", password=PASSWORD, slow_seconds=1.5, **overrides
    )


def conversation(phone: str = "+13056708084", **fields: Any) -> Conversation:
    return Conversation(consumer_phone=phone, **({"merchant_id": 123} | fields))


def children(body: bytes, namespace: str = "") -> list[tuple[str, str | None]]:
    root = fromstring(body)
    prefix = f"{{{namespace}}}" if namespace else ""
    return [(child.tag.removeprefix(prefix), child.text) for child in root]


@pytest.fixture
def server(serving: Serve) -> SandboxServer:
    return serving(app())


@pytest.fixture
def client(server: SandboxServer) -> ContactAtOnceClient:
    return ContactAtOnceClient(CREDENTIALS, base_urls={"na": server.url}, timeout=(1.0, 1.0))


# -- what the provider sees ----------------------------------------------------------------------------------


def test_request_is_a_utf8_xml_post_with_every_element_in_the_documented_order(
    client: ContactAtOnceClient, server: SandboxServer
) -> None:
    outcome = client.initiate_conversation(
        conversation(
            placement_id=42,
            listing_details="2019 Civic, stock #A1",
            consumer_first_name="Ana",
            consumer_last_name="Pérez",
            consumer_question="Is it available?",
        )
    )
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    [request] = server.requests
    assert request.method == "POST" and request.path == PATH
    assert request.header("Content-Type") == "application/xml; charset=utf-8"
    assert request.body.startswith(b'<?xml version="1.0" encoding="utf-8"?><InitiateMobileTextConversation>')
    assert b"xmlns" not in request.body  # no namespace unless one is configured
    assert children(request.body) == [
        ("ProviderId", "77"),
        ("UserName", "acme"),
        ("Password", PASSWORD),
        ("MerchantId", "123"),
        ("PlacementId", "42"),
        ("ListingDetails", "2019 Civic, stock #A1"),
        ("ConsumerPhoneNumber", "3056708084"),
        ("ConsumerPhoneNumberCountryCode", "1"),
        ("ConsumerFirstName", "Ana"),
        ("ConsumerLastName", "Pérez"),
        ("ConsumerQuestion", "Is it available?"),
    ]
    assert b"s3cr&amp;t&lt;pw&gt;" in request.body
    assert server.acted == ["initiate:+13056708084:Is it available?"]


def test_optional_elements_without_a_value_are_left_out(client: ContactAtOnceClient, server: SandboxServer) -> None:
    outcome = client.initiate_conversation(
        Conversation(consumer_phone="+13056708084", advertiser_id="A-9", consumer_first_name="", placement_id=None)
    )
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    assert children(server.requests[0].body) == [
        ("ProviderId", "77"),
        ("UserName", "acme"),
        ("Password", PASSWORD),
        ("AdvertiserId", "A-9"),
        ("ConsumerPhoneNumber", "3056708084"),
        ("ConsumerPhoneNumberCountryCode", "1"),
    ]


@pytest.mark.parametrize(
    ("phone", "national", "calling_code"),
    [("+13056708084", "3056708084", "1"), ("+61412345678", "412345678", "61"), ("+447911123456", "7911123456", "44")],
)
def test_consumer_phone_is_national_digits_and_calling_code(
    client: ContactAtOnceClient, server: SandboxServer, phone: str, national: str, calling_code: str
) -> None:
    assert client.initiate_conversation(conversation(phone)).verdict is Verdict.SUCCEEDED
    sent = dict(children(server.requests[0].body))
    assert (sent["ConsumerPhoneNumber"], sent["ConsumerPhoneNumberCountryCode"]) == (national, calling_code)


def test_unicode_and_markup_arrive_byte_exact(client: ContactAtOnceClient, server: SandboxServer) -> None:
    question = "Olá 👋 <b>&amp;\"'</b> ]]>\r\nsecond\tline\n"
    outcome = client.initiate_conversation(conversation(consumer_question=question, listing_details="Zürich ß"))
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    body = server.requests[0].body
    assert "Olá 👋".encode() in body and "Zürich ß".encode() in body  # UTF-8, not character references
    assert dict(children(body))["ConsumerQuestion"] == question  # CR survives the provider's parser
    assert server.acted == [f"initiate:+13056708084:{question}"]


def test_namespace_and_root_come_from_settings(configure: Configure, serving: Serve) -> None:
    namespaced = serving(app(root_element="StartConversation", namespace=NAMESPACE))
    settings = configure(
        CONTACTATONCE_BASE_URL_NA=namespaced.url,
        CONTACTATONCE_ROOT_ELEMENT="StartConversation",
        CONTACTATONCE_NAMESPACE=NAMESPACE,
    )
    outcome = ContactAtOnceClient.from_settings(CREDENTIALS, settings).initiate_conversation(conversation())
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    root = fromstring(namespaced.requests[0].body)
    assert root.tag == f"{{{NAMESPACE}}}StartConversation"
    assert all(child.tag.startswith(f"{{{NAMESPACE}}}") for child in root)
    assert children(namespaced.requests[0].body, NAMESPACE) == [
        ("ProviderId", "77"),
        ("UserName", "acme"),
        ("Password", PASSWORD),
        ("MerchantId", "123"),
        ("ConsumerPhoneNumber", "3056708084"),
        ("ConsumerPhoneNumberCountryCode", "1"),
    ]


def test_a_root_the_service_does_not_expect_is_a_final_http_400(server: SandboxServer) -> None:
    wrong = ContactAtOnceClient(CREDENTIALS, base_urls={"na": server.url}, timeout=(1.0, 1.0), namespace=NAMESPACE)
    outcome = wrong.initiate_conversation(conversation())
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, "provider_rejected", 400)
    assert server.acted == []


def test_an_unusable_root_element_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="root"):
        ContactAtOnceClient(CREDENTIALS, base_urls={}, timeout=(1.0, 1.0), root_element="a b")


def test_the_three_regions_reach_their_own_base_urls(configure: Configure, serving: Serve) -> None:
    regions = {region: serving(app()) for region in ("na", "au", "eu")}
    settings = configure(
        **{f"CONTACTATONCE_BASE_URL_{region.upper()}": running.url + "/" for region, running in regions.items()}
    )
    client = ContactAtOnceClient.from_settings(CREDENTIALS, settings)
    for region in regions:
        assert client.initiate_conversation(conversation(), region=region).verdict is Verdict.SUCCEEDED
    for running in regions.values():
        assert [request.path for request in running.requests] == [PATH]


def test_default_base_urls_are_the_documented_regional_services(configure: Configure) -> None:
    client = ContactAtOnceClient.from_settings(CREDENTIALS, configure())
    assert client.endpoint("na") == f"https://services.contactatonce.com{PATH}"
    assert client.endpoint("au") == f"https://services.contactatonce.com.au{PATH}"
    assert client.endpoint("eu") == f"https://services.contactatonce.co.uk{PATH}"


# -- the sandbox refuses what the service would refuse ----------------------------------------------------------

GOOD = (
    "<ProviderId>77</ProviderId><UserName>acme</UserName><Password>s3cr&amp;t&lt;pw&gt;</Password>"
    "<MerchantId>123</MerchantId><ConsumerPhoneNumber>3056708084</ConsumerPhoneNumber>"
    "<ConsumerPhoneNumberCountryCode>1</ConsumerPhoneNumberCountryCode>"
)


def post(server: SandboxServer, children_xml: str, **overrides: str) -> tuple[int, str]:
    """A hand-written request, as a misbehaving client would send it."""
    import requests

    body = f"<InitiateMobileTextConversation>{children_xml}</InitiateMobileTextConversation>".encode()
    answer = requests.request(
        overrides.get("method", "POST"),
        server.url + overrides.get("path", PATH),
        data=body,
        headers={"Content-Type": overrides.get("content_type", "application/xml; charset=utf-8")},
        timeout=5,
    )
    return answer.status_code, answer.text


def test_sandbox_accepts_a_well_formed_request(server: SandboxServer) -> None:
    status, text = post(server, GOOD)
    assert status == 200 and "<Status>Success</Status>" in text
    assert server.acted == ["initiate:+13056708084:"]


@pytest.mark.parametrize(
    ("overrides", "status"),
    [({"method": "GET"}, 405), ({"path": PATH + "x"}, 404), ({"content_type": "text/xml"}, 415)],
)
def test_sandbox_refuses_the_wrong_http_request(server: SandboxServer, overrides: dict[str, str], status: int) -> None:
    assert post(server, GOOD, **overrides)[0] == status
    assert server.acted == []


@pytest.mark.parametrize(
    ("children_xml", "words"),
    [
        (
            GOOD.replace("<MerchantId>123</MerchantId>", "") + "<MerchantId>123</MerchantId>",
            "MerchantId is out of order",
        ),
        (GOOD.replace("</MerchantId>", "</MerchantId><AdvertiserId>A</AdvertiserId>"), "but not both"),
        (GOOD.replace("<MerchantId>123</MerchantId>", ""), "but not both"),
        (GOOD.replace("<UserName>acme</UserName>", ""), "UserName required"),
        (GOOD.replace(">123<", ">A-9<"), "MerchantId must be an integer"),
        (GOOD + "<Extra>1</Extra>", "Unexpected element"),
        (GOOD.replace("<Password>", "<Password>x"), "Authentication failed"),
    ],
)
def test_sandbox_answers_failure_for_bad_parameters(server: SandboxServer, children_xml: str, words: str) -> None:
    status, text = post(server, children_xml)
    assert status == 200 and "<Status>Failure</Status>" in text and words in text
    assert server.acted == []


def test_sandbox_refuses_a_body_that_is_not_xml(server: SandboxServer) -> None:
    assert post(server, GOOD + "<oops>")[0] == 400


# -- refused before anything is sent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "fields"),
    [
        ("na", {"merchant_id": 123, "advertiser_id": "A-9"}),
        ("na", {"merchant_id": None}),
        ("na", {"merchant_id": None, "advertiser_id": ""}),
        ("xx", {}),
        ("na", {"consumer_question": "bell \x07"}),
        ("na", {"consumer_last_name": "\ud800"}),
    ],
)
def test_requests_the_service_could_not_take_are_refused_without_sending(
    client: ContactAtOnceClient, server: SandboxServer, region: str, fields: dict[str, Any]
) -> None:
    outcome = client.initiate_conversation(conversation(**fields), region=region)
    assert (outcome.verdict, outcome.code) == (Verdict.REJECTED, "invalid_request")
    assert server.requests == []


# -- every documented answer ----------------------------------------------------------------------------------


def test_success_is_read_by_local_name_in_the_answers_namespace(client: ContactAtOnceClient) -> None:
    outcome = client.initiate_conversation(conversation())
    assert outcome.verdict is Verdict.SUCCEEDED
    assert outcome.result == {"provider_status": "Success", "description": None}  # xsi:nil
    assert outcome.http_status == 200


def test_failure_is_final_with_the_providers_words(client: ContactAtOnceClient, server: SandboxServer) -> None:
    outcome = client.initiate_conversation(conversation("+1" + sandbox.MERCHANT_NOT_FOUND_NUMBER))
    assert (outcome.verdict, outcome.code, outcome.message) == (
        Verdict.REJECTED,
        "provider_rejected",
        "Merchant not found",
    )
    assert server.acted == []


def test_authentication_failure_is_final_and_never_shows_the_password(server: SandboxServer) -> None:
    wrong = ContactAtOnceCredentials(provider_id="77", username="acme", password="not-the-password")
    outcome = ContactAtOnceClient(wrong, base_urls={"na": server.url}, timeout=(1.0, 1.0)).initiate_conversation(
        conversation()
    )
    assert (outcome.verdict, outcome.code) == (Verdict.REJECTED, "provider_rejected")
    assert outcome.message is not None and outcome.message.startswith("Authentication failed")
    assert "not-the-password" not in repr(outcome) and "not-the-password" not in repr(wrong)
    assert server.acted == []


@pytest.mark.parametrize(
    ("number", "status", "words"),
    [(sandbox.FAILURE_500_NUMBER, 500, "Service error"), (sandbox.FAILURE_400_NUMBER, 400, "Bad request")],
)
def test_failure_is_final_whatever_the_http_status(
    client: ContactAtOnceClient, server: SandboxServer, number: str, status: int, words: str
) -> None:
    # Failure means "could not be completed" with any status: not `unknown` on a 500, and its Description (not the
    # raw XML) on a 400.
    outcome = client.initiate_conversation(conversation("+1" + number))
    assert (outcome.verdict, outcome.code, outcome.message, outcome.http_status) == (
        Verdict.REJECTED,
        "provider_rejected",
        words,
        status,
    )
    assert len(server.requests) == 1 and server.acted == []


@pytest.mark.parametrize("number", [sandbox.NIL_DESCRIPTION_NUMBER, sandbox.EMPTY_DESCRIPTION_NUMBER])
def test_failure_without_a_description_still_says_what_happened(client: ContactAtOnceClient, number: str) -> None:
    outcome = client.initiate_conversation(conversation("+1" + number))
    assert (outcome.verdict, outcome.code) == (Verdict.REJECTED, "provider_rejected")
    assert outcome.message == "ContactAtOnce refused the conversation without a description"


def test_http_503_is_transient(client: ContactAtOnceClient, server: SandboxServer) -> None:
    outcome = client.initiate_conversation(conversation("+1" + sandbox.HTTP_503_NUMBER))
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.TRANSIENT, "provider_error", 503)
    assert server.acted == []


def test_http_429_is_transient(client: ContactAtOnceClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RATE_LIMIT
    outcome = client.initiate_conversation(conversation())
    assert (outcome.verdict, outcome.http_status) == (Verdict.TRANSIENT, 429)


def test_other_http_4xx_is_final(client: ContactAtOnceClient, server: SandboxServer) -> None:
    misrouted = ContactAtOnceClient(CREDENTIALS, base_urls={"na": server.url + "/elsewhere"}, timeout=(1.0, 1.0))
    outcome = misrouted.initiate_conversation(conversation())
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, "provider_rejected", 404)


def test_slow_answer_is_unknown_never_retried(client: ContactAtOnceClient, server: SandboxServer) -> None:
    outcome = client.initiate_conversation(conversation("+1" + sandbox.SLOW_NUMBER))
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_timeout")


def test_malformed_answer_after_acting_is_unknown(client: ContactAtOnceClient, server: SandboxServer) -> None:
    outcome = client.initiate_conversation(conversation("+1" + sandbox.MALFORMED_NUMBER))
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_malformed_answer")
    assert len(server.acted) == 1


def test_reset_after_acting_is_unknown(client: ContactAtOnceClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RESET_AFTER
    outcome = client.initiate_conversation(conversation())
    assert outcome.verdict is Verdict.UNKNOWN
    assert len(server.acted) == 1


def test_connection_refused_is_transient() -> None:
    closed = ContactAtOnceClient(CREDENTIALS, base_urls={"na": "http://127.0.0.1:9"}, timeout=(0.5, 0.5))
    outcome = closed.initiate_conversation(conversation())
    assert (outcome.verdict, outcome.code) == (Verdict.TRANSIENT, "provider_unreachable")


@pytest.mark.parametrize(
    "body",
    [
        b"<Response><Description>done</Description></Response>",
        b"<Response><Status>Pending</Status></Response>",
        b"",
        b"<html>Service Unavailable</html>",
    ],
)
def test_a_2xx_answer_without_a_usable_status_is_unknown(body: bytes) -> None:
    outcome = interpret(transport.HttpAnswer(200, {}, body)).without(PASSWORD)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_malformed_answer")


def test_a_password_echoed_by_the_provider_is_masked() -> None:
    body = f"<r><Status>Failure</Status><Description>bad password {PASSWORD}</Description></r>"
    answer = transport.HttpAnswer(200, {}, body.replace("&", "&amp;").replace("<pw>", "&lt;pw&gt;").encode())
    outcome = interpret(answer).without(PASSWORD)
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.message == "bad password [redacted]"


def test_no_outcome_ever_holds_the_password(client: ContactAtOnceClient, server: SandboxServer) -> None:
    numbers = [
        sandbox.MERCHANT_NOT_FOUND_NUMBER,
        sandbox.NIL_DESCRIPTION_NUMBER,
        sandbox.HTTP_503_NUMBER,
        sandbox.MALFORMED_NUMBER,
        "3056708084",
    ]
    outcomes = [client.initiate_conversation(conversation("+1" + number)) for number in numbers]
    assert {outcome.verdict for outcome in outcomes} == {
        Verdict.SUCCEEDED,
        Verdict.REJECTED,
        Verdict.TRANSIENT,
        Verdict.UNKNOWN,
    }
    for outcome in outcomes:
        assert PASSWORD not in repr(outcome)
    assert PASSWORD not in repr(CREDENTIALS) and PASSWORD not in repr(client) and PASSWORD not in str(vars(client))


# -- from the API's request to the provider call -------------------------------------------------------------


def accept(monkeypatch: pytest.MonkeyPatch, body: dict[str, Any]) -> Operation:
    """The operation logic would store and queue, without a table or a queue."""
    monkeypatch.setattr(
        operations, "accept", lambda *, payload, **kwargs: Operation.new(payload=payload.stored(), **kwargs)
    )
    return logic.accept_conversation("client-1", InitiateConversationRequest.model_validate(body))


def test_accepted_operation_is_executed_against_its_region(
    monkeypatch: pytest.MonkeyPatch, configure: Configure, server: SandboxServer
) -> None:
    configure(CONTACTATONCE_BASE_URL_EU=server.url, CONTACTATONCE_SECRET_ID="contactatonce-secret")
    read: list[str] = []

    def get_secret(secret_id: str) -> dict[str, Any]:
        read.append(secret_id)
        return {"provider_id": 77, "username": "acme", "password": PASSWORD}

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    operation = accept(
        monkeypatch,
        {
            "advertiser_id": "A-9",
            "country": "GB",
            "consumer_phone": "07911 123456",
            "consumer_question": "Hola ¿qué tal?",
            "region": "eu",
        },
    )
    assert (operation.operation, operation.provider) == ("contactatonce.initiate_conversation", "contactatonce")
    assert operation.sms is None
    outcome = executor.initiate_conversation(operation)
    assert outcome.verdict is Verdict.SUCCEEDED, outcome
    assert read == ["contactatonce-secret"]
    assert children(server.requests[0].body) == [
        ("ProviderId", "77"),
        ("UserName", "acme"),
        ("Password", PASSWORD),
        ("AdvertiserId", "A-9"),
        ("ConsumerPhoneNumber", "7911123456"),
        ("ConsumerPhoneNumberCountryCode", "44"),
        ("ConsumerQuestion", "Hola ¿qué tal?"),
    ]


def test_no_suppression_check_for_a_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    from textgate.dal import suppression

    def refuse(*args: object) -> bool:
        raise AssertionError("a conversation sends no SMS: the suppression list is not consulted")

    monkeypatch.setattr(suppression, "is_opted_out", refuse)
    operation = accept(monkeypatch, {"merchant_id": 5, "consumer_phone": "+13056708084"})
    assert operation.payload == {
        "merchant_id": 5,
        "advertiser_id": None,
        "consumer_phone": "+13056708084",
        "placement_id": None,
        "listing_details": None,
        "consumer_first_name": None,
        "consumer_last_name": None,
        "consumer_question": None,
        "region": "na",
    }


@pytest.mark.parametrize("secret", [secrets.SecretUnavailable("secret x could not be read"), {"username": "acme"}])
def test_missing_credentials_mean_not_attempted(
    monkeypatch: pytest.MonkeyPatch, configure: Configure, secret: object
) -> None:
    configure(CONTACTATONCE_SECRET_ID="contactatonce-secret")

    def get_secret(secret_id: str) -> object:
        if isinstance(secret, Exception):
            raise secret
        return secret

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    operation = accept(monkeypatch, {"merchant_id": 5, "consumer_phone": "+13056708084"})
    with pytest.raises(NotAttempted, match="credentials unavailable"):
        executor.initiate_conversation(operation)

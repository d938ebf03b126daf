"""Every provider client against its sandbox: an answer that does not say whether the provider acted is `unknown`
(never retried, so nothing is sent twice); only answers that say it did not act are retried; and an error carries
the provider's own words, without markup and without a credential."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest

from contract.conftest import Serve
from textgate.providers.contactatonce import ContactAtOnceClient, ContactAtOnceCredentials, Conversation
from textgate.providers.interact import InteractClient, InteractCredentials
from textgate.providers.ogangi import OgangiClient, OgangiCredentials
from textgate.providers.outcome import REDACTED, ProviderOutcome, Verdict
from textgate.providers.protexting import ProTextingClient, ProTextingCredentials
from textgate_local.sandboxes import contactatonce, interact, ogangi, protexting
from textgate_local.sandboxes.base import Fault, RecordedRequest, SandboxAnswer, SandboxServer

TIMEOUT = (1.0, 1.0)
OGANGI_PRIVATE, OGANGI_PUBLIC = "ogangi-Private-K3y", "ogangi-Public-K3y"
CAO_PASSWORD = "cao-Passw0rd-7"
INTERACT_KEY = "53736e07e4b05772e6475c2d"
PROTEXTING_TOKEN = "tok-Secret-0123456789"

Send = Callable[[str], ProviderOutcome]  # base URL -> the outcome of one ordinary send there


@dataclass(frozen=True)
class Provider:
    label: str  # as the client names it in messages
    app: Callable[[], object]  # a fresh sandbox that checks requests as the provider would
    send: Send
    secrets: tuple[str, ...]


def _ogangi(base: str, mobile: str = "13056708084") -> ProviderOutcome:
    client = OgangiClient(base, OgangiCredentials("434", OGANGI_PUBLIC, OGANGI_PRIVATE), TIMEOUT)
    return client.send_mt(sender="1989", carrier_id=None, mobile=mobile, text="hello")


def _contactatonce(base: str) -> ProviderOutcome:
    client = ContactAtOnceClient(
        ContactAtOnceCredentials("77", "acme", CAO_PASSWORD), base_urls={"na": base}, timeout=TIMEOUT
    )
    return client.initiate_conversation(Conversation(consumer_phone="+13056708084", merchant_id=123))


def _interact(base: str, campaign: str = "campaign1") -> ProviderOutcome:
    client = InteractClient(base, InteractCredentials("12345678", "tenant-7", INTERACT_KEY), TIMEOUT)
    return client.send_campaign_sms(campaign_id=campaign, caller_id="+972544696388", jp_token="Aejhib7")


def _protexting(base: str) -> ProviderOutcome:
    return ProTextingClient(base, ProTextingCredentials(PROTEXTING_TOKEN), TIMEOUT).opt_in(
        phone_number="16461234567", group_ids=[1]
    )


PROVIDERS = {
    "ogangi": Provider(
        "Ogangi",
        lambda: ogangi.OgangiSandbox(instance_id="434", public_key=OGANGI_PUBLIC, private_key=OGANGI_PRIVATE),
        _ogangi,
        (OGANGI_PRIVATE, OGANGI_PUBLIC),
    ),
    "contactatonce": Provider(
        "ContactAtOnce",
        lambda: contactatonce.ContactAtOnceSandbox(provider_id="77", username="acme", password=CAO_PASSWORD),
        _contactatonce,
        (CAO_PASSWORD,),
    ),
    "interact": Provider(
        "Interact",
        lambda: interact.InteractSandbox(account_id="12345678", tenant_id="tenant-7", application_key=INTERACT_KEY),
        _interact,
        (INTERACT_KEY,),
    ),
    "protexting": Provider(
        "ProTexting",
        lambda: protexting.ProTextingSandbox(access_token=PROTEXTING_TOKEN),
        _protexting,
        (PROTEXTING_TOKEN,),
    ),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> Provider:
    return PROVIDERS[request.param]


@pytest.fixture
def server(provider: Provider, serving: Serve) -> SandboxServer:
    return serving(provider.app())


def always(fault: Fault) -> Callable[[RecordedRequest], Fault]:
    return lambda request: fault


# -- acted, then no answer that says so: unknown, and the provider acted exactly once ----------------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Fault.BAD_GATEWAY_AFTER, 502),
        (Fault.GATEWAY_TIMEOUT_AFTER, 504),
        (Fault.HTML_500_AFTER, 500),
    ],
)
def test_a_gateway_page_after_acting_is_unknown_and_acted_once(
    provider: Provider, server: SandboxServer, fault: Fault, status: int
) -> None:
    server.fault_plan = always(fault)
    outcome = provider.send(server.url)
    assert (outcome.verdict, outcome.code, outcome.http_status) == (
        Verdict.UNKNOWN,
        "provider_ambiguous_answer",
        status,
    )
    assert len(server.acted) == 1 and server.faults_injected == {fault.value: 1}
    # The page is told as text, not dumped: what the gateway said, and that it was a page.
    assert outcome.message is not None and "<" not in outcome.message
    assert outcome.message.startswith(f"{provider.label} answered HTTP {status}: an HTML page: ")
    assert "nginx" in outcome.message


@pytest.mark.parametrize("fault", [Fault.RESET_AFTER, Fault.CUT_AFTER])
def test_a_connection_lost_after_acting_is_unknown_and_acted_once(
    provider: Provider, server: SandboxServer, fault: Fault
) -> None:
    server.fault_plan = always(fault)
    outcome = provider.send(server.url)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_no_answer")
    assert len(server.acted) == 1


def test_a_500_that_is_not_the_providers_error_answer_is_unknown(provider: Provider, server: SandboxServer) -> None:
    """A plain-text 500 (not Ogangi's ERROR, not Interact's `exception`): whether it acted cannot be told."""
    server.fault_plan = always(Fault.HTTP_500)
    outcome = provider.send(server.url)
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.UNKNOWN, "provider_ambiguous_answer", 500)
    assert outcome.message == f"{provider.label} answered HTTP 500: Internal Server Error"


# -- answers that say the provider did not act: retried, nothing acted --------------------------------------------


@pytest.mark.parametrize(("fault", "status"), [(Fault.HTTP_503, 503), (Fault.RATE_LIMIT, 429)])
def test_503_and_429_are_retried_and_nothing_was_done(
    provider: Provider, server: SandboxServer, fault: Fault, status: int
) -> None:
    server.fault_plan = always(fault)
    outcome = provider.send(server.url)
    assert outcome.verdict in {Verdict.TRANSIENT, Verdict.RATE_LIMITED} and outcome.http_status == status
    assert server.acted == []


# -- a provider's own "internal error": it does not show that nothing was sent, so `unknown`, never retried -----


@pytest.mark.parametrize("status", [200, 400, 500])
def test_ogangi_error_status_is_unknown_whatever_the_http_status(status: int) -> None:
    body = b"<input>sendMT</input> <status>ERROR</status> <description>Internal error, try again</description>"
    with canned(SandboxAnswer(status, body, {"Content-Type": "application/xml"})) as running:
        outcome = _ogangi(running.url)
        assert len(running.requests) == 1
    assert (outcome.verdict, outcome.code, outcome.message) == (
        Verdict.UNKNOWN,
        "provider_internal_error",
        "Ogangi answered ERROR: Internal error, try again",
    )


def test_ogangis_error_comes_after_the_message_went_out_in_the_sandbox(serving: Serve) -> None:
    """The sandbox's reserved ERROR number acts first, as a real internal error after sending may have."""
    server = serving(ogangi.OgangiSandbox(public_key=OGANGI_PUBLIC, private_key=OGANGI_PRIVATE))
    outcome = _ogangi(server.url, mobile=ogangi.ERROR_NUMBER)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_internal_error")
    assert len(server.requests) == 1 and len(server.acted) == 1


@pytest.mark.parametrize(
    "body",
    [b"exception", b"exception\n", b'<?xml version="1.0"?><error>exception</error>', b"<error>exception</error>"],
)
def test_interacts_documented_500_exception_is_unknown_as_text_or_xml(body: bytes) -> None:
    with canned(SandboxAnswer(500, body, {"Content-Type": "text/plain"})) as running:
        outcome = _interact(running.url)
        assert len(running.requests) == 1
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.UNKNOWN, "provider_internal_error", 500)
    assert outcome.message is not None and outcome.message.startswith("Interact answered HTTP 500: ")


@pytest.mark.parametrize("body", [b"<html><body>exception</body></html>", b"exception in thread main", b""])
def test_an_interact_500_that_is_not_the_documented_exception_is_unknown(body: bytes) -> None:
    with canned(
        SandboxAnswer(500, body, {"Content-Type": "text/html" if body.startswith(b"<") else "text/plain"})
    ) as running:
        outcome = _interact(running.url)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_ambiguous_answer")


def test_a_502_is_unknown_even_with_the_providers_error_words() -> None:
    """A gateway's status wins over any body: a 502 says the provider behind it failed, perhaps after acting."""
    with canned(SandboxAnswer(502, b"exception", {"Content-Type": "text/plain"})) as running:
        outcome = _interact(running.url)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_ambiguous_answer")


# -- the provider's words --------------------------------------------------------------------------------------


@dataclass
class Canned:
    """Answers one fixed thing to every request: for answers no provider sandbox gives on its own."""

    answer: SandboxAnswer
    name: str = "canned"
    seen: list[RecordedRequest] = field(default_factory=list)

    def handle(self, request: RecordedRequest) -> SandboxAnswer:
        return self.answer

    def rate_limited(self, request: RecordedRequest) -> SandboxAnswer:
        return self.answer


class canned:  # noqa: N801 - used as a context manager, like a function
    def __init__(self, answer: SandboxAnswer) -> None:
        self._server = SandboxServer(Canned(answer)).start()  # type: ignore[arg-type]

    def __enter__(self) -> SandboxServer:
        return self._server

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


def test_an_error_page_becomes_its_text_without_markup_or_credentials(provider: Provider) -> None:
    secret = provider.secrets[0]
    page = (
        "<!DOCTYPE html>\n<html><head><title>Upstream   failure</title><style>p {color: red}</style>"
        "<script>var token = 1;</script></head>\n<body><h1>Upstream failure</h1>"
        f"<p>The server &amp; its backend\n\tfailed for key {secret}.</p></body></html>"
    )
    with canned(SandboxAnswer(500, page.encode(), {"Content-Type": "text/html; charset=utf-8"})) as running:
        outcome = provider.send(running.url)
    assert outcome.verdict is Verdict.UNKNOWN
    assert outcome.message == (
        f"{provider.label} answered HTTP 500: an HTML page: "
        f"Upstream failure The server & its backend failed for key {REDACTED}."
    )


@pytest.mark.parametrize("status", [400, 403, 500])
def test_a_long_answer_is_cut_and_leaves_no_part_of_a_credential(provider: Provider, status: int) -> None:
    for secret in provider.secrets:
        # The cut falls in the middle of the credential: what would be left of it is blanked too.
        text = "refused: " + "x" * 480 + secret + " and more words " * 30
        with canned(SandboxAnswer(status, text.encode(), {"Content-Type": "text/plain"})) as running:
            outcome = provider.send(running.url)
        assert outcome.message is not None and "refused: xxxx" in outcome.message
        assert len(outcome.message) <= 600 and outcome.message.endswith(f"{REDACTED}…")
        assert secret[:6] not in outcome.message.replace(REDACTED, "")


def test_a_refusal_carries_the_providers_words(provider: Provider) -> None:
    """A 4xx outside the documented answers is final, in the provider's words (whitespace collapsed)."""
    body = b"Request blocked by\r\n   the web application firewall (rule 942100)"
    with canned(SandboxAnswer(418, body, {"Content-Type": "text/plain"})) as running:
        outcome = provider.send(running.url)
    assert (outcome.verdict, outcome.code, outcome.http_status) == (Verdict.REJECTED, "provider_rejected", 418)
    assert outcome.message == (
        f"{provider.label} answered HTTP 418: Request blocked by the web application firewall (rule 942100)"
    )


def test_a_json_error_gives_its_message(provider: Provider) -> None:
    body = b'{"name": "Conflict", "message": "The resource\\nis locked.", "code": 0, "status": 409}'
    with canned(SandboxAnswer(409, body, {"Content-Type": "application/json"})) as running:
        outcome = provider.send(running.url)
    assert (outcome.verdict, outcome.message) == (
        Verdict.REJECTED,
        f"{provider.label} answered HTTP 409: The resource is locked.",
    )


def test_an_echoed_url_encoded_credential_is_blanked() -> None:
    token = "tok/with+special=chars&more"
    body = f"bad request to /v1/contacts-opt-in/create?access_token={token}".encode()
    answer = SandboxAnswer(400, body + b" " + quote(token, safe="").encode(), {"Content-Type": "text/plain"})
    with canned(answer) as running:
        outcome = ProTextingClient(running.url, ProTextingCredentials(token), TIMEOUT).opt_in(
            phone_number="16461234567", group_ids=[1]
        )
    assert outcome.message is not None
    assert token not in outcome.message and quote(token, safe="") not in outcome.message
    assert outcome.message.count(REDACTED) == 2


def test_an_unreadable_pin_answer_never_shows_the_pin() -> None:
    """A 2xx that cannot be read is unknown, and its body is not repeated: it may hold the generated PIN."""
    body = b"<input>sendSMSPinMobileNumberConfirm</input> <result> <PinSMSConfirmation> <pin>846547</pin>"
    with canned(SandboxAnswer(200, body, {"Content-Type": "application/xml"})) as running:
        client = OgangiClient(running.url, OgangiCredentials("434", OGANGI_PUBLIC, OGANGI_PRIVATE), TIMEOUT)
        outcome = client.send_pin(carrier="Movistar", sender="1989", mobile="13056708084", text="code", length=6)
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_malformed_answer")
    assert "846547" not in repr(outcome)

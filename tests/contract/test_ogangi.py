"""Ogangi client against the Ogangi sandbox: signature, Base64, paths, and every documented answer."""

from __future__ import annotations

import base64
import re
import time
from datetime import datetime
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from contract.conftest import Serve
from textgate.logic.inbound import sent_at
from textgate.providers.ogangi import OgangiClient, OgangiCredentials, sign
from textgate.providers.outcome import Verdict
from textgate_local.sandboxes import ogangi as sandbox
from textgate_local.sandboxes.base import Fault, SandboxServer

CREDENTIALS = OgangiCredentials(instance_id="434", public_key="pub-key", private_key="A1B2T3J4N5")


@pytest.fixture
def server(serving: Serve) -> SandboxServer:
    return serving(
        sandbox.OgangiSandbox(instance_id="434", public_key="pub-key", private_key="A1B2T3J4N5", slow_seconds=1.5)
    )


@pytest.fixture
def client(server: SandboxServer) -> OgangiClient:
    return OgangiClient(server.url, CREDENTIALS, (1.0, 1.0))


def test_signature_matches_the_documented_check_value() -> None:
    message = ["8", "-1", "434", "peter", "true", "testJsonBroadcast", "null"]
    assert sign("A1B2T3J4N5", message) == "345c9baab29d1500ebbf756b9aaa61fcdf265aa5703cd9d1a82ae57850d9b688"


def test_send_sms_puts_carrier_before_from_and_base64_encodes_number_and_text(
    client: OgangiClient, server: SandboxServer
) -> None:
    outcome = client.send_sms(carrier="Movistar", sender="19893653744", mobile="13056708084", text="Olá 👋")
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    assert request.method == "POST" and request.body == b""
    parts = request.path.split("/")
    assert parts[:5] == ["", "rest", "api", "tools", "sendSMS"]
    instance, carrier, sender, mobile, text, public_key, signature = parts[5:]
    assert (instance, carrier, sender, public_key) == ("434", "Movistar", "19893653744", "pub-key")
    assert base64.urlsafe_b64decode(mobile).decode() == "13056708084"
    assert base64.urlsafe_b64decode(text).decode("utf-8") == "Olá 👋"  # byte-exact unicode
    assert signature == sign("A1B2T3J4N5", [instance, carrier, sender, mobile, text])


def test_a_carrier_with_a_space_and_an_ampersand_is_signed_as_it_travels(
    client: OgangiClient, server: SandboxServer
) -> None:
    # An assumption the seed does not settle: the signature covers the values percent-encoded, exactly as they
    # appear in the URL (as the Base64 ones do). The sandbox checks it that way; see docs/providers.md for how a
    # real account would show the other reading.
    outcome = client.send_sms(carrier="AT&T Mobile", sender="19893653744", mobile="13056708084", text="hi")
    assert outcome.verdict is Verdict.SUCCEEDED
    [request] = server.requests
    instance, carrier, sender, mobile, text, _, signature = request.path.split("/")[5:]
    assert carrier == "AT%26T%20Mobile"
    assert signature == sign("A1B2T3J4N5", [instance, carrier, sender, mobile, text])
    assert signature != sign("A1B2T3J4N5", [instance, "AT&T Mobile", sender, mobile, text])
    assert server.app.messages["13056708084"][-1]["carrier"] == "AT&T Mobile"  # type: ignore[attr-defined]
    assert outcome.result is not None and outcome.result["carrier"] == "AT&T Mobile"


def test_the_messages_carrier_is_read_from_carrier_or_carrier_name(client: OgangiClient) -> None:
    # The seed's sample writes <carrier>, its field table message.carrierName: the sandbox answers the latter here.
    outcome = client.send_sms(carrier="Movistar", sender="1989", mobile=sandbox.CARRIER_NAME_NUMBER, text="hi")
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["carrier"] == "Movistar"


def test_large_negative_message_id_survives_as_text(client: OgangiClient) -> None:
    outcome = client.send_sms(carrier="Movistar", sender="1989", mobile="13056708084", text="hi")
    assert outcome.result is not None
    message_id = outcome.result["provider_message_id"]
    assert isinstance(message_id, str) and message_id.startswith("-") and len(message_id) >= 18
    assert outcome.result["provider_status"] == "SENT_TO_CARRIER"


def test_send_mt_puts_from_before_carrier_and_writes_null_for_no_carrier(
    client: OgangiClient, server: SandboxServer
) -> None:
    outcome = client.send_mt(sender="19893653744", carrier_id=None, mobile="13056708084", text="Hello")
    assert outcome.verdict is Verdict.SUCCEEDED
    parts = server.requests[0].path.split("/")
    assert parts[3] == "sendMT"
    assert parts[4:8] == ["434", "19893653744", "null", "13056708084"]
    assert base64.urlsafe_b64decode(parts[8]).decode() == "Hello"
    assert len(parts) == 11


def test_send_mt_with_flags_adds_the_flags_segment(client: OgangiClient, server: SandboxServer) -> None:
    outcome = client.send_mt(sender="1989", carrier_id="214", mobile="13056708084", text="x", flags="a b")
    assert outcome.verdict is Verdict.SUCCEEDED
    parts = server.requests[0].path.split("/")
    assert parts[6] == "214" and unquote(parts[9]) == "a b" and len(parts) == 12


def test_send_mt_with_a_carrier_id_and_no_flags_puts_the_id_in_the_carrier_place(
    client: OgangiClient, server: SandboxServer
) -> None:
    outcome = client.send_mt(sender="19893653744", carrier_id="214", mobile="13056708084", text="Hello")
    assert outcome.verdict is Verdict.SUCCEEDED
    parts = server.requests[0].path.split("/")
    assert parts[3:8] == ["sendMT", "434", "19893653744", "214", "13056708084"] and len(parts) == 11
    assert server.app.messages["13056708084"][-1]["carrier_id"] == "214"  # type: ignore[attr-defined]


def test_url_safe_alphabet_is_used(client: OgangiClient, server: SandboxServer) -> None:
    # '>>>???' encodes to '+' and '/' in the standard alphabet.
    client.send_mt(sender="1989", carrier_id=None, mobile="13056708084", text=">>>???")
    text_segment = server.requests[0].path.split("/")[8]
    assert "+" not in text_segment and "/" not in text_segment and "_" in text_segment


def test_bad_signature_is_a_final_rejection_with_providers_words(server: SandboxServer) -> None:
    wrong = OgangiClient(server.url, OgangiCredentials("434", "pub-key", "wrong"), (1.0, 1.0))
    outcome = wrong.send_sms(carrier="Movistar", sender="1989", mobile="13056708084", text="hi")
    assert outcome.verdict is Verdict.REJECTED
    assert outcome.code == "bad_signature"
    assert outcome.message == "Invalid signature, access denied"


@pytest.mark.parametrize("method", ["sendSMS", "sendMT"])
def test_error_status_is_unknown_after_one_call(client: OgangiClient, server: SandboxServer, method: str) -> None:
    # ERROR is an internal error at Ogangi: it does not show that nothing was sent (the sandbox sends first).
    if method == "sendSMS":
        outcome = client.send_sms(carrier="M", sender="1989", mobile=sandbox.ERROR_NUMBER, text="hi")
    else:
        outcome = client.send_mt(sender="1989", carrier_id=None, mobile=sandbox.ERROR_NUMBER, text="hi")
    assert (outcome.verdict, outcome.code) == (Verdict.UNKNOWN, "provider_internal_error")
    assert outcome.message == "Ogangi answered ERROR: Internal error"
    assert len(server.requests) == 1 and len(server.acted) == 1
    assert [message["text"] for message in server.app.messages[sandbox.ERROR_NUMBER]] == ["hi"]  # type: ignore[attr-defined]


def test_http_503_is_transient(client: OgangiClient) -> None:
    outcome = client.send_mt(sender="1989", carrier_id=None, mobile=sandbox.HTTP_503_NUMBER, text="hi")
    assert outcome.verdict is Verdict.TRANSIENT and outcome.http_status == 503


def test_slow_answer_is_unknown_never_retried(client: OgangiClient) -> None:
    outcome = client.send_mt(sender="1989", carrier_id=None, mobile=sandbox.SLOW_NUMBER, text="hi")
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_timeout"


def test_malformed_answer_after_sending_is_unknown(client: OgangiClient) -> None:
    outcome = client.send_mt(sender="1989", carrier_id=None, mobile=sandbox.MALFORMED_NUMBER, text="hi")
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_malformed_answer"


def test_connection_refused_is_transient() -> None:
    closed = OgangiClient("http://127.0.0.1:9", CREDENTIALS, (0.5, 0.5))
    outcome = closed.send_mt(sender="1989", carrier_id=None, mobile="13056708084", text="hi")
    assert outcome.verdict is Verdict.TRANSIENT and outcome.code == "provider_unreachable"


def test_reset_after_acting_is_unknown(client: OgangiClient, server: SandboxServer) -> None:
    server.fault_plan = lambda request: Fault.RESET_AFTER
    outcome = client.send_mt(sender="1989", carrier_id=None, mobile="13056708084", text="hi")
    assert outcome.verdict is Verdict.UNKNOWN and outcome.code == "provider_no_answer"
    assert len(server.acted) == 1


def test_get_mo_messages_survives_the_seeds_malformed_sample(client: OgangiClient) -> None:
    outcome = client.get_mo_messages(page=1, per_page=50, filter_text="malformed")
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["total"] == 17
    assert outcome.result["items"] == [
        {
            "text": "Test",
            "from": "58123456789",
            "to": "19893143924",
            "encoding": "UTF-8",
            "keyword": "^OGANGI.*",
            "carrier": "Movistar",
            "sent_at": "2014-10-13 10:30:51.922",
            "timezone": None,
            "readable": True,
        }
    ]
    assert outcome.result["unreadable"] == 0


def test_get_mo_messages_without_filter_sends_null(client: OgangiClient, server: SandboxServer) -> None:
    client.get_mo_messages(page=2, per_page=10, filter_text=None)
    parts = server.requests[0].path.split("/")
    assert parts[4:9] == ["getMOMessages", "434", "2", "10", "null"]


def test_pin_comes_back_private_never_in_result(client: OgangiClient, server: SandboxServer) -> None:
    outcome = client.send_pin(carrier="Movistar", sender="1989", mobile="13056708084", text="Your code", length=6)
    assert outcome.verdict is Verdict.SUCCEEDED
    pin = server.app.pins["13056708084"]  # type: ignore[attr-defined]
    assert outcome.private == {"pin": pin}
    assert pin not in str(outcome.result)


def test_fire_message_encodes_text_only(client: OgangiClient, server: SandboxServer) -> None:
    outcome = client.fire_message(mobile="13056708084", text="STOP ñ")
    assert outcome.verdict is Verdict.SUCCEEDED
    parts = server.requests[0].path.split("/")
    assert parts[3:6] == ["fireMessage", "434", "13056708084"]
    assert base64.urlsafe_b64decode(parts[6]).decode() == "STOP ñ"


def test_a_failure_status_of_the_sent_message_is_a_failure(client: OgangiClient) -> None:
    outcome = client.send_sms(carrier="Movistar", sender="1989", mobile=sandbox.BLACKLISTED_NUMBER, text="hi")
    assert outcome.verdict is Verdict.REJECTED and outcome.code == "recipient_blocked"
    assert outcome.message is not None and "BLACKLISTED" in outcome.message


def test_an_unrecognised_status_of_the_sent_message_is_kept(client: OgangiClient) -> None:
    outcome = client.send_sms(carrier="Movistar", sender="1989", mobile=sandbox.NEW_STATUS_NUMBER, text="hi")
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    assert outcome.result["provider_status"] == sandbox.NEW_STATUS
    assert outcome.result["provider_status_recognised"] is False


def test_one_unreadable_message_does_not_hide_the_others(client: OgangiClient) -> None:
    outcome = client.get_mo_messages(page=1, per_page=50, filter_text="unreadable")
    assert outcome.verdict is Verdict.SUCCEEDED and outcome.result is not None
    items = outcome.result["items"]
    assert [item["text"] for item in items] == ["Test", "bell \ufffd rings", None, "after"]
    assert [item["readable"] for item in items] == [True, False, False, True]
    assert items[2]["from"] == "58123456789"
    assert outcome.result["unreadable"] == 2


def test_inbound_messages_are_in_the_seeds_shape_and_read_in_the_accounts_zone(client: OgangiClient) -> None:
    client.fire_message(mobile="13056708084", text="ZONE here")
    outcome = client.get_mo_messages(page=1, per_page=50, filter_text="ZONE")
    assert outcome.result is not None
    [item] = outcome.result["items"]
    # As the seed's sample: a local sendDate with no offset, and no <timezone> beside it.
    assert item["timezone"] is None
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", item["sent_at"])
    read = sent_at(item["sent_at"], None, ZoneInfo(sandbox.MO_TIME_ZONE))
    assert read is not None
    assert abs(datetime.fromisoformat(read).timestamp() - time.time()) < 60

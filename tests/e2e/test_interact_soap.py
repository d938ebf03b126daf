"""Interact over SOAP through a local stack started with INTERACT_PROTOCOL=soap, as a deployment would run it.

The sandbox serves both protocols; what shows that SOAP was spoken is SOAP's own: its success text ("was sent
to queue", not REST's "Placed campaign"), and send_from_master_account, which only the SOAP operation carries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from e2e.conftest import Stack, start_stack, stop_stack

CALLER = "+972548120901"  # the seed's SOAP sample


@pytest.fixture(scope="module")
def soap_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, running = start_stack(
        extra_env={"INTERACT_PROTOCOL": "soap"}, log_name="soap-stack.log", tmp=tmp_path_factory.mktemp("soap")
    )
    try:
        yield running
    finally:
        stop_stack(process)


def marker() -> str:
    return uuid.uuid4().hex[:12]


def campaign_sms(stack: Stack, campaign: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = stack.call("POST", f"/v1/interact/campaigns/{quote(campaign, safe='')}/sms", json=body)
    assert answer.status_code == 202, answer.text
    return stack.wait_for(answer.json()["id"])


def requests_seen(stack: Stack) -> int:
    return int(stack.sandbox("interact")["requests"])


def test_the_seeds_sample_goes_out_over_soap_from_the_master_account(soap_stack: Stack) -> None:
    # Seed 002's SOAP sample values: campaign "camp 1", Variable1=Value1, an empty `from`, the master account.
    campaign, token = f"camp 1 {marker()}", f"Aejhib7{marker()}"
    body = {
        "caller_id": CALLER,
        "jp_token": token,
        "from": "",
        "additional_params": "Variable1=Value1",
        "send_from_master_account": True,
    }
    done = campaign_sms(soap_stack, campaign, body)
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    sid = done["result"]["message_sid"]
    assert sid.startswith("SM") and sid[2:].isalnum()
    assert done["result"]["description"] == f"message: Campaign {campaign} was sent to queue messageSid: {sid}"
    assert soap_stack.sandbox("interact")["acted"].count(f"sms:{campaign}:{CALLER}:{token}:master") == 1


def test_a_short_code_sender_over_soap(soap_stack: Stack) -> None:
    campaign, token = f"camp-{marker()}", f"tok{marker()}"
    done = campaign_sms(soap_stack, campaign, {"caller_id": "+12125551234", "jp_token": token, "from": "12345"})
    assert done["status"] == "succeeded", done
    assert soap_stack.sandbox("interact")["acted"].count(f"sms:{campaign}:+12125551234:{token}") == 1


@pytest.mark.parametrize(
    ("campaign", "token", "code", "words"),
    [
        ("missing-campaign", "tok", "campaign_not_found", "Campaign missing-campaign was not found"),
        (None, "expired", "token_expired", "Token expired"),
        ("no-telephony", "tok", "telephony_not_configured", "Telephony provider is not defined"),
    ],
)
def test_documented_errors_in_200_envelopes_fail_at_once(
    soap_stack: Stack, campaign: str | None, token: str, code: str, words: str
) -> None:
    before = requests_seen(soap_stack)
    done = campaign_sms(soap_stack, campaign or f"camp-{marker()}", {"caller_id": CALLER, "jp_token": token})
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert done["error"]["code"] == code and done["error"]["retryable"] is False
    assert words in done["error"]["message"]
    assert requests_seen(soap_stack) == before + 1, "a refusal is not retried"


def test_the_general_exception_is_unknown_after_one_call(soap_stack: Stack) -> None:
    # A Server Fault `exception` may come after the campaign was placed (the sandbox places it first).
    before = requests_seen(soap_stack)
    done = campaign_sms(soap_stack, "flaky", {"caller_id": CALLER, "jp_token": f"tok{marker()}"})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"] == {
        "code": "provider_internal_error",
        "message": "Interact answered: exception",
        "retryable": False,
    }
    assert requests_seen(soap_stack) == before + 1


def test_jp_token_may_be_left_out_over_soap(soap_stack: Stack) -> None:
    # The seed's SOAP sample marks jpToken `Optional`; REST still requires it (test_providers.py).
    campaign = f"camp-{marker()}"
    done = campaign_sms(soap_stack, campaign, {"caller_id": CALLER})
    assert done["status"] == "succeeded", done
    assert soap_stack.sandbox("interact")["acted"].count(f"sms:{campaign}:{CALLER}:") == 1


@pytest.mark.parametrize(
    ("caller", "code"), [("+15005550004", "provider_timeout"), ("+15005550005", "provider_malformed_answer")]
)
def test_an_answer_that_does_not_say_is_unknown_and_never_retried(soap_stack: Stack, caller: str, code: str) -> None:
    before = requests_seen(soap_stack)
    done = campaign_sms(soap_stack, f"camp-{marker()}", {"caller_id": caller, "jp_token": "tok"})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == code
    assert requests_seen(soap_stack) == before + 1

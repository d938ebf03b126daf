"""ContactAtOnce, Interact and ProTexting through the local stack over HTTP: every documented answer of each.

The sandboxes' reserved values give each failure; their `acted` strings say what the provider acted on, so a
marker unique to each test (uuid) counts how many times a send reached the handset side.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from e2e.conftest import Stack
from textgate_local.sandboxes import protexting as protexting_sandbox

CONVERSATIONS = "/v1/contactatonce/conversations"
OPT_INS = "/v1/protexting/opt-ins"
CALLER = "+972544696388"


def marker() -> str:
    return uuid.uuid4().hex[:12]


def fresh_phone() -> str:
    """A New York number no other test uses (exchange 5xx, valid for libphonenumber)."""
    return f"+19175{uuid.uuid4().int % 1_000_000:06d}"


def campaign_path(campaign_id: str) -> str:
    return f"/v1/interact/campaigns/{quote(campaign_id, safe='')}/sms"


def post(stack: Stack, path: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    return stack.call("POST", path, json=body, **kwargs)


def accepted(stack: Stack, path: str, body: dict[str, Any], operation: str, provider: str) -> dict[str, Any]:
    """POST, and check the 202 as API.md promises it: Location, and the operation queued with nothing yet done."""
    answer = post(stack, path, body)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    view = answer.json()
    assert view["id"].startswith("op_")
    assert answer.headers["Location"] == f"/v1/operations/{view['id']}"
    assert view["operation"] == operation and view["provider"] == provider
    assert view["status"] == "queued" and view["attempts"] == 0
    assert view["result"] is None and view["error"] is None
    assert view["created_at"].endswith("Z") and view["updated_at"].endswith("Z")
    return view


def delivered(stack: Stack, path: str, body: dict[str, Any], operation: str, provider: str) -> dict[str, Any]:
    done = stack.wait_for(accepted(stack, path, body, operation, provider)["id"])
    assert done["status"] in ("succeeded", "failed", "unknown"), done
    return done


def conversation(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    return delivered(stack, CONVERSATIONS, body, "contactatonce.initiate_conversation", "contactatonce")


def campaign_sms(stack: Stack, campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return delivered(stack, campaign_path(campaign_id), body, "interact.send_campaign_sms", "interact")


def opt_in(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    return delivered(stack, OPT_INS, body, "protexting.opt_in", "protexting")


def acted(stack: Stack, provider: str, entry: str) -> int:
    return int(stack.sandbox(provider)["acted"].count(entry))


def acted_with(stack: Stack, provider: str, needle: str) -> list[str]:
    return [entry for entry in stack.sandbox(provider)["acted"] if needle in entry]


def requests_seen(stack: Stack, provider: str) -> int:
    return int(stack.sandbox(provider)["requests"])


def assert_refused(answer: requests.Response, fields: set[str], code: str = "validation_error") -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["code"] == code and problem["status"] == 422
    assert {error["field"] for error in problem["errors"]} == fields, problem
    return problem


def assert_nothing_reached(stack: Stack, provider: str, before: int, then_send: Any) -> None:
    """A refused request queues nothing: after a valid send has gone all the way through, the sandbox has seen
    that one call and no other (a queued refusal would have been delivered by then as well)."""
    done = then_send()
    assert done["status"] == "succeeded", done
    assert requests_seen(stack, provider) == before + 1


# -- ContactAtOnce --------------------------------------------------------------------------------------------


def test_conversation_with_merchant_id_succeeds_and_acts_once_byte_exact(stack: Stack) -> None:
    phone = fresh_phone()
    question = f"Still for sale? {marker()} — café ñ 👋 日本 &amp; <b> ]]>\r\nsecond line\tend"
    body = {
        "merchant_id": 123,
        "consumer_phone": phone,
        "placement_id": 7,
        "listing_details": "2019 Volvo XC60 <AWD> & more",
        "consumer_first_name": "José",
        "consumer_last_name": "Núñez",
        "consumer_question": question,
    }
    done = conversation(stack, body)
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    assert done["result"]["provider_status"] == "Success"
    assert done["result"].get("description") is None
    assert done["error"] is None
    # CR LF, the tab and XML's own characters survive the XML body; accents, emoji and CJK arrive as sent.
    assert acted(stack, "contactatonce", f"initiate:{phone}:{question}") == 1
    assert stack.call("GET", f"/v1/operations/{done['id']}").json() == done


@pytest.mark.parametrize(
    ("region", "consumer_phone", "country", "e164"),
    [
        ("na", "(917) 555-0142", "US", "+19175550142"),
        ("au", "0412 345 678", "AU", "+61412345678"),
        ("eu", "+33612345678", None, "+33612345678"),
    ],
)
def test_conversation_with_advertiser_id_in_each_region(
    stack: Stack, region: str, consumer_phone: str, country: str | None, e164: str
) -> None:
    question = f"region {region} {marker()}"
    body: dict[str, Any] = {
        "advertiser_id": f"A-{marker()}",
        "consumer_phone": consumer_phone,
        "consumer_question": question,
        "region": region,
    }
    if country is not None:
        body["country"] = country
    done = conversation(stack, body)
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    assert done["result"]["provider_status"] == "Success"
    # The calling code and the national digits go out apart; the sandbox joins them back.
    assert acted(stack, "contactatonce", f"initiate:{e164}:{question}") == 1


def test_failure_answer_ends_failed_with_the_providers_words(stack: Stack) -> None:
    before = requests_seen(stack, "contactatonce")
    done = conversation(stack, {"merchant_id": 123, "consumer_phone": "+15005550001", "consumer_question": marker()})
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert done["error"] == {"code": "provider_rejected", "message": "Merchant not found", "retryable": False}
    assert done["result"] is None
    assert requests_seen(stack, "contactatonce") == before + 1


def test_failure_with_nil_or_empty_description_still_says_why(stack: Stack) -> None:
    messages = []
    for number in ("+15005550002", "+15005550006"):  # Description i:nil="true", then <Description></Description>
        done = conversation(stack, {"advertiser_id": "A-9", "consumer_phone": number})
        assert done["status"] == "failed" and done["attempts"] == 1, done
        assert done["error"]["code"] == "provider_rejected" and done["error"]["retryable"] is False
        messages.append(done["error"]["message"])
    for message in messages:
        assert isinstance(message, str) and message.strip(), messages
        assert message.strip().lower() not in ("none", "null", "nil", "true") and "nil" not in message, messages
    assert messages[0] == messages[1], "nil and empty are the same: no description given"


def test_http_503_is_retried_then_fails_retries_exhausted(stack: Stack) -> None:
    before = requests_seen(stack, "contactatonce")
    done = conversation(stack, {"merchant_id": 123, "consumer_phone": "+15005550003"})
    assert done["status"] == "failed" and done["attempts"] == 3, done
    assert done["error"]["code"] == "retries_exhausted" and done["error"]["retryable"] is False
    assert "503" in done["error"]["message"]
    assert requests_seen(stack, "contactatonce") == before + 3


def test_slow_answer_is_unknown_after_one_attempt(stack: Stack) -> None:
    before = requests_seen(stack, "contactatonce")
    done = conversation(stack, {"merchant_id": 123, "consumer_phone": "+15005550004", "consumer_question": marker()})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_timeout" and done["error"]["retryable"] is False
    assert requests_seen(stack, "contactatonce") == before + 1, "an unknown operation is never tried again"


def test_malformed_answer_after_acting_is_unknown(stack: Stack) -> None:
    question = f"malformed {marker()}"
    done = conversation(stack, {"merchant_id": 123, "consumer_phone": "+15005550005", "consumer_question": question})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_malformed_answer" and done["error"]["retryable"] is False
    assert acted(stack, "contactatonce", f"initiate:+15005550005:{question}") == 1


@pytest.mark.parametrize(
    "ids", [{"merchant_id": 123, "advertiser_id": "A-9"}, {}], ids=["both merchant and advertiser", "neither"]
)
def test_both_or_neither_ids_are_refused_naming_them(stack: Stack, ids: dict[str, Any]) -> None:
    question = f"refused {marker()}"
    before = requests_seen(stack, "contactatonce")
    answer = post(stack, CONVERSATIONS, {**ids, "consumer_phone": fresh_phone(), "consumer_question": question})
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "validation_error"
    named = " ".join(f"{error['field']} {error['message']}" for error in problem["errors"])
    assert {error["field"] for error in problem["errors"]} <= {"merchant_id", "advertiser_id"}, problem
    assert "merchant_id" in named and "advertiser_id" in named, problem
    assert_nothing_reached(
        stack,
        "contactatonce",
        before,
        lambda: conversation(stack, {"merchant_id": 5, "consumer_phone": fresh_phone(), "consumer_question": "ok"}),
    )
    assert acted_with(stack, "contactatonce", question) == []


def test_conversation_body_is_validated(stack: Stack) -> None:
    answer = post(
        stack,
        CONVERSATIONS,
        {
            "merchant_id": "12",
            "consumer_phone": "555",
            "region": "us",
            "consumer_question": "bell \x07",
            "extra": True,
        },
    )
    problem = assert_refused(answer, {"merchant_id", "consumer_phone", "region", "consumer_question", "extra"})
    assert problem["type"] and problem["title"] and problem["detail"]


# -- Interact -------------------------------------------------------------------------------------------------


def test_campaign_sms_succeeds_with_a_message_sid_and_acts_once(stack: Stack) -> None:
    campaign, token = f"camp-{marker()}", f"tok{marker()}"
    answer_view = accepted(
        stack,
        campaign_path(campaign),
        {"caller_id": CALLER, "jp_token": token, "from": "+12125551234"},
        "interact.send_campaign_sms",
        "interact",
    )
    done = stack.wait_for(answer_view["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    sid = done["result"]["message_sid"]
    assert sid.startswith("SM") and len(sid) > 2 and sid[2:].isalnum()
    assert done["result"]["provider_status"] == "placed"
    assert sid in done["result"]["description"] and campaign in done["result"]["description"]
    assert acted(stack, "interact", f"sms:{campaign}:{CALLER}:{token}") == 1


@pytest.mark.parametrize(
    "params",
    [{"var1": "value 1", "name": "José & Ana", "emoji": "👋"}, "var1=value1&var2=two%20words&empty="],
    ids=["object", "query string"],
)
def test_additional_params_as_object_or_query_string(stack: Stack, params: dict[str, str] | str) -> None:
    # The sandbox refuses (400, invalid_parameter) an additionalParams that is not a strict query string.
    campaign, token = f"params-{marker()}", f"tok{marker()}"
    done = campaign_sms(stack, campaign, {"caller_id": CALLER, "jp_token": token, "additional_params": params})
    assert done["status"] == "succeeded", done
    assert done["result"]["message_sid"].startswith("SM")
    assert acted(stack, "interact", f"sms:{campaign}:{CALLER}:{token}") == 1


def test_campaign_id_and_token_arrive_byte_exact(stack: Stack) -> None:
    # One path segment each way, though the id holds a slash, a space, accents and an emoji.
    campaign, token = f"Café {marker()}/promo 🎉", f"jp-ñ-👋-{marker()}"
    done = campaign_sms(stack, campaign, {"caller_id": "054-469-6388", "country": "IL", "jp_token": token})
    assert done["status"] == "succeeded", done
    assert acted(stack, "interact", f"sms:{campaign}:{CALLER}:{token}") == 1


@pytest.mark.parametrize(
    ("campaign", "token", "code", "words"),
    [
        ("missing-campaign", "tok", "campaign_not_found", "Campaign missing-campaign was not found"),
        (None, "expired", "token_expired", "Token expired"),
        ("no-telephony", "tok", "telephony_not_configured", "Telephony provider is not defined"),
    ],
    ids=["404 campaign", "403 token", "500 telephony"],
)
def test_reserved_refusals_fail_at_once_with_the_providers_words(
    stack: Stack, campaign: str | None, token: str, code: str, words: str
) -> None:
    before = requests_seen(stack, "interact")
    done = campaign_sms(stack, campaign or f"camp-{marker()}", {"caller_id": CALLER, "jp_token": token})
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert done["error"]["code"] == code and done["error"]["retryable"] is False
    assert words in done["error"]["message"]
    assert requests_seen(stack, "interact") == before + 1, "a refusal is not retried"


def test_the_internal_error_exception_is_unknown_after_one_call(stack: Stack) -> None:
    # The seed's 500 `exception` may come after the campaign was placed (the sandbox places it first).
    before = requests_seen(stack, "interact")
    token = f"tok{marker()}"
    done = campaign_sms(stack, "flaky", {"caller_id": CALLER, "jp_token": token})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"] == {
        "code": "provider_internal_error",
        "message": "Interact answered HTTP 500: exception",
        "retryable": False,
    }
    assert requests_seen(stack, "interact") == before + 1
    assert acted(stack, "interact", f"sms:flaky:{CALLER}:{token}") == 1


def test_slow_campaign_sms_is_unknown_after_one_attempt(stack: Stack) -> None:
    before = requests_seen(stack, "interact")
    done = campaign_sms(stack, f"camp-{marker()}", {"caller_id": "+15005550004", "jp_token": "tok"})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_timeout" and done["error"]["retryable"] is False
    assert requests_seen(stack, "interact") == before + 1


def test_answer_without_message_sid_is_unknown(stack: Stack) -> None:
    campaign = f"camp-{marker()}"
    done = campaign_sms(stack, campaign, {"caller_id": "+15005550005", "jp_token": "tok"})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_malformed_answer" and done["error"]["retryable"] is False
    assert acted(stack, "interact", f"sms:{campaign}:+15005550005:tok") == 1


def test_campaign_sms_path_and_body_are_validated_together(stack: Stack) -> None:
    before = requests_seen(stack, "interact")
    missing = post(stack, "/v1/interact/campaigns/%01bad/sms", {})
    assert_refused(missing, {"campaign_id", "caller_id", "jp_token"})
    wrong = post(
        stack,
        campaign_path("camp"),
        {"caller_id": "12", "jp_token": "  ", "from": "nope", "additional_params": "?a=b", "extra": 1},
    )
    assert_refused(wrong, {"caller_id", "jp_token", "from", "additional_params", "extra"})
    dots = post(stack, "/v1/interact/campaigns/%2E%2E/sms", {"caller_id": CALLER, "jp_token": "t"})
    assert_refused(dots, {"campaign_id"})
    not_strings = post(
        stack, campaign_path("camp"), {"caller_id": CALLER, "jp_token": "t", "additional_params": {"a": 1}}
    )
    assert_refused(not_strings, {"additional_params"})
    assert_nothing_reached(
        stack,
        "interact",
        before,
        lambda: campaign_sms(stack, f"camp-{marker()}", {"caller_id": CALLER, "jp_token": "t"}),
    )


def test_the_seeds_own_rest_body_is_delivered(stack: Stack) -> None:
    # Seed 002's REST body: `from` +12121234567 (outside libphonenumber's allocated ranges, yet Interact's own
    # example), callerId written with spaces, additionalParams as a query string.
    campaign, token = f"campaign1-{marker()}", f"Aejhib7{marker()}"
    body = {
        "caller_id": "+972 54 4696388",
        "jp_token": token,
        "from": "+12121234567",
        "additional_params": "var1=value1&var2=value",
    }
    done = campaign_sms(stack, campaign, body)
    assert done["status"] == "succeeded", done
    assert acted(stack, "interact", f"sms:{campaign}:{CALLER}:{token}") == 1


def test_send_from_master_account_over_rest_is_refused_and_nothing_queued(stack: Stack) -> None:
    before = requests_seen(stack, "interact")
    token = f"tok{marker()}"
    body = {"caller_id": CALLER, "jp_token": token, "send_from_master_account": True}
    problem = assert_refused(post(stack, campaign_path(f"camp-{marker()}"), body), {"send_from_master_account"})
    assert "INTERACT_PROTOCOL=soap" in problem["errors"][0]["message"]
    assert_nothing_reached(
        stack,
        "interact",
        before,
        lambda: campaign_sms(stack, f"camp-{marker()}", {"caller_id": CALLER, "jp_token": "t"}),
    )
    assert acted_with(stack, "interact", token) == []


@pytest.fixture
def opted_out_phone(stack: Stack) -> Iterator[str]:
    phone = fresh_phone()
    put = stack.call("PUT", f"/v1/opt-outs/{quote(phone, safe='')}")
    assert put.status_code == 200, put.text
    assert put.json()["phone"] == phone and put.json()["opted_out"] is True and put.json()["source"] == "api"
    yield phone
    stack.call("DELETE", f"/v1/opt-outs/{quote(phone, safe='')}")


def test_caller_on_the_suppression_list_is_refused(stack: Stack, opted_out_phone: str) -> None:
    before = requests_seen(stack, "interact")
    token = f"tok{marker()}"
    answer = post(stack, campaign_path(f"camp-{marker()}"), {"caller_id": opted_out_phone, "jp_token": token})
    assert_refused(answer, {"caller_id"}, code="recipient_opted_out")
    assert_nothing_reached(
        stack,
        "interact",
        before,
        lambda: campaign_sms(stack, f"camp-{marker()}", {"caller_id": CALLER, "jp_token": "t"}),
    )
    assert acted_with(stack, "interact", token) == []


def test_a_repeated_idempotency_key_sends_the_campaign_sms_once(stack: Stack) -> None:
    campaign, token, key = f"camp-{marker()}", f"tok{marker()}", uuid.uuid4().hex
    body = {"caller_id": CALLER, "jp_token": token}
    first = post(stack, campaign_path(campaign), body, headers={"Idempotency-Key": key})
    second = post(stack, campaign_path(campaign), body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    # The campaign is in the path: the same key and body for another campaign is another request.
    other = post(stack, campaign_path(f"{campaign}-b"), body, headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert stack.wait_for(first.json()["id"])["status"] == "succeeded"
    assert acted(stack, "interact", f"sms:{campaign}:{CALLER}:{token}") == 1


# -- ProTexting (its sandbox allows 60 calls a minute: this section makes about 20) ------------------------------


def test_opt_in_succeeds_with_the_contact_and_acts_once_byte_exact(stack: Stack) -> None:
    phone = fresh_phone()
    cta = f"Reply YES {marker()} — café ñ 👋"
    body = {
        "phone_number": phone,
        "group_ids": [3, 1],
        "cta_message": cta,
        "confirm_message": "Bienvenue ✅",
        "send_cta_message": True,
    }
    done = opt_in(stack, body)
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    result = done["result"]
    assert result["provider_status"] == "created"
    assert result["contact"]["Number"] == phone.lstrip("+")
    assert set(result["contact"]["GroupIds"]) >= {1, 3}
    assert result["rate_limit"]["limit"] == 60 and 0 <= result["rate_limit"]["remaining"] < 60
    assert acted(stack, "protexting", f"optin:{phone.lstrip('+')}:3,1:{cta}") == 1


def test_opt_in_answered_with_a_message_succeeds_with_its_words(stack: Stack) -> None:
    cta = f"cta {marker()}"
    done = opt_in(stack, {"phone_number": "+15005550009", "group_ids": [1], "cta_message": cta})
    assert done["status"] == "succeeded" and done["attempts"] == 1, done
    assert done["result"]["provider_status"] == "created"
    assert done["result"]["description"] == protexting_sandbox.CREATED_MESSAGE
    assert "contact" not in done["result"]
    assert acted(stack, "protexting", f"optin:15005550009:1:{cta}") == 1


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (protexting_sandbox.FORBIDDEN_WORDS_NUMBER, "forbidden_words"),
        (protexting_sandbox.NO_CREDIT_NUMBER, "insufficient_credit"),
        (protexting_sandbox.APP_NOT_ACTIVATED_NUMBER, "app_not_activated"),
        (protexting_sandbox.INVALID_IP_NUMBER, "ip_not_allowed"),
        (protexting_sandbox.SAME_CONTENT_NUMBER, "duplicate_content"),
        (protexting_sandbox.SENDER_BLOCKED_NUMBER, "sender_blocked"),
        (protexting_sandbox.SENDER_BLOCKED_CARRIER_NUMBER, "sender_blocked"),
        (protexting_sandbox.GLOBALLY_OPTED_OUT_NUMBER, "recipient_opted_out"),
        (protexting_sandbox.GLOBALLY_BLOCKED_NUMBER, "globally_blocked"),
    ],
    ids=["2", "5", "6", "7", "8", "301", "302", "1000", "1001"],
)
def test_each_business_refusal_maps_to_its_code(stack: Stack, number: str, code: str) -> None:
    done = opt_in(stack, {"phone_number": f"+{number}", "group_ids": [1], "cta_message": marker()})
    assert done["status"] == "failed" and done["attempts"] == 1, done
    words = protexting_sandbox.BUSINESS_ERRORS[number][1]
    assert done["error"] == {"code": code, "message": words, "retryable": False}


def test_validation_list_answer_names_the_field(stack: Stack) -> None:
    done = opt_in(stack, {"phone_number": "+15005550008", "group_ids": [1]})
    assert done["status"] == "failed" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_validation_error" and done["error"]["retryable"] is False
    assert "PhoneNumber" in done["error"]["message"]
    assert protexting_sandbox.VALIDATION_MESSAGE in done["error"]["message"]


def test_opt_in_http_503_is_retried_then_fails_retries_exhausted(stack: Stack) -> None:
    before = requests_seen(stack, "protexting")
    done = opt_in(stack, {"phone_number": "+15005550003", "group_ids": [1]})
    assert done["status"] == "failed" and done["attempts"] == 3, done
    assert done["error"]["code"] == "retries_exhausted" and "503" in done["error"]["message"]
    assert requests_seen(stack, "protexting") == before + 3


def test_slow_opt_in_is_unknown_after_one_attempt(stack: Stack) -> None:
    before = requests_seen(stack, "protexting")
    done = opt_in(stack, {"phone_number": "+15005550004", "group_ids": [1], "cta_message": marker()})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_timeout" and done["error"]["retryable"] is False
    assert requests_seen(stack, "protexting") == before + 1


def test_unreadable_opt_in_answer_is_unknown(stack: Stack) -> None:
    cta = f"cta {marker()}"
    done = opt_in(stack, {"phone_number": "+15005550005", "group_ids": [2], "cta_message": cta})
    assert done["status"] == "unknown" and done["attempts"] == 1, done
    assert done["error"]["code"] == "provider_malformed_answer" and done["error"]["retryable"] is False
    assert acted(stack, "protexting", f"optin:15005550005:2:{cta}") == 1


def test_opted_out_answer_fails_and_puts_the_number_on_the_suppression_list(stack: Stack) -> None:
    phone = f"+{protexting_sandbox.GLOBALLY_OPTED_OUT_NUMBER}"
    path = f"/v1/opt-outs/{quote(phone, safe='')}"
    stack.call("DELETE", path)  # start from "not listed", whatever ran before
    try:
        assert stack.call("GET", path).json()["opted_out"] is False
        done = opt_in(stack, {"phone_number": phone, "group_ids": [1], "cta_message": marker()})
        assert done["status"] == "failed" and done["attempts"] == 1, done
        words = protexting_sandbox.BUSINESS_ERRORS[protexting_sandbox.GLOBALLY_OPTED_OUT_NUMBER][1]
        assert done["error"] == {"code": "recipient_opted_out", "message": words, "retryable": False}
        listed = stack.call("GET", path)
        assert listed.status_code == 200
        view = listed.json()
        assert view["phone"] == phone and view["opted_out"] is True and view["source"] == "protexting", view
        assert view["updated_at"].endswith("Z")
    finally:
        # Other tiers' tests use this reserved number with other providers: leave it off the list.
        stack.call("DELETE", path)


def texts_to(stack: Stack, digits: str) -> list[dict[str, Any]]:
    answer = stack.session.get(f"{stack.url}/_sandbox/protexting/messages/{digits}", timeout=5)
    assert answer.status_code == 200, answer.text
    texts: list[dict[str, Any]] = answer.json()["messages"]
    return texts


@pytest.mark.parametrize("body", [{}, {"send_cta_message": False}], ids=["bare", "cta-off"])
def test_an_opt_in_to_a_suppressed_number_is_refused_even_without_a_cta(
    stack: Stack, opted_out_phone: str, body: dict[str, Any]
) -> None:
    # Seed 003: with SendCTAMessage 0 or absent, ProTexting still texts its CTA to a contact not yet opted in.
    before = requests_seen(stack, "protexting")
    answer = post(stack, OPT_INS, {"phone_number": opted_out_phone, "group_ids": [1], **body})
    assert_refused(answer, {"phone_number"}, code="recipient_opted_out")
    assert_nothing_reached(
        stack, "protexting", before, lambda: opt_in(stack, {"phone_number": fresh_phone(), "group_ids": [1]})
    )
    assert texts_to(stack, opted_out_phone.lstrip("+")) == []


def test_a_bare_opt_in_texts_the_cta_to_a_new_contact_and_to_one_with_opt_out_status(stack: Stack) -> None:
    phone = fresh_phone()
    done = opt_in(stack, {"phone_number": phone, "group_ids": [1]})
    assert done["status"] == "succeeded", done
    assert texts_to(stack, phone.lstrip("+")) == [{"kind": "cta", "text": protexting_sandbox.DEFAULT_CTA}]
    number = protexting_sandbox.OPTED_OUT_CONTACT_NUMBER
    before = len(texts_to(stack, number))
    cta = f"Join {marker()}"
    done = opt_in(stack, {"phone_number": f"+{number}", "group_ids": [1], "cta_message": cta, "send_cta_message": 0})
    assert done["status"] == "succeeded" and done["result"]["contact"]["OptedOut"] == 1, done
    assert texts_to(stack, number)[before:] == [{"kind": "cta", "text": cta}]


@pytest.mark.parametrize(
    ("phone_number", "send_cta_message"), [("16461234567", 1), ("+16461234567", 0)], ids=["digits", "e164"]
)
def test_the_seeds_own_opt_in_is_delivered(stack: Stack, phone_number: str, send_cta_message: int) -> None:
    # Seed 003's example {"PhoneNumber":"16461234567","GroupIds":[1]}, and its own 0/1 for SendCTAMessage.
    done = opt_in(stack, {"phone_number": phone_number, "group_ids": [1], "send_cta_message": send_cta_message})
    assert done["status"] == "succeeded", done
    assert done["result"]["contact"]["Number"] == "16461234567"


def test_opt_in_body_is_validated_and_nothing_is_sent(stack: Stack) -> None:
    before = requests_seen(stack, "protexting")
    wrong = post(
        stack,
        OPT_INS,
        {"phone_number": "123", "group_ids": [], "cta_message": "", "send_cta_message": "yes", "extra": 1},
    )
    assert_refused(wrong, {"phone_number", "group_ids", "cta_message", "send_cta_message", "extra"})
    missing = post(stack, OPT_INS, {})
    assert_refused(missing, {"phone_number", "group_ids"})
    not_json = stack.call("POST", OPT_INS, data="{", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and not_json.json()["code"] == "invalid_json"
    assert_nothing_reached(
        stack, "protexting", before, lambda: opt_in(stack, {"phone_number": fresh_phone(), "group_ids": [1]})
    )

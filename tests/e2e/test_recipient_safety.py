"""Through the local stack over HTTP: a STOP that holds on every path, a daily limit that holds under a burst,
and a local stack that only answers requests addressed to it."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from e2e.conftest import API_KEY, CALLBACK_TOKEN, OTHER_KEY, Stack, assert_never_reached_ogangi, start_stack, stop_stack


def fresh_mobile() -> str:
    return f"786555{random.randrange(10_000):04d}"


def texts_to(stack: Stack, phone: str, marker: str) -> dict[str, requests.Response]:
    """One request on every path that texts `phone`, and one that does not (a ContactAtOnce conversation)."""
    return {
        "sms": stack.call("POST", "/v1/ogangi/sms", json={"to": phone, "text": marker, "carrier": "Movistar"}),
        "pin": stack.call("POST", "/v1/ogangi/pins", json={"to": phone, "text": "Code", "carrier": "Movistar"}),
        "fire_message": stack.call("POST", "/v1/ogangi/mo", json={"mobile": phone, "text": marker}),
        "interact": stack.call(
            "POST", "/v1/interact/campaigns/camp-safety/sms", json={"caller_id": phone, "jp_token": "tok"}
        ),
        "protexting": stack.call(
            "POST", "/v1/protexting/opt-ins", json={"phone_number": phone, "group_ids": [1], "cta_message": "Reply Y"}
        ),
        "conversation": stack.call(
            "POST", "/v1/contactatonce/conversations", json={"merchant_id": 1, "consumer_phone": phone}
        ),
    }


FIELDS = {"sms": "to", "pin": "to", "fire_message": "mobile", "interact": "caller_id", "protexting": "phone_number"}


def test_a_disguised_stop_from_the_handset_holds_on_every_path_until_the_handset_says_start(stack: Stack) -> None:
    mobile = fresh_mobile()
    phone = f"+1{mobile}"
    # As a careless sender delivers it: parameters appended after the token with a second '?', the '+' of the
    # number unencoded (it arrives as a space), and a zero-width space inside the fullwidth word.
    disguised = "%EF%BC%B3%E2%80%8B%EF%BC%B4%EF%BC%AF%EF%BC%B0"
    url = f"{stack.url}/v1/sumotext/callbacks/mo?token={CALLBACK_TOKEN}?mobile=+{1}{mobile}&smsid={uuid.uuid4().hex}"
    answer = stack.session.get(f"{url}&msg={disguised}&country=GBR", timeout=10)
    assert answer.status_code == 200 and answer.text == "OK"
    listing = stack.call("GET", f"/v1/opt-outs/%2B1{mobile}").json()
    assert listing["opted_out"] is True and listing["source"] == "sumotext" and listing["changed_by"] == "sumotext"

    marker = f"after-stop-{uuid.uuid4().hex[:8]}"
    answers = texts_to(stack, phone, marker)
    for path, field in FIELDS.items():
        refused = answers[path]
        assert refused.status_code == 422, (path, refused.text)
        assert refused.json()["code"] == "recipient_opted_out"
        assert refused.json()["errors"] == [{"field": field, "message": "is on the suppression list"}]
    assert answers["conversation"].status_code == 202  # started by the consumer; no SMS
    assert_never_reached_ogangi(stack, marker)

    # No client can undo the recipient's STOP.
    for key in (API_KEY, OTHER_KEY):
        undo = stack.call("DELETE", f"/v1/opt-outs/%2B1{mobile}", key=key)
        assert undo.status_code == 409 and undo.json()["code"] == "opted_out_by_recipient"
    assert stack.call("GET", f"/v1/opt-outs/%2B1{mobile}").json()["opted_out"] is True

    # The recipient can: a START posted as JSON is still read (its number in the query string, more in the body).
    start = stack.session.post(
        f"{stack.url}/v1/sumotext/callbacks/text4info",
        params={"token": CALLBACK_TOKEN, "mobile": mobile, "msg": "START"},
        json={"note": "a body that is not a form"},
        timeout=10,
    )
    assert start.status_code == 200 and start.text == "OK"
    assert stack.call("GET", f"/v1/opt-outs/%2B1{mobile}").json()["opted_out"] is False
    accepted = stack.call("POST", "/v1/ogangi/sms", json={"to": phone, "text": marker, "carrier": "Movistar"})
    assert accepted.status_code == 202
    stored = stack.call("GET", "/v1/sumotext/events", params={"mobile": phone, "kind": "text4info"}).json()
    assert stored["items"][0]["fields"]["note"] == "a body that is not a form"
    assert stored["items"][0]["raw_body"] is None


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    process, running = start_stack({"RECIPIENT_DAILY_LIMIT": "10"}, tmp=Path(tmp_path_factory.mktemp("limited")))
    try:
        yield running
    finally:
        stop_stack(process)


def test_a_burst_of_100_sends_to_one_recipient_accepts_exactly_the_daily_limit(limited_stack: Stack) -> None:
    stack = limited_stack
    phone = f"+1{fresh_mobile()}"
    first = {"to": phone, "text": "first", "carrier": "Movistar"}
    once = stack.call("POST", "/v1/ogangi/sms", json=first, headers={"Idempotency-Key": "burst-first"})
    assert once.status_code == 202
    for _ in range(3):  # replays of an accepted request are not new texts
        replay = stack.call("POST", "/v1/ogangi/sms", json=first, headers={"Idempotency-Key": "burst-first"})
        assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"

    def send(n: int) -> requests.Response:
        body = {"to": phone, "text": f"loop {n}", "carrier": "Movistar"}
        return stack.call("POST", "/v1/ogangi/sms", json=body, key=API_KEY if n % 2 else OTHER_KEY)

    with ThreadPoolExecutor(25) as pool:
        answers = list(pool.map(send, range(100)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(202) == 9 and statuses.count(429) == 91, statuses
    for refused in (answer for answer in answers if answer.status_code == 429):
        assert refused.json()["code"] == "recipient_limit_reached"
        assert 86_000 < int(refused.headers["Retry-After"]) <= 86_400
    # Another recipient is not held back by this one's limit.
    other = stack.call("POST", "/v1/ogangi/sms", json={"to": f"+1{fresh_mobile()}", "text": "hi", "carrier": "x"})
    assert other.status_code == 202


@pytest.mark.parametrize("path", ["/v1/health", "/_sandbox/ogangi", "/docs", "/v1/openapi.json"])
def test_a_request_for_another_host_name_is_refused(stack: Stack, path: str) -> None:
    # A web page whose name was rebound to 127.0.0.1 sends its own name as Host.
    port = stack.url.rsplit(":", 1)[1]
    rebound = requests.get(
        stack.url + path, headers={"Host": f"attacker.example:{port}", "x-api-key": API_KEY}, timeout=10
    )
    assert rebound.status_code == 403
    wrong_port = requests.get(stack.url + path, headers={"Host": "127.0.0.1:1", "x-api-key": API_KEY}, timeout=10)
    assert wrong_port.status_code == 403
    assert requests.get(stack.url + path, headers={"x-api-key": API_KEY}, timeout=10).status_code == 200


def test_the_local_aws_endpoint_refuses_other_host_names(stack: Stack) -> None:
    port = stack.aws_url.rsplit(":", 1)[1]
    rebound = requests.get(stack.aws_url + "/moto-api/", headers={"Host": f"attacker.example:{port}"}, timeout=10)
    assert rebound.status_code == 403
    assert requests.get(stack.aws_url + "/moto-api/", timeout=10).status_code == 200


def test_no_server_header_names_the_python_version(stack: Stack) -> None:
    for url in (stack.url + "/v1/health", stack.aws_url + "/moto-api/"):
        server = requests.get(url, timeout=10).headers.get("Server", "")
        assert "Python" not in server and "Werkzeug" not in server, server

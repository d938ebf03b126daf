"""Sumotext through the local stack over HTTP: callbacks of every kind, a burst, STOP meaning stop, opt-outs."""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import requests

from e2e.conftest import CALLBACK_TOKEN, OTHER_KEY, Stack
from textgate.logic.sumotext import hit_id

BURST = 1000
BURST_WORKERS = 16


def fresh_mobile(area: str = "646") -> str:
    """National digits of a valid US number no other test uses."""
    return f"{area}555{random.randrange(10_000):04d}"


def callback(
    stack: Stack, kind: str, params: list[tuple[str, str]], *, form: bool = False, token: str | None = CALLBACK_TOKEN
) -> requests.Response:
    query = [("token", token)] if token is not None else []
    path = f"/v1/sumotext/callbacks/{kind}"
    if form:
        return stack.call("POST", path, key=None, params=query, data=params)
    return stack.call("GET", path, key=None, params=query + params)


def listed(stack: Stack, **query: str) -> list[dict[str, Any]]:
    """Every page of GET /v1/sumotext/events, in order."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = stack.call("GET", "/v1/sumotext/events", params={**query, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_every_kind_is_stored_over_get_and_a_post_form(stack: Stack) -> None:
    mobile = fresh_mobile("212")
    seed = {
        "crm": f"country=USA&shortcode=84700&key=SOMEKEY&mobile={mobile}&carrierId=VERIZONUS&Name=Bill&DOB=1/1/2000",
        "poll": f"mobile={mobile}&carrier=VERIZONUS&shortcode=84700&key=FB1&reply=A&label=Tampa",
        "text4info": f"lead=keyword&&mobile={mobile}&msg=ServerMsg",
        "mo": f"mobile={mobile}&carrierId=VERIZONUS&smsid={uuid.uuid4().hex}&shortcode=84700&key=K&msg=hi",
    }
    for form in (False, True):
        for kind, query in seed.items():
            answer = callback(stack, kind, parse_qsl(query, keep_blank_values=True), form=form)
            assert answer.status_code == 200 and answer.text == "OK", (kind, answer.text)
            assert answer.headers["Content-Type"].startswith("text/plain")
    items = listed(stack, mobile=f"+1{mobile}")
    assert sorted(item["kind"] for item in items) == sorted([*seed, "crm", "poll", "text4info"])  # mo once
    assert all(item["mobile"] == f"+1{mobile}" and "token" not in item["fields"] for item in items)
    poll = next(item for item in items if item["kind"] == "poll")
    assert poll["fields"] == dict(parse_qsl(seed["poll"]))
    sumoid = uuid.uuid4().hex
    assert callback(stack, "dlr", [("sumoid", sumoid), ("mtcode", "4"), ("mtdescription", "Delivered")]).text == "OK"
    dlr = [item for item in listed(stack, kind="dlr", limit="100") if item["fields"].get("sumoid") == sumoid]
    assert [item["id"] for item in dlr] == [hit_id("dlr", {"sumoid": sumoid, "mtcode": "4"}, None)]


def test_the_callback_needs_its_token_not_an_api_key(stack: Stack) -> None:
    mobile = fresh_mobile("212")
    for token in (None, "", "wrong"):
        answer = callback(stack, "crm", [("mobile", mobile)], token=token)
        assert answer.status_code == 403 and answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["code"] == "forbidden"
    with_key = stack.call("GET", "/v1/sumotext/callbacks/crm", params={"mobile": mobile})
    assert with_key.status_code == 403
    assert callback(stack, "vote", [("mobile", mobile)]).status_code == 404
    # With the right token nothing is refused for what it lacks: kept, flagged, with no number to act on.
    assert callback(stack, "crm", [("Name", "no mobile")]).text == "OK"
    assert listed(stack, mobile=f"+1{mobile}") == []
    for path in ("/v1/sumotext/events?kind=mo", f"/v1/opt-outs/%2B1{mobile}"):
        refused = stack.call("GET", path, key=None)
        assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}


def test_a_burst_of_callbacks_is_stored_exactly_once(stack: Stack) -> None:
    keyword = "B" + uuid.uuid4().hex[:10].upper()
    local = threading.local()

    def send(number: int) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        params = [
            ("mobile", f"917555{number:04d}"),
            ("carrier", "VERIZONUS"),
            ("shortcode", "84700"),
            ("key", keyword),
            ("reply", "AB"[number % 2]),
            ("label", f"n{number}"),
        ]
        url = f"{stack.url}/v1/sumotext/callbacks/poll"
        token = {"token": CALLBACK_TOKEN}
        if number % 2:
            answer = local.session.post(url, params=token, data=params, timeout=30)
        else:
            answer = local.session.get(url, params=[*token.items(), *params], timeout=30)
        assert answer.text == "OK", answer.text
        return answer.status_code

    started = time.monotonic()
    with ThreadPoolExecutor(BURST_WORKERS) as pool:
        statuses = list(pool.map(send, range(BURST)))
    duration = time.monotonic() - started
    print(f"\n{BURST} callbacks with {BURST_WORKERS} workers in {duration:.1f} s ({BURST / duration:.0f}/s)")
    assert statuses == [200] * BURST
    assert duration < 60

    items = listed(stack, kind="poll", keyword=keyword.lower(), limit="100")
    assert len(items) == BURST
    assert len({item["id"] for item in items}) == BURST
    assert sorted(item["fields"]["label"] for item in items) == sorted(f"n{number}" for number in range(BURST))
    times = [item["received_at"] for item in items]
    assert times == sorted(times, reverse=True)


def test_concurrent_copies_of_an_mo_are_stored_once(stack: Stack) -> None:
    mobile = fresh_mobile("718")
    params = [("mobile", mobile), ("smsid", uuid.uuid4().hex), ("msg", "hello")]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: callback(stack, "mo", params, form=True).text, range(8)))
    assert answers == ["OK"] * 8
    assert len(listed(stack, mobile=f"+1{mobile}")) == 1


def test_stop_through_the_callback_stops_ogangi_sends_and_start_undoes_it(stack: Stack) -> None:
    mobile = fresh_mobile("415")
    phone = f"+1{mobile}"
    stop = [("mobile", mobile), ("country", "USA"), ("smsid", uuid.uuid4().hex), ("msg", " stop ")]
    assert callback(stack, "mo", stop).text == "OK"
    listing = stack.call("GET", f"/v1/opt-outs/%2B1{mobile}").json()
    assert listing["opted_out"] is True and listing["source"] == "sumotext"

    text = f"after stop {uuid.uuid4().hex[:8]}"
    refused = stack.call("POST", "/v1/ogangi/sms", json={"to": phone, "text": text, "carrier": "Movistar"})
    assert refused.status_code == 422 and refused.json()["code"] == "recipient_opted_out"
    time.sleep(1)  # a queued message would have reached the sandbox by now
    assert not any(text in acted for acted in stack.sandbox("ogangi")["acted"])

    assert (
        callback(stack, "text4info", [("mobile", mobile), ("lead", "JOIN"), ("msg", "START")], form=True).text == "OK"
    )
    assert stack.call("GET", f"/v1/opt-outs/{mobile}", params={"country": "US"}).json()["opted_out"] is False
    accepted = stack.call("POST", "/v1/ogangi/sms", json={"to": phone, "text": text, "carrier": "Movistar"})
    assert accepted.status_code == 202
    assert stack.wait_for(accepted.json()["id"])["status"] == "succeeded"


def test_the_opt_out_routes(stack: Stack) -> None:
    mobile = fresh_mobile("202")
    never = stack.call("GET", f"/v1/opt-outs/%2B1{mobile}")
    assert never.json() == {
        "phone": f"+1{mobile}",
        "opted_out": False,
        "source": None,
        "changed_by": None,
        "updated_at": None,
    }
    put = stack.call("PUT", f"/v1/opt-outs/%2B1{mobile}")
    assert put.status_code == 200 and put.json()["opted_out"] is True and put.json()["source"] == "api"
    assert stack.call("GET", f"/v1/opt-outs/{mobile}?country=US").json() == put.json()
    refused = stack.call("POST", "/v1/ogangi/sms", json={"to": f"+1{mobile}", "text": "x"})
    assert refused.status_code == 422 and refused.json()["code"] == "recipient_opted_out"
    deleted = stack.call("DELETE", f"/v1/opt-outs/+1{mobile}")
    assert deleted.status_code == 200 and deleted.json()["opted_out"] is False
    bad = stack.call("GET", "/v1/opt-outs/12345")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "phone"


def opted_out(stack: Stack, mobile: str) -> bool:
    answer: bool = stack.call("GET", f"/v1/opt-outs/%2B1{mobile}").json()["opted_out"]
    return answer


def test_a_stop_that_reuses_the_smsid_of_the_numbers_earlier_message_still_stops(stack: Stack) -> None:
    mobile = fresh_mobile("347")
    smsid = f"f1-{uuid.uuid4().hex[:8]}"
    assert callback(stack, "mo", [("mobile", mobile), ("smsid", smsid), ("msg", "hello")]).text == "OK"
    assert callback(stack, "mo", [("mobile", mobile), ("smsid", smsid), ("msg", "STOP")]).text == "OK"
    assert callback(stack, "mo", [("mobile", mobile), ("smsid", smsid), ("msg", "STOP")]).text == "OK"  # a retry
    assert opted_out(stack, mobile)
    assert sorted(item["fields"]["msg"] for item in listed(stack, mobile=f"+1{mobile}")) == ["STOP", "hello"]


def test_a_post_that_is_not_a_form_still_carries_its_stop(stack: Stack) -> None:
    path = "/v1/sumotext/callbacks/mo"
    token = {"token": CALLBACK_TOKEN}
    plain, json_body, split = fresh_mobile("312"), fresh_mobile("313"), fresh_mobile("314")
    sent = [
        stack.call(
            "POST",
            path,
            key=None,
            params=token,
            data=f"mobile={plain}&msg=STOP",
            headers={"Content-Type": "text/plain"},
        ),
        stack.call("POST", path, key=None, params=token, json={"mobile": json_body, "msg": "STOP"}),
        stack.call("POST", path, key=None, params={**token, "mobile": split}, json={"msg": "STOP"}),
    ]
    assert [(answer.status_code, answer.text) for answer in sent] == [(200, "OK")] * 3
    for mobile in (plain, json_body, split):
        assert opted_out(stack, mobile), mobile
        [item] = listed(stack, mobile=f"+1{mobile}")
        assert item["fields"]["msg"] == "STOP" and item["raw_body"] is None and item["problem"] is None

    # Nothing to read at all: kept raw and flagged, never refused, while the wrong token still is.
    marker = uuid.uuid4().hex
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    raw = stack.call("POST", path, key=None, params=token, data=f"<mo>{marker}</mo>", headers={"Content-Type": "x/y"})
    assert (raw.status_code, raw.text) == (200, "OK")
    [kept] = [item for item in listed(stack, kind="mo", since=since) if item["raw_body"] == f"<mo>{marker}</mo>"]
    assert kept["mobile"] is None and kept["problem"].startswith("mobile is required")
    wrong = stack.call("POST", path, key=None, params={"token": "wrong"}, json={"mobile": plain, "msg": "STOP"})
    assert wrong.status_code == 403


def test_parameters_behind_stray_question_marks_in_the_url_still_count(stack: Stack) -> None:
    mobiles = [fresh_mobile("415"), fresh_mobile("416"), fresh_mobile("417")]
    shapes = [
        "token={t}??mobile={m}&msg=STOP",
        "token={t}&?mobile={m}&msg=STOP",
        "token={t}?mobile={m}?msg=STOP",
    ]
    for shape, mobile in zip(shapes, mobiles, strict=True):
        url = f"{stack.url}/v1/sumotext/callbacks/text4info?" + shape.format(t=CALLBACK_TOKEN, m=mobile)
        answer = stack.session.get(url, timeout=30)
        assert (answer.status_code, answer.text) == (200, "OK"), shape
        assert opted_out(stack, mobile), shape
        [item] = listed(stack, mobile=f"+1{mobile}")
        assert item["fields"] == {"mobile": mobile, "msg": "STOP"}, shape


def test_the_token_in_a_raw_body_is_never_shown_to_any_client(stack: Stack) -> None:
    mobile = fresh_mobile("718")
    body = f"<callback token='{CALLBACK_TOKEN}'><msg>hi</msg></callback>"
    answer = stack.call(
        "POST",
        "/v1/sumotext/callbacks/crm",
        key=None,
        params={"token": CALLBACK_TOKEN, "mobile": mobile},
        data=body,
        headers={"Content-Type": "application/xml"},
    )
    assert answer.status_code == 200
    other = stack.call("GET", "/v1/sumotext/events", key=OTHER_KEY, params={"mobile": f"+1{mobile}"})
    assert other.status_code == 200 and CALLBACK_TOKEN not in other.text
    [item] = other.json()["items"]
    assert item["raw_body"] == "<callback token='[token]'><msg>hi</msg></callback>"

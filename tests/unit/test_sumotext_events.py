"""GET /v1/sumotext/events without AWS: the query's validation, which index answers it, and the cursor."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from typing import Any

import pytest

from textgate.callback_hits import CallbackHit
from textgate.dal import callbacks
from textgate.errors import ApiError
from textgate.logic import sumotext
from textgate.schemas.sumotext import EventsQuery
from textgate.validation import validate
from textgate_local.template import ROOT


def query(**values: str) -> EventsQuery:
    return validate(EventsQuery, values)


def fields_of(error: ApiError) -> set[str]:
    return {item["field"] for item in error.errors}


def test_the_mobile_is_normalised_and_an_unencoded_plus_is_understood() -> None:
    assert query(mobile="+12125551212").mobile == "+12125551212"
    assert query(mobile=" 12125551212").mobile == "+12125551212"  # '?mobile=+1212…' decodes to a space
    assert query(mobile="2125551212", country="US").mobile == "+12125551212"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"mobile": "555"}, "mobile"),
        ({"mobile": "2125551212"}, "mobile"),
        ({"kind": "vote"}, "kind"),
        ({"kind": "poll", "limit": "0"}, "limit"),
        ({"kind": "poll", "limit": "101"}, "limit"),
        ({"kind": "poll", "limit": "ten"}, "limit"),
        ({"kind": "poll", "since": "yesterday"}, "since"),
        ({"kind": "poll", "keyword": ""}, "keyword"),
        ({"kind": "poll", "cursor": "x" * 3000}, "cursor"),
        ({"kind": "poll", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_query_names_its_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as raised:
        query(**values)
    assert raised.value.status == 422 and field in fields_of(raised.value)


def test_since_accepts_an_offset_whose_plus_came_as_a_space() -> None:
    assert query(kind="mo", since="2026-11-22T10:00:00 02:00").since == "2026-11-22T10:00:00+02:00"


def test_the_index_follows_the_query() -> None:
    plan = callbacks.QueryPlan
    assert sumotext.plan(query(mobile="+12125551212")) == plan("by_mobile", "+12125551212", {})
    assert sumotext.plan(query(mobile="+12125551212", kind="mo")) == plan("by_mobile", "+12125551212", {"kind": "mo"})
    assert sumotext.plan(query(kind="dlr")) == plan("by_kind", "dlr", {})
    assert sumotext.plan(query(kind="poll", keyword="fb1")) == plan("by_poll_keyword", "poll#FB1", {})
    assert sumotext.plan(query(kind="poll", keyword="FB1", mobile="+12125551212")) == plan(
        "by_poll_keyword", "poll#FB1", {"mobile": "+12125551212"}
    )


def test_mobile_or_kind_is_required_and_a_keyword_needs_kind_poll() -> None:
    with pytest.raises(ApiError) as raised:
        sumotext.plan(query())
    assert raised.value.status == 422 and fields_of(raised.value) == {"mobile", "kind"}
    for values in ({"keyword": "FB1"}, {"keyword": "FB1", "kind": "mo"}, {"keyword": "FB1", "mobile": "+12125551212"}):
        with pytest.raises(ApiError) as raised:
            sumotext.plan(query(**values))
        assert fields_of(raised.value) == {"keyword"}


KEY = {"id": "mo#1", "mobile": "+12125551212", "received_sk": "2026-11-22T10:00:00.000001Z#mo#1"}


BY_MOBILE = callbacks.QueryPlan("by_mobile", "+12125551212")


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    cursor = callbacks.encode_cursor("by_mobile", KEY)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert callbacks.decode_cursor(cursor, BY_MOBILE, None) == KEY
    assert callbacks.decode_cursor(cursor, BY_MOBILE, "2026-11-22T10:00:00.000000Z") == KEY


def _token(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        "AAAA",
        _token([1, 2]),
        _token({"i": "by_mobile"}),
        _token({"i": "by_kind", "k": KEY}),
        _token({"i": "by_mobile", "k": {**KEY, "mobile": "+13056708084"}}),
        _token({"i": "by_mobile", "k": {**KEY, "extra": "x"}}),
        _token({"i": "by_mobile", "k": {**KEY, "id": 5}}),
        _token({"i": "by_mobile", "k": {**KEY, "id": ""}}),
        _token({"i": "by_mobile", "k": {**KEY, "received_sk": "2026-11-01T00:00:00.000000Z#x"}}),
        _token("[" * 1500),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_cursor_of_another_query_or_none_at_all_is_refused(cursor: str) -> None:
    with pytest.raises(callbacks.InvalidCursor):
        callbacks.decode_cursor(cursor, BY_MOBILE, "2026-11-22T00:00:00.000000Z")


def hit(number: int) -> CallbackHit:
    return CallbackHit(
        id=f"cb_{number}",
        kind="poll",
        mobile="+12125551212",
        mobile_valid=True,
        received_at="2026-11-22T10:00:00Z",
        received_sk=f"2026-11-22T10:00:00.00000{number}Z#cb_{number}",
        source_ip="",
        method="GET",
        fields={"reply": "A"},
        params={"reply": "A"},
        poll_key="poll#FB1",
    )


def test_the_handler_answers_a_page_and_a_cursor_that_continues_it(
    unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(ROOT / "functions" / "sumotext_events")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    handler = importlib.import_module("sumotext_events").handler
    calls: list[dict[str, Any]] = []

    def fake_query(index: str, partition: str, **kwargs: Any) -> Any:
        calls.append({"index": index, "partition": partition, **kwargs})
        return [hit(2), hit(1)], {"id": "cb_1", "poll_key": "poll#FB1", "received_sk": hit(1).received_sk}

    monkeypatch.setattr(callbacks, "_query", fake_query)
    event: dict[str, Any] = {
        "httpMethod": "GET",
        "path": "/v1/sumotext/events",
        "queryStringParameters": {"kind": "poll", "keyword": "fb1", "limit": "2", "since": "2026-11-22T00:00:00Z"},
        "requestContext": {"identity": {"apiKeyId": "local"}},
    }
    answer = handler(event, None)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 200
    assert [item["id"] for item in body["items"]] == ["cb_2", "cb_1"]
    assert body["items"][0] == {
        "id": "cb_2",
        "kind": "poll",
        "mobile": "+12125551212",
        "received_at": "2026-11-22T10:00:00Z",
        "fields": {"reply": "A"},
        "raw_body": None,
        "problem": None,
    }
    assert calls[0] == {
        "index": "by_poll_keyword",
        "partition": "poll#FB1",
        "since_sk": "2026-11-22T00:00:00.000000Z",
        "filters": {},
        "limit": 2,
        "start_key": None,
    }
    following = handler(
        {**event, "queryStringParameters": {**event["queryStringParameters"], "cursor": body["next_cursor"]}}, None
    )
    assert following["statusCode"] == 200
    assert calls[1]["start_key"] == {"id": "cb_1", "poll_key": "poll#FB1", "received_sk": hit(1).received_sk}
    missing = handler({**event, "queryStringParameters": None}, None)
    assert missing["statusCode"] == 422
    other_query = {**event["queryStringParameters"], "keyword": "fb2", "cursor": body["next_cursor"]}
    refused = handler({**event, "queryStringParameters": other_query}, None)
    assert refused["statusCode"] == 422 and json.loads(refused["body"])["errors"][0]["field"] == "cursor"
    assert len(calls) == 2

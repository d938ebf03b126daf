"""Sumotext callbacks against moto: the handlers store each hit once, list them newest first, apply STOP/START."""

from __future__ import annotations

import importlib
import itertools
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import boto3
import pytest

from textgate import aws, clock
from textgate.dal import callbacks, events, suppression
from textgate.logic.sumotext import hit_id
from textgate_local.template import ROOT, Template, api_routes

Params = list[tuple[str, str]]
TOKEN = "current-token"  # the integration tier's Sumotext secret
_numbers = itertools.count(1000)  # each worker has its own moto: numbers only need to be unique per process


def new_mobile() -> str:
    """National digits of a fresh, valid US number (the form Sumotext sends)."""
    return f"212555{next(_numbers):04d}"


def load_handler(folder: str) -> Any:
    path = str(ROOT / "functions" / folder)
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module(folder).handler


def callback(
    kind: str, params: Params, *, token: str | None = TOKEN, form: bool = False, method: str = "GET"
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it: parameters in the query string, or as a POST form."""
    query: Params = [("token", token)] if token is not None else []
    if not form:
        query += params
    multi: dict[str, list[str]] = {}
    for name, value in query:
        multi.setdefault(name, []).append(value)
    return {
        "httpMethod": "POST" if form else method,
        "path": f"/v1/sumotext/callbacks/{kind}",
        "pathParameters": {"kind": kind},
        "queryStringParameters": {name: values[-1] for name, values in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "headers": {"Content-Type": "application/x-www-form-urlencoded"} if form else {},
        "body": urlencode(params) if form else None,
        "requestContext": {"requestId": "r", "identity": {"sourceIp": "203.0.113.10"}},
    }


def sample(name: str) -> dict[str, Any]:
    """An event of events/, with the token the integration secret holds."""
    text = (ROOT / "events" / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text.replace("REPLACE_WITH_CALLBACK_TOKEN", TOKEN))  # type: ignore[no-any-return]


def call(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = load_handler("sumotext_callback")(event, None)
    return answer


def list_events(**query: str) -> dict[str, Any]:
    event = {
        "httpMethod": "GET",
        "path": "/v1/sumotext/events",
        "queryStringParameters": query,
        "requestContext": {"identity": {"apiKeyId": "local"}},
    }
    answer = load_handler("sumotext_events")(event, None)
    return {"status": answer["statusCode"], **json.loads(answer["body"])}


def stored_for(mobile_e164: str) -> list[dict[str, Any]]:
    return [
        hit.model_dump()
        for hit in callbacks.query(
            callbacks.QueryPlan("by_mobile", mobile_e164), since_sk=None, limit=100, cursor=None
        )[0]
    ]


def mo_id(mobile: str, smsid: str, msg: str = "") -> str:
    return hit_id("mo", {"smsid": smsid, "msg": msg}, mobile)


def dlr_id(sumoid: str, mtcode: str) -> str:
    return hit_id("dlr", {"sumoid": sumoid, "mtcode": mtcode}, None)


def raw_item(identifier: str) -> dict[str, Any] | None:
    answer = aws.dynamodb().get_item(TableName="CallbacksTable", Key={"id": {"S": identifier}}, ConsistentRead=True)
    return answer.get("Item")


@pytest.fixture
def published(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    seen: list[tuple[str, dict[str, Any]]] = []
    real = events.publish

    def spy(detail_type: str, detail: dict[str, Any]) -> bool:
        seen.append((detail_type, detail))
        return real(detail_type, detail)

    monkeypatch.setattr(events, "publish", spy)
    return seen


def with_values(event: dict[str, Any], **overrides: str) -> dict[str, Any]:
    """A sample event with fresh values, so tests that share the table never see each other's hits."""
    event = json.loads(json.dumps(event))
    for name, value in overrides.items():
        if name in (event["queryStringParameters"] or {}):
            event["queryStringParameters"][name] = value
            event["multiValueQueryStringParameters"][name] = [value]
    if event.get("body"):
        body = dict(parse_qsl(event["body"], keep_blank_values=True))
        body.update({name: value for name, value in overrides.items() if name in body})
        event["body"] = urlencode(body)
    return event


# The seed's examples (mo is PROVIDERS.md's list), each with a fresh number.
SEED = {
    "crm": "country=USA&shortcode=84700&key=SOMEKEY&mobile={m}&carrierId=VERIZONUS&Name=Bill&DOB=1/1/2000&Zip=10024",
    "poll": "mobile={m}&carrier=VERIZONUS&shortcode=84700&key=FB1&reply=A&label=Tampa",
    "text4info": "lead=keyword&&mobile={m}&msg=ServerMsg",
    "mo": "mobile={m}&carrierId=VERIZONUS&smsid=9{m}&shortcode=84700&key=SOMEKEY&msg=hello&country=USA",
}
DOCUMENTED = {
    "crm": {"carrier": "VERIZONUS", "shortcode": "84700", "key": "SOMEKEY", "country": "USA"},
    "poll": {"carrier": "VERIZONUS", "shortcode": "84700", "key": "FB1", "reply": "A", "label": "Tampa"},
    "text4info": {"lead": "keyword", "msg": "ServerMsg"},
    "mo": {"carrier": "VERIZONUS", "shortcode": "84700", "key": "SOMEKEY", "msg": "hello", "country": "USA"},
}


@pytest.mark.parametrize("kind", sorted(SEED))
@pytest.mark.parametrize("form", [False, True], ids=["get", "post-form"])
def test_every_kind_from_the_seed_is_stored_with_every_field_but_the_token(
    aws_env: dict[str, str], published: list[Any], kind: str, form: bool
) -> None:
    mobile = new_mobile()
    params = parse_qsl(SEED[kind].format(m=mobile), keep_blank_values=True)
    before = clock.now()
    answer = call(callback(kind, params, form=form))
    assert answer == {"statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "OK"}
    [hit] = stored_for("+1" + mobile)
    assert hit["kind"] == kind and hit["mobile"] == "+1" + mobile and hit["mobile_valid"] is True
    assert hit["fields"] == dict(params) and hit["source_ip"] == "203.0.113.10"
    assert hit["method"] == ("POST" if form else "GET")
    assert {name: value for name, value in hit["params"].items() if name in DOCUMENTED[kind]} == DOCUMENTED[kind]
    assert abs(clock.parse_rfc3339(hit["received_at"]) - before) < 5
    assert hit["id"] == mo_id("+1" + mobile, f"9{mobile}", "hello") if kind == "mo" else hit["id"].startswith("cb_")
    item = raw_item(hit["id"])
    assert item is not None and "token" not in json.dumps(item)
    retention = 400 * 86_400
    assert before + retention - 5 <= int(item["expires_at"]["N"]) <= clock.now() + retention
    assert item.get("poll_key") == ({"S": "poll#FB1"} if kind == "poll" else None)
    assert [detail for type_, detail in published if type_ == "sumotext.callback"] == [hit]


@pytest.mark.parametrize("name", ["crm", "poll", "text4info", "mo", "dlr"])
def test_the_sample_events_are_accepted_as_they_are(aws_env: dict[str, str], name: str) -> None:
    mobile = new_mobile()
    sumoid = f"sample-{mobile}"
    event = with_values(sample(f"sumotext_{name}_callback"), mobile=mobile, smsid=sumoid, sumoid=sumoid)
    assert call(event)["body"] == "OK"
    if name == "dlr":
        assert raw_item(dlr_id(sumoid, "4")) is not None
    else:
        [hit] = stored_for("+1" + mobile)
        assert hit["kind"] == name


def test_a_dlr_is_stored_by_sumoid_and_mtcode(aws_env: dict[str, str]) -> None:
    sumoid = f"dlr-{time.time_ns()}"
    event = with_values(sample("sumotext_dlr_callback"), sumoid=sumoid)
    assert call(event)["statusCode"] == 200
    assert call(event)["statusCode"] == 200
    assert (
        call(callback("dlr", [("sumoid", sumoid), ("mtcode", "5"), ("mtdescription", "Failed")], form=True))[
            "statusCode"
        ]
        == 200
    )
    delivered, failed = raw_item(dlr_id(sumoid, "4")), raw_item(dlr_id(sumoid, "5"))
    assert delivered is not None and failed is not None
    assert json.loads(delivered["fields"]["S"]) == {"sumoid": sumoid, "mtcode": "4", "mtdescription": "Delivered"}
    assert "mobile" not in delivered
    listed = list_events(kind="dlr", limit="100")
    ours = [dlr_id(sumoid, "5"), dlr_id(sumoid, "4")]
    assert [item["id"] for item in listed["items"] if item["id"] in ours] == ours


def test_the_previous_token_is_accepted_while_the_secret_is_rotated(aws_env: dict[str, str]) -> None:
    mobile = new_mobile()
    assert call(callback("crm", [("mobile", mobile)], token="previous-token"))["statusCode"] == 200
    assert len(stored_for("+1" + mobile)) == 1


@pytest.mark.parametrize("token", [None, "", "wrong-token", "current-token\x00", "Current-Token"])
def test_a_wrong_or_missing_token_is_403_and_stores_and_publishes_nothing(
    aws_env: dict[str, str], published: list[Any], token: str | None
) -> None:
    mobile = new_mobile()
    for form in (False, True):
        answer = call(callback("mo", [("mobile", mobile), ("smsid", mobile), ("msg", "STOP")], token=token, form=form))
        assert answer["statusCode"] == 403 and json.loads(answer["body"])["code"] == "forbidden"
    assert stored_for("+1" + mobile) == [] and published == []
    assert suppression.get("+1" + mobile) is None


def test_unknown_kind_is_404_and_a_missing_mobile_or_sumoid_is_kept_flagged(aws_env: dict[str, str]) -> None:
    assert call(callback("vote", [("mobile", new_mobile())]))["statusCode"] == 404
    since = clock.rfc3339(clock.now() - 1)
    reply = f"A-{new_mobile()}"
    assert call(callback("poll", [("key", "FB1"), ("reply", reply)]))["statusCode"] == 200
    assert call(callback("dlr", [("mtcode", reply)]))["statusCode"] == 200
    [poll] = [item for item in list_events(kind="poll", since=since)["items"] if item["fields"].get("reply") == reply]
    assert poll["mobile"] is None and poll["problem"] == "mobile is required"
    [dlr] = [item for item in list_events(kind="dlr", since=since)["items"] if item["fields"].get("mtcode") == reply]
    assert dlr["problem"] == "sumoid is required"
    item = raw_item(dlr["id"])
    assert item is not None and item["problem"] == {"S": "sumoid is required"} and "mobile" not in item


def test_a_repeated_mo_is_stored_once_and_answered_ok_each_time(aws_env: dict[str, str], published: list[Any]) -> None:
    mobile = new_mobile()
    params = [("mobile", mobile), ("smsid", f"rep-{mobile}"), ("msg", "hello")]
    answers = [call(callback("mo", params, form=form)) for form in (False, True, False)]
    assert [answer["body"] for answer in answers] == ["OK", "OK", "OK"]
    assert len(stored_for("+1" + mobile)) == 1
    assert len([kind for kind, _ in published if kind == "sumotext.callback"]) == 1


def test_concurrent_copies_of_one_mo_are_stored_and_published_once(
    aws_env: dict[str, str], published: list[Any]
) -> None:
    mobile = new_mobile()
    event = callback("mo", [("mobile", mobile), ("smsid", f"race-{mobile}"), ("msg", "STOP")])
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: call(event), range(16)))
    assert {answer["statusCode"] for answer in answers} == {200}
    assert len(stored_for("+1" + mobile)) == 1
    assert len([kind for kind, _ in published if kind == "sumotext.callback"]) == 1
    assert len([kind for kind, _ in published if kind == "opt_out.changed"]) == 1
    entry = suppression.get("+1" + mobile)
    assert entry is not None and entry.opted_out and entry.source == "sumotext"


def test_odd_input_is_stored_as_it_came_or_refused_clearly(aws_env: dict[str, str]) -> None:
    mobile = new_mobile()
    odd: Params = [
        ("mobile", mobile),
        ("empty", ""),
        ("Name", "Zoë 👋 名前 \u202e"),
        ("nul", "a\x00b"),
        ("", "nameless"),
        ("tag", "a"),
        ("tag", "a"),
        *[(f"p{n}", "✓" * 10) for n in range(200)],
    ]
    for form in (False, True):
        assert call(callback("crm", odd, form=form))["statusCode"] == 200
    hits = stored_for("+1" + mobile)
    assert len(hits) == 2 and hits[0]["fields"] == hits[1]["fields"]
    fields = hits[0]["fields"]
    assert fields["Name"] == "Zoë 👋 名前 \u202e" and fields["nul"] == "a\x00b" and fields[""] == "nameless"
    assert fields["empty"] == "" and fields["tag"] == ["a", "a"] and len(fields) == 206

    unreadable = f"555{next(_numbers)}"
    since = clock.rfc3339(clock.now() - 1)
    assert call(callback("crm", [("mobile", unreadable), ("country", "USA")]))["statusCode"] == 200
    [flagged] = [item for item in list_events(kind="crm", since=since)["items"] if item["mobile"] == unreadable]
    assert flagged["fields"] == {"mobile": unreadable, "country": "USA"}
    item = raw_item(flagged["id"])
    assert item is not None and item["mobile_valid"] == {"BOOL": False}

    # Beyond what a hit may hold: kept flagged rather than refused (Sumotext does not call again).
    unread = [
        callback("crm", [("mobile", mobile), ("note", "x" * 5000)]),
        callback("crm", [("mobile", mobile)] + [(f"f{n}", "1") for n in range(600)], form=True),
        callback("mo", [("mobile", "9" * 100), ("smsid", "1")]),
    ]
    assert [call(event)["statusCode"] for event in unread] == [200, 200, 200]
    flagged = [hit for hit in stored_for("+1" + mobile) if hit["problem"] is not None]
    assert sorted(hit["problem"] for hit in flagged) == [
        "more than 500 parameters",
        "the value of 'note' is longer than 4096 characters",
    ]
    assert all(hit["raw_body"].startswith(f"mobile={mobile}&") and hit["fields"] == {} for hit in flagged)
    assert all(hit["mobile_valid"] is True for hit in flagged)


def test_events_are_listed_newest_first_page_by_page(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    mobile = new_mobile()
    e164 = "+1" + mobile
    moments = iter(range(3_000_000_000, 3_000_000_100, 10))  # far ahead of every other test's hits
    monkeypatch.setattr(clock, "now", lambda: float(next(moments)))
    kinds = ["crm", "poll", "mo", "text4info", "poll"]
    for number, kind in enumerate(kinds):
        params = [("mobile", mobile), ("n", str(number)), ("key", "fb-list"), ("smsid", f"list-{mobile}-{number}")]
        assert call(callback(kind, params))["statusCode"] == 200

    def numbers(page: dict[str, Any]) -> list[str]:
        return [item["fields"]["n"] for item in page["items"]]

    pages, cursor = [], None
    while True:
        page = list_events(mobile=e164, limit="2", **({"cursor": cursor} if cursor else {}))
        assert page["status"] == 200
        pages.append(numbers(page))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["4", "3"], ["2", "1"], ["0"]]
    first = list_events(mobile=e164, limit="5")
    assert numbers(first) == ["4", "3", "2", "1", "0"] and first["next_cursor"] is None
    assert first["items"][0]["received_at"] == "2065-01-24T05:20:40Z"
    assert set(first["items"][0]) == {"id", "kind", "mobile", "received_at", "fields", "raw_body", "problem"}

    assert numbers(list_events(mobile=e164, kind="poll")) == ["4", "1"]
    assert numbers(list_events(mobile=mobile, country="US", since=clock.rfc3339(3_000_000_020))) == ["4", "3", "2"]
    assert numbers(list_events(kind="poll", keyword="FB-LIST")) == ["4", "1"]
    assert numbers(list_events(kind="poll", keyword="fb-list", mobile=e164, limit="1")) == ["4"]
    by_kind = list_events(kind="text4info", since="2065-01-24T05:20:00Z")
    assert numbers(by_kind) == ["3"]

    page = list_events(mobile=e164, limit="2")
    other = list_events(mobile="+1" + new_mobile(), cursor=page["next_cursor"])
    assert other["status"] == 422 and other["errors"][0]["field"] == "cursor"
    assert list_events(kind="mo", cursor=page["next_cursor"])["status"] == 422
    assert list_events(mobile=e164, cursor="garbage")["status"] == 422
    assert list_events(kind="poll", keyword="FB1", mobile="555")["status"] == 422
    assert list_events(limit="10")["status"] == 422


def test_a_sparse_filter_still_fills_the_page(aws_env: dict[str, str]) -> None:
    mobile = new_mobile()
    call(callback("mo", [("mobile", mobile), ("smsid", f"sparse-{mobile}")]))
    for number in range(120):
        call(callback("crm", [("mobile", mobile), ("n", str(number))]))
    page = list_events(mobile="+1" + mobile, kind="mo", limit="5")
    expected = [mo_id("+1" + mobile, f"sparse-{mobile}")]
    assert [item["id"] for item in page["items"]] == expected and page["next_cursor"] is None


def test_stop_and_start_change_the_list_once_and_publish_it(aws_env: dict[str, str], published: list[Any]) -> None:
    mobile = new_mobile()
    e164 = "+1" + mobile

    def changes() -> list[tuple[bool, str]]:
        return [(detail["opted_out"], detail["source"]) for kind, detail in published if kind == "opt_out.changed"]

    stop = callback("mo", [("mobile", mobile), ("smsid", f"stop-{mobile}"), ("msg", " Stop "), ("country", "USA")])
    assert call(stop)["body"] == "OK"
    entry = suppression.get(e164)
    assert entry is not None and entry.opted_out and entry.source == "sumotext"
    assert call(callback("text4info", [("mobile", mobile), ("msg", "QUIT")]))["body"] == "OK"  # no change
    assert changes() == [(True, "sumotext")]

    assert call(callback("text4info", [("mobile", mobile), ("lead", "JOIN"), ("msg", "start")]))["body"] == "OK"
    assert not suppression.is_opted_out(e164)
    assert call(stop)["body"] == "OK"  # Sumotext repeating the old STOP must not undo the START
    assert not suppression.is_opted_out(e164)
    assert (
        call(callback("poll", [("mobile", mobile), ("key", "K"), ("reply", "STOP"), ("msg", "STOP")]))["body"] == "OK"
    )
    assert not suppression.is_opted_out(e164)
    assert changes() == [(True, "sumotext"), (False, "sumotext")]
    [detail] = [detail for kind, detail in published if kind == "opt_out.changed" and not detail["opted_out"]]
    assert detail["phone"] == e164 and detail["updated_at"].endswith("Z")

    never_listed = new_mobile()
    assert (
        call(callback("mo", [("mobile", never_listed), ("smsid", f"yes-{never_listed}"), ("msg", "YES")]))["body"]
        == "OK"
    )
    assert suppression.get("+1" + never_listed) is None and len(changes()) == 2


def test_the_stored_hit_reaches_the_bus(aws_env: dict[str, str]) -> None:
    mobile = new_mobile()
    sqs, bus = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"callbacks-{mobile}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["textgate"], "detail-type": ["sumotext.callback", "opt_out.changed"]}
    rule = f"callbacks-{mobile}"
    bus.put_rule(Name=rule, EventBusName="textgate", EventPattern=json.dumps(pattern))
    bus.put_targets(Rule=rule, EventBusName="textgate", Targets=[{"Id": "queue", "Arn": arn}])
    try:
        params = [("mobile", mobile), ("carrierId", "TMOBILE"), ("smsid", f"bus-{mobile}"), ("msg", "STOP")]
        assert call(callback("mo", params, form=True))["body"] == "OK"
        received: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            ):
                received.append(json.loads(message["Body"]))
    finally:
        bus.remove_targets(Rule=rule, EventBusName="textgate", Ids=["queue"])
        bus.delete_rule(Name=rule, EventBusName="textgate")
    by_type = {event["detail-type"]: event["detail"] for event in received}
    [stored] = stored_for("+1" + mobile)
    assert by_type["sumotext.callback"] == stored
    assert by_type["sumotext.callback"]["params"]["carrier"] == "TMOBILE"
    assert by_type["opt_out.changed"]["phone"] == "+1" + mobile and by_type["opt_out.changed"]["opted_out"] is True
    assert set(by_type["opt_out.changed"]) == {"phone", "opted_out", "source", "changed_by", "updated_at"}
    assert by_type["opt_out.changed"]["changed_by"] == "sumotext"


def test_the_sample_events_are_the_routes_of_the_template() -> None:
    routes = {(route.method, route.path) for route in api_routes(Template.read())}
    samples = [*Path(ROOT / "events").glob("sumotext_*.json"), *Path(ROOT / "events").glob("opt_out_*.json")]
    assert len(samples) == 10
    for path in samples:
        event = json.loads(path.read_text(encoding="utf-8"))
        assert (event["httpMethod"], event["resource"]) in routes, path.name


@pytest.mark.parametrize("name", ["sumotext_events_by_keyword", "sumotext_events_by_mobile"])
def test_the_sample_queries_are_answered(aws_env: dict[str, str], name: str) -> None:
    answer = load_handler("sumotext_events")(sample(name), None)
    assert answer["statusCode"] == 200 and set(json.loads(answer["body"])) == {"items", "next_cursor"}


def test_a_stop_that_reuses_another_numbers_smsid_is_not_taken_for_a_repeat(
    aws_env: dict[str, str], published: list[Any]
) -> None:
    first, second = new_mobile(), new_mobile()
    smsid = f"shared-{first}"
    for mobile in (first, second):
        answer = call(callback("mo", [("mobile", mobile), ("smsid", smsid), ("msg", "STOP")]))
        assert answer["body"] == "OK"
    assert suppression.is_opted_out("+1" + first) and suppression.is_opted_out("+1" + second)
    assert len(stored_for("+1" + first)) == 1 and len(stored_for("+1" + second)) == 1
    # A true repeat (same number, same smsid) is still kept once.
    assert call(callback("mo", [("mobile", second), ("smsid", smsid), ("msg", "STOP")]))["body"] == "OK"
    assert len(stored_for("+1" + second)) == 1

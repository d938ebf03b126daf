"""The suppression list against moto: the /v1/opt-outs/{phone} handler, record_opt_out, and the sending paths."""

from __future__ import annotations

import importlib
import itertools
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from textgate import clock
from textgate.dal import events, suppression
from textgate.logic import opt_outs
from textgate_local.template import ROOT

_numbers = itertools.count(1000)  # each worker has its own moto: numbers only need to be unique per process


def new_phone() -> str:
    return f"+1305555{next(_numbers):04d}"


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    folder = str(ROOT / "functions" / "opt_outs")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    answer = importlib.import_module("opt_outs").handler(event, None)
    return answer["statusCode"], json.loads(answer["body"])


def route(method: str, phone: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    return invoke(
        {
            "httpMethod": method,
            "path": f"/v1/opt-outs/{phone}",
            "pathParameters": {"phone": phone},
            "queryStringParameters": query,
            "requestContext": {"requestId": "r", "identity": {"apiKeyId": "local"}},
        }
    )


@pytest.fixture
def changes(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    real = events.publish

    def spy(detail_type: str, detail: dict[str, Any]) -> bool:
        if detail_type == "opt_out.changed":
            seen.append(detail)
        return real(detail_type, detail)

    monkeypatch.setattr(events, "publish", spy)
    return seen


def test_a_number_never_seen_is_not_opted_out(changes: list[Any]) -> None:
    phone = new_phone()
    never = {"phone": phone, "opted_out": False, "source": None, "changed_by": None, "updated_at": None}
    assert route("GET", phone) == (200, never)
    assert route("DELETE", phone) == (200, never)
    assert suppression.get(phone) is None and changes == []


def test_put_opts_out_delete_opts_back_in_and_each_change_is_published_once(changes: list[Any]) -> None:
    phone = new_phone()
    before = clock.now()
    status, body = route("PUT", phone)
    assert status == 200 and body["opted_out"] is True and body["source"] == "api" and body["changed_by"] == "local"
    assert before - 1 <= clock.parse_rfc3339(body["updated_at"]) <= clock.now() + 1
    assert route("GET", phone) == (200, body)
    assert route("PUT", phone) == (200, body)  # already out: nothing changes, nothing is published
    status, back_in = route("DELETE", phone)
    assert status == 200 and back_in["opted_out"] is False and back_in["source"] == "api"
    assert route("DELETE", phone) == (200, back_in)
    assert changes == [body, back_in]
    assert set(body) == {"phone", "opted_out", "source", "changed_by", "updated_at"}


@pytest.mark.parametrize(
    ("raw", "query"),
    [("%2B1{n}", None), ("+1{n}", None), (" 1{n}", None), ("{n}", {"country": "US"}), ("{n}", {"country": "us"})],
)
def test_the_phone_may_be_encoded_or_national(changes: list[Any], raw: str, query: dict[str, str] | None) -> None:
    phone = new_phone()
    status, body = route("PUT", raw.format(n=phone[2:]), query)
    assert status == 200 and body["phone"] == phone and suppression.is_opted_out(phone)


@pytest.mark.parametrize(
    ("raw", "query", "field"),
    [
        ("3055550000", None, "phone"),
        ("+1555", None, "phone"),
        ("call-me", {"country": "US"}, "phone"),
        ("3055550000", {"country": "USA"}, "country"),
        ("+13055550000", {"colour": "red"}, "colour"),
    ],
)
def test_a_bad_phone_or_query_is_422_and_changes_nothing(
    changes: list[Any], raw: str, query: dict[str, str] | None, field: str
) -> None:
    for method in ("GET", "PUT", "DELETE"):
        status, body = route(method, raw, query)
        assert status == 422 and body["code"] == "validation_error"
        assert field in {error["field"] for error in body["errors"]}
    assert changes == []


def test_a_stop_from_the_recipient_cannot_be_undone_by_a_client(changes: list[Any]) -> None:
    phone = new_phone()
    opt_outs.set_opted_out(phone, True, source=opt_outs.RECIPIENT, changed_by=opt_outs.RECIPIENT)
    status, body = route("DELETE", phone)
    assert status == 409 and body["code"] == "opted_out_by_recipient"
    assert suppression.is_opted_out(phone)
    assert route("GET", phone)[1]["changed_by"] == "sumotext"
    # The recipient's own START still works.
    back = opt_outs.set_opted_out(phone, False, source=opt_outs.RECIPIENT, changed_by=opt_outs.RECIPIENT)
    assert back.opted_out is False and back.changed_by == "sumotext"
    assert [change["opted_out"] for change in changes] == [True, False]


def test_a_recipients_stop_takes_over_a_clients_opt_out(changes: list[Any]) -> None:
    phone = new_phone()
    route("PUT", phone)
    taken = opt_outs.set_opted_out(phone, True, source=opt_outs.RECIPIENT, changed_by=opt_outs.RECIPIENT)
    assert taken.source == "sumotext" and taken.changed_by == "sumotext"
    assert route("DELETE", phone)[0] == 409
    # A repeated STOP changes nothing more.
    opt_outs.set_opted_out(phone, True, source=opt_outs.RECIPIENT, changed_by=opt_outs.RECIPIENT)
    assert len(changes) == 2


def test_any_client_may_undo_an_opt_out_a_client_made(changes: list[Any]) -> None:
    phone = new_phone()
    route("PUT", phone)
    event = {
        "httpMethod": "DELETE",
        "path": f"/v1/opt-outs/{phone}",
        "pathParameters": {"phone": phone},
        "requestContext": {"requestId": "r", "identity": {"apiKeyId": "another-client"}},
    }
    status, body = invoke(event)
    assert status == 200 and body["opted_out"] is False and body["changed_by"] == "another-client"


def test_record_opt_out_is_what_the_delivery_code_calls(changes: list[Any]) -> None:
    phone = new_phone()
    opt_outs.record_opt_out(phone.lstrip("+"), source="protexting")
    opt_outs.record_opt_out(phone, source="protexting")
    entry = suppression.get(phone)
    assert entry is not None and entry.opted_out and entry.source == "protexting" and entry.changed_by == "protexting"
    assert [(change["phone"], change["source"]) for change in changes] == [(phone, "protexting")]
    assert route("GET", phone)[1]["source"] == "protexting"


def test_concurrent_puts_make_one_change(changes: list[Any]) -> None:
    phone = new_phone()
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: route("PUT", phone), range(12)))
    assert {status for status, _ in answers} == {200}
    assert {body["opted_out"] for _, body in answers} == {True}
    assert len(changes) == 1


def test_the_sample_events_put_get_and_delete_one_number(changes: list[Any]) -> None:
    def sample(name: str) -> dict[str, Any]:
        return json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    assert invoke(sample("opt_out_put"))[1]["opted_out"] is True
    status, body = invoke(sample("opt_out_get"))
    assert status == 200 and body["phone"] == "+12125551212" and body["opted_out"] is True
    status, body = invoke(sample("opt_out_delete"))
    assert status == 200 and body["phone"] == "+12125551212" and body["opted_out"] is False

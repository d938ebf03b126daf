"""Reading a Sumotext callback: token, parameters, the stored hit, STOP and START; the handler with a fake store."""

from __future__ import annotations

import base64
import importlib
import json
import sys
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from textgate.callback_hits import CallbackHit
from textgate.dal import callbacks, events
from textgate.errors import ApiError
from textgate.http_api import parse_event
from textgate.logic import opt_outs, sumotext
from textgate.secrets import SecretUnavailable
from textgate.sumotext_http import MAX_BODY_BYTES, MAX_PARAMETERS, query_pairs
from textgate_local.template import ROOT

SECRET = {"token": "current-token", "previous_token": "previous-token"}
NOW = 1_795_860_000.25  # 2026-11-28T10:00:00.250000Z


def test_current_and_previous_tokens_match_others_do_not() -> None:
    assert sumotext.token_matches("current-token", SECRET)
    assert sumotext.token_matches("previous-token", SECRET)
    for wrong in ("", "current-token ", "CURRENT-TOKEN", "current", "tøken-ü", "\x00"):
        assert not sumotext.token_matches(wrong, SECRET), wrong


def test_an_empty_previous_token_never_matches() -> None:
    secret = {"token": "current-token", "previous_token": ""}
    assert not sumotext.token_matches("", secret)
    assert not sumotext.token_matches("", {"token": "", "previous_token": ""})
    assert not sumotext.token_matches("x", {"previous_token": None})
    assert sumotext.token_matches("current-token", secret)


def hit(kind: str, query: str, **kwargs: Any) -> CallbackHit:
    pairs = parse_qsl(query, keep_blank_values=True)
    return sumotext.build_hit(kind, pairs, now=NOW, source_ip="203.0.113.10", method="GET", **kwargs)


def test_crm_from_the_seed_keeps_every_field_and_reads_the_number_with_country_usa() -> None:
    stored = hit(
        "crm",
        "country=USA&shortcode=84700&key=SOMEKEY&mobile=2125551212&carrierId=VERIZONUS&Name=Bill&DOB=1/1/2000&Zip=10024",
    )
    assert stored.mobile == "+12125551212" and stored.mobile_valid is True
    assert stored.fields == {
        "country": "USA",
        "shortcode": "84700",
        "key": "SOMEKEY",
        "mobile": "2125551212",
        "carrierId": "VERIZONUS",
        "Name": "Bill",
        "DOB": "1/1/2000",
        "Zip": "10024",
    }
    assert stored.params["carrier"] == "VERIZONUS" and stored.params["shortcode"] == "84700"
    assert stored.id.startswith("cb_") and stored.poll_key is None
    assert stored.received_at == "2026-11-28T10:00:00Z"
    assert stored.received_sk == f"2026-11-28T10:00:00.250000Z#{stored.id}"
    assert stored.kind == "crm" and stored.source_ip == "203.0.113.10"


def test_both_spellings_of_carrier_and_short_code_are_read() -> None:
    assert hit("crm", "mobile=2125551212&carrier=ATT").params["carrier"] == "ATT"
    assert hit("crm", "mobile=2125551212&CarrierID=TMO").params["carrier"] == "TMO"
    assert hit("crm", "mobile=2125551212&short+code=84700").params["shortcode"] == "84700"


def test_poll_from_the_seed_is_listed_by_its_keyword_upper_cased() -> None:
    stored = hit("poll", "mobile=2125551212&carrier=VERIZONUS&shortcode=84700&key=fb1&reply=A&label=Tampa")
    assert stored.poll_key == "poll#FB1"
    assert stored.params["reply"] == "A" and stored.params["label"] == "Tampa"
    assert hit("crm", "mobile=2125551212&key=fb1").poll_key is None


def test_text4info_from_the_seed_with_its_empty_pair() -> None:
    stored = hit("text4info", "lead=keyword&&mobile=2125551212&msg=ServerMsg")
    assert stored.fields == {"lead": "keyword", "mobile": "2125551212", "msg": "ServerMsg"}
    assert stored.mobile == "+12125551212"


def test_message_and_dlr_ids_are_deterministic_others_random() -> None:
    mo = hit("mo", "mobile=2125551212&smsid=88422110&msg=hi").id
    assert mo.startswith("mo_") and mo == hit("mo", "mobile=%2B12125551212&smsid=88422110&msg=hi").id
    assert mo == hit("mo", "mobile=2125551212&smsid=88422110&msg=%20hi%20&carrier=ATT").id  # the text as read
    text4info = hit("text4info", "lead=k&mobile=2125551212&smsid=88422110&msg=hi").id
    assert text4info.startswith("text4info_") and text4info != mo
    assert text4info == hit("text4info", "lead=k&mobile=2125551212&smsid=88422110&msg=hi").id
    delivered = hit("dlr", "sumoid=5512093&mtcode=4&mtdescription=Delivered").id
    assert delivered.startswith("dlr_") and delivered == hit("dlr", "sumoid=5512093&mtcode=4").id
    assert hit("dlr", "sumoid=5512093&mtcode=5").id != delivered
    for query in ("mobile=2125551212&msg=hi", "lead=k&mobile=2125551212&msg=hi"):
        for kind in ("mo", "text4info"):
            without_smsid = {hit(kind, query).id for _ in range(3)}
            assert len(without_smsid) == 3 and all(identifier.startswith("cb_") for identifier in without_smsid)
            assert not sumotext.is_deterministic(next(iter(without_smsid)))
    assert sumotext.is_deterministic(mo) and sumotext.is_deterministic(delivered)
    assert sumotext.is_deterministic(text4info)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # The same smsid from two numbers: two messages (a STOP must not be taken for a repeat of another's).
        (("mo", "mobile=2125551212&smsid=77"), ("mo", "mobile=2125551213&smsid=77")),
        # The same smsid of one number with another text: another message (a STOP after a "hello").
        (("mo", "mobile=2125551212&smsid=f1&msg=hello"), ("mo", "mobile=2125551212&smsid=f1&msg=STOP")),
        (("mo", "mobile=2125551212&smsid=f1"), ("mo", "mobile=2125551212&smsid=f1&msg=STOP")),
        (("text4info", "mobile=2125551212&smsid=f1&msg=hi"), ("text4info", "mobile=2125551212&smsid=f1&msg=STOP")),
        (("mo", "mobile=2125551212&smsid=f1&msg=hi"), ("text4info", "mobile=2125551212&smsid=f1&msg=hi")),
        # Parts cannot run into each other.
        (("mo", "mobile=2125551212&smsid=a&msg=bc"), ("mo", "mobile=2125551212&smsid=ab&msg=c")),
        # '#' (or any separator) inside a value cannot merge two different hits.
        (("dlr", "sumoid=a%23b&mtcode=c"), ("dlr", "sumoid=a&mtcode=b%23c")),
        (("dlr", "sumoid=1&mtcode=4"), ("dlr", "sumoid=1&mtcode=5")),
        (("dlr", "sumoid=1&mtcode=45"), ("dlr", "sumoid=14&mtcode=5")),
    ],
)
def test_no_two_different_hits_share_an_identity(first: tuple[str, str], second: tuple[str, str]) -> None:
    assert hit(*first).id != hit(*second).id


def test_a_dlr_needs_no_mobile_but_keeps_one_it_is_given() -> None:
    stored = hit("dlr", "sumoid=1&mtcode=4")
    assert stored.mobile is None and stored.mobile_valid is None
    assert hit("dlr", "sumoid=1&mtcode=4&mobile=2125551212").mobile == "+12125551212"


@pytest.mark.parametrize(
    ("mobile", "country", "expected"),
    [
        ("2125551212", None, "+12125551212"),
        ("12125551212", "USA", "+12125551212"),
        ("+12125551212", "CAN", "+12125551212"),
        ("4165551234", "CAN", "+14165551234"),
        ("4165551234", "ca", "+14165551234"),
        ("4165551234", "U.S.A.", "+14165551234"),
        ("7911123456", "GB", "+447911123456"),
        ("2125551212", "Narnia", "+12125551212"),
        ("7911123456", "GBR", "+447911123456"),
        ("7911123456", "UK", "+447911123456"),
        ("7911123456", "uk", "+447911123456"),
        ("0412345678", "AUS", "+61412345678"),
        ("15123456789", "DEU", "+4915123456789"),
        ("5512345678", "MEX", "+525512345678"),
        ("7911123456", "826", "+447911123456"),
        # A '+' sent unencoded arrives as a space: still E.164, whatever the country says.
        (" 447911123456", "USA", "+447911123456"),
        (" 12125551212", None, "+12125551212"),
        # A stray leading space before national digits is not a '+'.
        (" 2125551212", "USA", "+12125551212"),
    ],
)
def test_numbers_are_read_with_country(mobile: str, country: str | None, expected: str) -> None:
    assert sumotext.read_mobile(mobile, country) == (expected, True)


def test_an_unreadable_number_is_stored_as_given_with_a_flag() -> None:
    for mobile in ("abc", "123", "+999999"):
        stored = hit("crm", urlencode({"mobile": mobile}))
        assert stored.mobile == mobile and stored.mobile_valid is False


def test_repeated_parameters_keep_every_value_in_order() -> None:
    stored = hit("crm", "mobile=2125551212&color=red&color=&color=blue&Zip=1")
    assert stored.fields["color"] == ["red", "", "blue"] and stored.fields["Zip"] == "1"


def test_empty_values_are_kept_and_the_first_non_empty_value_is_the_documented_one() -> None:
    stored = hit("mo", "mobile=&mobile=2125551212&smsid=7&msg=&carrier=")
    assert stored.fields["msg"] == "" and stored.fields["carrier"] == ""
    assert stored.fields["mobile"] == ["", "2125551212"] and stored.mobile == "+12125551212"
    assert "msg" not in stored.params and "carrier" not in stored.params


def test_unicode_and_lone_surrogates_are_stored_safely() -> None:
    stored = sumotext.build_hit(
        "crm",
        [("mobile", "2125551212"), ("Name", "Zoë 👋 名前"), ("bad\ud800", "x\udfff")],
        now=NOW,
        source_ip="",
        method="POST",
    )
    assert stored.fields["Name"] == "Zoë 👋 名前"
    assert json.dumps(stored.model_dump(), ensure_ascii=False).encode("utf-8")
    assert stored.fields == {"mobile": "2125551212", "Name": "Zoë 👋 名前", "bad?": "x?"}


@pytest.mark.parametrize(
    ("kind", "query", "field"),
    [
        ("crm", "shortcode=84700", "mobile"),
        ("poll", "mobile=&key=FB1", "mobile"),
        ("mo", "mobile=%20%20&smsid=1", "mobile"),
        ("text4info", "MOBILE2=1", "mobile"),
        ("dlr", "mtcode=4&mobile=2125551212", "sumoid"),
        ("dlr", "sumoid=", "sumoid"),
    ],
)
def test_a_missing_mobile_or_sumoid_is_400(kind: str, query: str, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        hit(kind, query)
    assert raised.value.status == 400 and raised.value.errors == [{"field": field, "message": "is required"}]


def test_sizes_are_capped_with_a_clear_status() -> None:
    assert len(hit("crm", "mobile=2125551212&" + "&".join(f"f{n}={n}" for n in range(199))).fields) == 200
    cases = [
        ("mobile=2125551212&" + "&".join(f"f{n}=1" for n in range(sumotext.MAX_PARAMETERS)), 413),
        ("mobile=2125551212&note=" + "x" * (sumotext.MAX_VALUE_CHARS + 1), 413),
        ("mobile=2125551212&" + "n" * (sumotext.MAX_NAME_CHARS + 1) + "=1", 413),
        ("mobile=" + "1" * (sumotext.MAX_MOBILE_CHARS + 1), 400),
        ("mobile=2125551212&smsid=" + "9" * (sumotext.MAX_ID_CHARS + 1), 400),
        ("mobile=2125551212&key=" + "K" * (sumotext.MAX_ID_CHARS + 1), 400),
    ]
    for query, status in cases:
        with pytest.raises(ApiError) as raised:
            hit("mo", query)
        assert raised.value.status == status, query[:60]
    assert len(hit("crm", "mobile=2125551212&note=" + "x" * sumotext.MAX_VALUE_CHARS).fields["note"]) == 4096


def test_what_is_stored_stays_far_below_the_item_limit_even_with_escapes() -> None:
    control = "\x01" * sumotext.MAX_VALUE_CHARS  # six bytes each as JSON
    pairs = [("mobile", "2125551212")] + [(f"c{n}", control) for n in range(6)]
    with pytest.raises(ApiError) as raised:
        sumotext.build_hit("crm", pairs, now=NOW, source_ip="", method="GET")
    assert raised.value.status == 413


@pytest.mark.parametrize(
    ("kind", "msg", "expected"),
    [
        ("mo", "STOP", True),
        ("mo", "  stop \n", True),
        ("text4info", "StopAll", True),
        ("mo", "unsubscribe", True),
        ("mo", "Cancel", True),
        ("mo", "end", True),
        ("mo", "QUIT", True),
        ("mo", "start", False),
        ("text4info", " UnStop ", False),
        ("mo", "yes", False),
        ("mo", "STOP please", None),
        ("mo", "S T O P", None),
        ("mo", "", None),
        ("poll", "STOP", None),
        ("crm", "STOP", None),
        # Invisible characters and compatibility forms do not hide the word.
        ("mo", "S\u200bTOP", True),
        ("mo", "\ufeffSTOP", True),
        ("mo", "STO\u200dP\u2060", True),
        ("mo", "\uff33\uff34\uff2f\uff30", True),  # fullwidth STOP
        ("mo", "\uff53\uff54\uff41\uff52\uff54", False),  # fullwidth start
        ("mo", "\u00a0STOP\u3000", True),
        ("text4info", "\u24c8\u24c9\u24c4\u24c5", True),  # circled letters fold to STOP
        # Default-ignorable characters that are not format characters (Cf) hide nothing either.
        ("mo", "ST\u034fOP", True),  # combining grapheme joiner
        ("mo", "STOP\ufe0f", True),  # variation selector 16
        ("mo", "\u115fSTOP", True),  # Hangul choseong filler
        ("mo", "STOP\u3164", True),  # Hangul filler
        ("mo", "S\u1160TOP\uffa0", True),  # Hangul jungseong filler, halfwidth filler
        ("mo", "\u00adSTART\u17b4", False),  # soft hyphen, Khmer inherent vowel
        ("mo", "QU\U000e0100IT\U000e0041", True),  # variation selector supplement, tag letter
        ("mo", "E\u180bN\u180eD", True),  # Mongolian free variation selector, vowel separator
        ("mo", "ST\U0001d173OP", True),  # musical beam
        ("mo", "\u2064CANCEL\u206f", True),  # invisible plus, nominal digit shapes
        ("mo", "STO\u0301P", None),  # a visible accent is a different word
    ],
)
def test_stop_and_start_words(kind: str, msg: str, expected: bool | None) -> None:
    query = urlencode({"mobile": "2125551212", "msg": msg, "sumoid": "1"})
    assert sumotext.opt_change(hit(kind, query)) is expected


def test_the_invisible_characters_are_every_default_ignorable_code_point_and_every_format_character() -> None:
    """Checked against an independent source, the regex module's Unicode tables, over every code point."""
    regex = pytest.importorskip("regex")
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    theirs = {ord(found) for found in regex.findall(r"[\p{Default_Ignorable_Code_Point}\p{Cf}]", every)}
    table = {code for low, high in sumotext.DEFAULT_IGNORABLE_RANGES for code in range(low, high + 1)}
    format_characters = {ord(char) for char in every if unicodedata.category(char) == "Cf"}
    assert table | format_characters == theirs
    neighbours = {code + step for code in theirs for step in (-1, 1)} - theirs
    assert all(sumotext.is_invisible(chr(code)) for code in theirs)
    assert not any(sumotext.is_invisible(chr(code)) for code in neighbours if not 0xD800 <= code <= 0xDFFF)


# ---------------------------------------------------------------- the handler, with a fake store


def callback_handler() -> Any:
    folder = str(ROOT / "functions" / "sumotext_callback")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("sumotext_callback").handler


@pytest.fixture
def handler(unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sumotext, "get_secret", lambda secret_id: SECRET)
    return callback_handler()


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    stored: dict[str, Any] = {"hits": {}, "events": [], "opt": []}

    def put_new(hit: CallbackHit, *, expires_at: int) -> bool:
        if hit.id in stored["hits"]:
            return False
        stored["hits"][hit.id] = hit
        return True

    monkeypatch.setattr(callbacks, "put_new", put_new)
    monkeypatch.setattr(callbacks, "exists", lambda identifier: identifier in stored["hits"])
    monkeypatch.setattr(events, "publish", lambda kind, detail: stored["events"].append((kind, detail)))
    monkeypatch.setattr(
        opt_outs,
        "set_opted_out",
        lambda number, out, *, source, changed_by: stored["opt"].append((number, out, source)),
    )
    return stored


def event(
    kind: str, query: str, *, method: str = "GET", body: str | None = None, content_type: str | None = None
) -> dict[str, Any]:
    pairs = parse_qsl(query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return {
        "httpMethod": method,
        "path": f"/v1/sumotext/callbacks/{kind}",
        "pathParameters": {"kind": kind},
        "queryStringParameters": {name: values[-1] for name, values in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "headers": {"Content-Type": content_type} if content_type else {},
        "body": body,
        "requestContext": {"requestId": "r1", "identity": {"sourceIp": "203.0.113.10"}},
    }


def test_a_stored_hit_is_ok_in_plain_text_and_published(handler: Any, store: dict[str, Any]) -> None:
    answer = handler(event("poll", "token=current-token&mobile=2125551212&key=FB1&reply=A"), None)
    assert answer == {"statusCode": 200, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": "OK"}
    [(kind, detail)] = store["events"]
    [stored] = store["hits"].values()
    assert kind == "sumotext.callback" and detail == stored.model_dump()
    assert "received_sk" not in detail and detail["poll_key"] == "poll#FB1"


def test_the_token_is_never_stored_in_any_spelling(handler: Any, store: dict[str, Any]) -> None:
    query = "token=previous-token&mobile=2125551212&Token=current-token&TOKEN=x"
    form = urlencode({"token": "current-token", "Name": "Bill"})
    answer = handler(event("crm", query, method="POST", body=form), None)
    assert answer["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {"mobile": "2125551212", "Name": "Bill"}
    assert "token" not in json.dumps(store["events"]).lower()


@pytest.mark.parametrize(
    "query",
    [
        "mobile=2125551212",
        "token=&mobile=2125551212",
        "token=s3cr3t-guess&mobile=1",
        "token=current-token&token=current-token",
    ],
)
def test_a_missing_or_wrong_token_is_403_and_nothing_is_stored(handler: Any, store: dict[str, Any], query: str) -> None:
    answer = handler(event("mo", query), None)
    assert answer["statusCode"] == 403 and answer["headers"]["Content-Type"] == "application/problem+json"
    assert "current-token" not in answer["body"] and "s3cr3t" not in answer["body"]
    assert store["hits"] == {} and store["events"] == []


def test_the_token_only_counts_in_the_query_string(handler: Any, store: dict[str, Any]) -> None:
    form = urlencode({"token": "current-token", "mobile": "2125551212"})
    assert handler(event("crm", "", method="POST", body=form), None)["statusCode"] == 403
    assert store["hits"] == {}


def test_an_unknown_kind_is_404_after_the_token(handler: Any, store: dict[str, Any]) -> None:
    assert handler(event("vote", "token=current-token&mobile=2125551212"), None)["statusCode"] == 404
    assert handler(event("MO", "token=current-token&mobile=2125551212"), None)["statusCode"] == 404
    assert handler(event("vote", "token=bad&mobile=2125551212"), None)["statusCode"] == 403
    assert store["hits"] == {}


def test_a_form_body_and_the_query_string_are_taken_together(handler: Any, store: dict[str, Any]) -> None:
    body = urlencode([("mobile", "2125551212"), ("smsid", "42"), ("msg", "hello world"), ("tag", "b")])
    answer = handler(
        event(
            "mo",
            "token=current-token&tag=a",
            method="POST",
            body=body,
            content_type="application/x-www-form-urlencoded",
        ),
        None,
    )
    assert answer["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {"tag": ["a", "b"], "mobile": "2125551212", "smsid": "42", "msg": "hello world"}
    assert stored.method == "POST"


def test_a_base64_form_body_is_read(handler: Any, store: dict[str, Any]) -> None:
    raw = urlencode({"mobile": "2125551212", "Name": "Zoë"}).encode()
    request = event("crm", "token=current-token", method="POST", body=base64.b64encode(raw).decode())
    request["isBase64Encoded"] = True
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields["Name"] == "Zoë"


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/xml", "multipart/form-data; boundary=x", "x/y"]
)
def test_a_post_is_never_refused_for_its_content_type(handler: Any, store: dict[str, Any], content_type: str) -> None:
    body = "<sms><mobile>2125551212</mobile><msg>hi</msg></sms>"
    query = "token=current-token&mobile=2125551212"
    answer = handler(event("crm", query, method="POST", body=body, content_type=content_type), None)
    assert answer["statusCode"] == 200, content_type
    [stored] = store["hits"].values()
    assert stored.raw_body == body and stored.raw_body_truncated is False
    assert stored.problem == "the body is not a form or a JSON object that can be read: kept raw"
    assert stored.fields == {"mobile": "2125551212"} and stored.mobile == "+12125551212"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "mobile=2125551212&msg=STOP"),
        ("text/plain; charset=utf-8", "mobile=%2B12125551212&msg=STOP\n"),
        (None, "mobile=2125551212&msg=STOP"),
        ("application/octet-stream", "&mobile=2125551212&&msg=STOP&"),
        ("application/json", '{"mobile": "2125551212", "msg": "STOP"}'),
        ("text/plain", '{"mobile": 2125551212, "msg": "STOP", "smsid": null, "tags": ["a", 1], "x": {"y": true}}'),
        ("application/vnd.sumotext+json", ' {"mobile": "+12125551212", "msg": "STOP"}'),
    ],
)
def test_a_body_of_parameters_counts_whatever_its_content_type(
    handler: Any, store: dict[str, Any], content_type: str | None, body: str
) -> None:
    answer = handler(event("mo", "token=current-token", method="POST", body=body, content_type=content_type), None)
    assert answer["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.raw_body is None and stored.problem is None
    assert stored.mobile == "+12125551212" and stored.params["msg"] == "STOP"
    assert store["opt"] == [("+12125551212", True, "sumotext")]


def test_json_members_are_parameters_beside_the_query(handler: Any, store: dict[str, Any]) -> None:
    body = '{"msg": "STOP", "smsid": 7, "tags": ["a", 1], "x": {"y": true}, "none": null, "token": "x"}'
    query = "token=current-token&mobile=2125551212"
    request = event("mo", query, method="POST", body=body, content_type="application/json")
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {
        "mobile": "2125551212",
        "msg": "STOP",
        "smsid": "7",
        "tags": ["a", "1"],
        "x": '{"y": true}',
        "none": "",
    }
    assert store["opt"] == [("+12125551212", True, "sumotext")]


@pytest.mark.parametrize(
    ("kind", "body", "content_type", "raw"),
    [
        ("mo", "STOP", "text/plain", True),
        ("mo", "[1, 2]", "application/json", True),
        ("mo", '{"mobile": ', "application/json", True),
        ("mo", '{"msg": "STOP"}', "application/json", False),
        ("text4info", "msg=STOP", "text/plain", False),
        ("dlr", '{"mtcode": 4}', "application/json", False),
        ("dlr", "<dlr/>", "application/xml", True),
    ],
)
def test_a_hit_with_the_right_token_is_never_refused_for_what_it_lacks(  # noqa: PLR0917 - the parameters
    handler: Any, store: dict[str, Any], kind: str, body: str, content_type: str, raw: bool
) -> None:
    """No mobile (or sumoid) anywhere: kept, flagged, and acted on by nothing (no number to opt out)."""
    request = event(kind, "token=current-token", method="POST", body=body, content_type=content_type)
    assert handler(request, None) == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
        "body": "OK",
    }
    [stored] = store["hits"].values()
    assert stored.id.startswith("cb_") and stored.mobile is None and store["opt"] == []
    assert stored.problem is not None and stored.problem.startswith(("mobile is required", "sumoid is required"))
    assert (stored.raw_body == body) is raw and bool(stored.fields) is not raw
    [(_, published)] = store["events"]
    assert published["problem"] == stored.problem
    assert (
        handler(event(kind, "token=wrong", method="POST", body=body, content_type=content_type), None)["statusCode"]
        == 403
    )


def test_values_too_long_to_be_keys_are_kept_unread_not_refused(handler: Any, store: dict[str, Any]) -> None:
    long_mobile = "mobile=" + "1" * (sumotext.MAX_MOBILE_CHARS + 1) + "&msg=STOP"
    assert handler(event("mo", "token=current-token&" + long_mobile), None)["statusCode"] == 200
    [unread] = store["hits"].values()
    assert unread.mobile is None and unread.problem == f"mobile is longer than {sumotext.MAX_MOBILE_CHARS} characters"
    assert store["opt"] == []
    # The number can still be read beside an smsid too long to be a key: its STOP counts.
    long_smsid = "mobile=2125551212&smsid=" + "9" * (sumotext.MAX_ID_CHARS + 1) + "&msg=STOP"
    assert handler(event("mo", "token=current-token&" + long_smsid), None)["statusCode"] == 200
    stored = list(store["hits"].values())[-1]
    assert stored.id.startswith("cb_") and stored.mobile == "+12125551212" and stored.problem is not None
    assert store["opt"] == [("+12125551212", True, "sumotext")]


def test_a_multipart_form_is_read_as_a_form(handler: Any, store: dict[str, Any]) -> None:
    body = (
        '--b\r\nContent-Disposition: form-data; name="mobile"\r\n\r\n2125551212\r\n'
        '--b\r\nContent-Disposition: form-data; name="msg"\r\n\r\nSTOP\r\n--b--\r\n'
    )
    request = event(
        "mo", "token=current-token", method="POST", body=body, content_type="multipart/form-data; boundary=b"
    )
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {"mobile": "2125551212", "msg": "STOP"} and stored.raw_body is None
    assert store["opt"] == [("+12125551212", True, "sumotext")]


def test_a_big_raw_body_is_kept_cut_to_64_kib(handler: Any, store: dict[str, Any]) -> None:
    body = "é" * MAX_BODY_BYTES
    request = event("crm", "token=current-token&mobile=2125551212", method="POST", body=body, content_type="text/plain")
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.raw_body_truncated is True and stored.raw_body == "é" * (MAX_BODY_BYTES // 2)


def test_a_big_form_or_too_many_parameters_is_kept_raw_flagged_and_its_stop_still_counts(
    handler: Any, store: dict[str, Any]
) -> None:
    body = "mobile=2125551212&msg=STOP&note=" + "x" * MAX_BODY_BYTES
    answer = handler(event("mo", "token=current-token", method="POST", body=body), None)
    assert answer["statusCode"] == 200
    many = "msg=STOP&" + "&".join(f"f{n}=1" for n in range(MAX_PARAMETERS + 5))
    answer = handler(event("mo", "token=current-token&mobile=2125551213", method="POST", body=many), None)
    assert answer["statusCode"] == 200
    big, crowded = store["hits"].values()
    assert big.raw_body == body[:MAX_BODY_BYTES] and big.raw_body_truncated is True and big.fields == {}
    assert big.problem == f"the value of 'note' is longer than {sumotext.MAX_VALUE_CHARS} characters"
    assert crowded.raw_body == "mobile=2125551213&" + many and crowded.fields == {}
    assert crowded.problem == f"more than {MAX_PARAMETERS} parameters"
    assert [hit.params for hit in (big, crowded)] == [
        {"mobile": "2125551212", "msg": "STOP"},
        {"mobile": "2125551213", "msg": "STOP"},
    ]
    assert store["opt"] == [("+12125551212", True, "sumotext"), ("+12125551213", True, "sumotext")]
    # Beyond what is worth reading at all: the body is kept raw, unread.
    huge = "&".join(f"f{n}=1" for n in range(20 * MAX_PARAMETERS + 1))
    answer = handler(event("crm", "token=current-token&mobile=2125551214", method="POST", body=huge), None)
    assert answer["statusCode"] == 200
    unread = list(store["hits"].values())[-1]
    assert unread.raw_body == huge[:MAX_BODY_BYTES] and unread.fields == {"mobile": "2125551214"}
    assert unread.problem == "the body is not a form or a JSON object that can be read: kept raw"


def test_parameters_appended_after_the_token_with_a_second_question_mark_count(
    handler: Any, store: dict[str, Any]
) -> None:
    # The configured URL ends '?token=…'; Sumotext appends '?mobile=…&msg=…' to it.
    request = event("mo", "token=current-token?mobile=2125551212&smsid=5&msg=STOP")
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {"mobile": "2125551212", "smsid": "5", "msg": "STOP"}
    assert store["opt"] == [("+12125551212", True, "sumotext")]
    assert handler(event("mo", "token=wrong?mobile=2125551212&msg=STOP"), None)["statusCode"] == 403


@pytest.mark.parametrize(
    "query",
    [
        "token=current-token??mobile=2125551212&smsid=5&msg=STOP",
        "token=current-token&?mobile=2125551212&smsid=5&msg=STOP",
        "token=current-token?mobile=2125551212?smsid=5?msg=STOP",
        "token=current-token?mobile=2125551212&smsid=5?msg=STOP",
        "?token=current-token&mobile=2125551212?smsid=5&?msg=STOP",
    ],
)
def test_parameters_behind_stray_question_marks_keep_their_names(
    handler: Any, store: dict[str, Any], query: str
) -> None:
    assert handler(event("mo", query), None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields == {"mobile": "2125551212", "smsid": "5", "msg": "STOP"}
    assert store["opt"] == [("+12125551212", True, "sumotext")]


def test_a_question_mark_inside_a_text_stays_in_it(handler: Any, store: dict[str, Any]) -> None:
    query = urlencode({"token": "current-token", "mobile": "2125551212", "msg": "why?x=1 and?msgs=2"})
    assert handler(event("mo", query), None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields["msg"] == "why?x=1 and?msgs=2"


def test_an_unencoded_plus_in_the_mobile_is_still_e164(handler: Any, store: dict[str, Any]) -> None:
    # '?mobile=+447911123456' unencoded: the gateway decodes the '+' to a space.
    handler(event("mo", "token=current-token&mobile=+447911123456&smsid=8&msg=STOP&country=USA"), None)
    assert store["opt"] == [("+447911123456", True, "sumotext")]


def test_odd_input_never_ends_in_a_5xx(handler: Any, store: dict[str, Any]) -> None:
    odd = [
        ("crm", "token=current-token&mobile=%F0%9F%91%8B&name=%FF%FE"),
        ("crm", "token=current-token&mobile=2125551212&=nameless&&&=&x"),
        ("mo", "token=current-token&mobile=2125551212&smsid=%00&msg=%00STOP"),
        ("poll", "token=current-token&mobile=2125551212&key=%20%20&reply=A"),
        ("poll", "token=current-token&mobile=2125551212&key=%C3%9F"),
        ("dlr", "token=current-token&sumoid=%E2%80%AE&mtcode="),
        ("text4info", "token=current-token&mobile=" + "9" * 64 + "&msg=STOP"),
        ("mo", "token=current-token&mobile=2125551212&" + "&".join(f"p{n}=%E2%9C%93" for n in range(200))),
        ("crm", "token=current-token&mobile=2125551212&x=" + "é" * 5000),
    ]
    for kind, query in odd:
        answer = handler(event(kind, query), None)
        assert answer["statusCode"] in (200, 400, 413), (query[:80], answer)
    assert [hit.params for hit in store["hits"].values() if hit.kind == "dlr"] == [{"sumoid": "\u202e"}]
    assert [hit.poll_key for hit in store["hits"].values() if hit.kind == "poll"] == [None, "poll#SS"]


def test_stop_and_start_go_to_the_list_but_not_for_an_unreadable_number(handler: Any, store: dict[str, Any]) -> None:
    handler(event("mo", "token=current-token&mobile=2125551212&smsid=1&msg=%20Stop%20"), None)
    handler(event("text4info", "token=current-token&mobile=2125551212&msg=start"), None)
    handler(event("mo", "token=current-token&mobile=abc&smsid=2&msg=STOP"), None)
    handler(event("poll", "token=current-token&mobile=2125551212&key=K&reply=STOP&msg=STOP"), None)
    assert store["opt"] == [("+12125551212", True, "sumotext"), ("+12125551212", False, "sumotext")]
    assert len(store["hits"]) == 4


def test_a_repeated_mo_is_ok_stored_once_and_does_not_replay_its_stop(handler: Any, store: dict[str, Any]) -> None:
    stop = event("mo", "token=current-token&mobile=2125551212&smsid=9&msg=STOP")
    assert handler(stop, None)["body"] == "OK"
    handler(event("mo", "token=current-token&mobile=2125551212&smsid=10&msg=START"), None)
    assert handler(stop, None)["body"] == "OK"
    assert [out for _, out, _ in store["opt"]] == [True, False]
    assert len(store["events"]) == 2 and len(store["hits"]) == 2


def test_a_stop_that_reuses_the_smsid_of_an_earlier_message_is_stored_and_stops(
    handler: Any, store: dict[str, Any]
) -> None:
    hello = event("mo", "token=current-token&mobile=2125551212&smsid=f1&msg=hello")
    stop = event("mo", "token=current-token&mobile=2125551212&smsid=f1&msg=STOP")
    for request in (hello, stop, hello, stop):  # each a true retry the second time
        assert handler(request, None)["body"] == "OK"
    assert sorted(hit.params["msg"] for hit in store["hits"].values()) == ["STOP", "hello"]
    assert store["opt"] == [("+12125551212", True, "sumotext")] and len(store["events"]) == 2


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<sms token='current-token'>STOP</sms>", "application/xml"),
        ("previous-token", "text/plain"),
        ('["current-token", "x"]', "application/json"),
        ("garbage current-token%20previous-token current-token", "text/plain"),
    ],
)
def test_the_callback_tokens_never_reach_a_stored_raw_body(
    handler: Any, store: dict[str, Any], body: str, content_type: str
) -> None:
    request = event("crm", "token=current-token&mobile=2125551212", method="POST", body=body, content_type=content_type)
    assert handler(request, None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.raw_body is not None and sumotext.TOKEN_REDACTED in stored.raw_body
    for secret in ("current-token", "previous-token"):
        assert secret not in stored.model_dump_json() and secret not in json.dumps(store["events"])


def test_the_tokens_are_scrubbed_in_every_spelling_a_sender_may_echo() -> None:
    tokens = ["tok/en+1 2", "plaintoken"]
    text = 'tok/en+1 2 | tok%2Fen%2B1%202 | tok%2Fen%2B1+2 | "plaintoken" | x=plaintoken&y=1'
    scrubbed = sumotext.scrub_tokens(text, tokens)
    assert scrubbed == '[token] | [token] | [token] | "[token]" | x=[token]&y=1'
    assert sumotext.scrub_tokens("nothing here", []) == "nothing here"
    assert sumotext.scrub_tokens("mobile=2125551212", ["1"]) == "mobile=2125551212"  # too short to be a secret


def test_a_token_echoed_into_a_parameter_is_not_stored_either(handler: Any, store: dict[str, Any]) -> None:
    query = "token=current-token&mobile=2125551212&callback=https://x.example/?token=previous-token"
    assert handler(event("crm", query), None)["statusCode"] == 200
    [stored] = store["hits"].values()
    assert stored.fields["callback"] == "https://x.example/?token=[token]"


def test_a_secret_that_cannot_be_read_is_a_503(unit_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(secret_id: str) -> dict[str, Any]:
        raise SecretUnavailable("secret s5 could not be read")

    monkeypatch.setattr(sumotext, "get_secret", unavailable)
    answer = callback_handler()(event("crm", "token=current-token&mobile=2125551212"), None)
    assert answer["statusCode"] == 503


def test_a_request_event_parses_as_the_gateway_sends_it() -> None:
    request = parse_event(event("crm", "token=t&a=1&a=2"))
    assert query_pairs(request) == [("token", "t"), ("a", "1"), ("a", "2")]
    only_single = {**event("crm", "a=1"), "multiValueQueryStringParameters": None}
    assert query_pairs(parse_event(only_single)) == [("a", "1")]
